"""The refinement gate: a refined box is kept only when its score and the classifier agree with it.

Unit tests of ``gate_reason`` (each check rejects on its own, and accepts just inside its limit), then the
tracker with a deliberately broken estimator whose gradient pushes every box away from the target: with the
gate the tracker follows the target as the classifier alone does; without it (the negative control) it is lost.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebm.boxes import box_iou
from pytracking.parameter.atom import default as default_params
from pytracking.tracker.atom import get_tracker_class
from pytracking.tracker.atom.refinement_gate import GateSettings, deadbanded, gate_reason
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH, RefinementSettings
from test_atom_tracker import OracleEstimator, _small_params, synthetic_sequence

START = np.array([100.0, 80.0, 40.0, 30.0])   # centre (120, 95), sqrt(w h) = 34.64
GATE = GateSettings(enabled=True, min_score_gain=0.0, max_centre_shift=0.5, max_scale_step=1.25,
                    max_aspect_step=1.25)


def _moved(dx=0.0, dy=0.0, sw=1.0, sh=1.0) -> np.ndarray:
    cx, cy = 120.0 + dx, 95.0 + dy
    w, h = 40.0 * sw, 30.0 * sh
    return np.array([cx - w / 2, cy - h / 2, w, h])


def test_a_good_refinement_passes():
    assert gate_reason(START, _moved(3, -2, 1.1, 1.05), 1.0, 2.5, GATE) is None


def test_a_lower_score_is_rejected():
    assert gate_reason(START, _moved(1, 1), 2.0, 1.9, GATE) == "score"
    assert gate_reason(START, _moved(1, 1), 2.0, float("nan"), GATE) == "score"
    assert gate_reason(START, _moved(1, 1), 2.0, 2.0, GATE) is None              # not lower: kept
    assert gate_reason(START, _moved(1, 1), 2.0, 2.05, GateSettings(enabled=True, min_score_gain=0.1)) == "score"


def test_a_centre_leaving_the_peak_region_is_rejected():
    side = math.sqrt(40 * 30)
    assert gate_reason(START, _moved(0.49 * side, 0), 0.0, 1.0, GATE) is None
    assert gate_reason(START, _moved(0.36 * side, 0.36 * side), 0.0, 1.0, GATE) == "centre"   # 0.51 side
    assert gate_reason(START, _moved(0, -0.6 * side), 0.0, 1.0, GATE) == "centre"


def test_a_scale_jump_is_rejected_either_way():
    assert gate_reason(START, _moved(sw=1.24, sh=1.24), 0.0, 1.0, GATE) is None
    assert gate_reason(START, _moved(sw=1.3, sh=1.3), 0.0, 1.0, GATE) == "scale"
    assert gate_reason(START, _moved(sw=1 / 1.3, sh=1 / 1.3), 0.0, 1.0, GATE) == "scale"


def test_an_aspect_jump_is_rejected():
    assert gate_reason(START, _moved(sw=1.2, sh=1 / 1.2), 0.0, 1.0, GATE) == "aspect"   # aspect x 1.44
    assert gate_reason(START, _moved(sw=1.1, sh=1 / 1.1), 0.0, 1.0, GATE) is None      # aspect x 1.21


def test_invalid_boxes_and_a_disabled_gate():
    assert gate_reason(START, np.array([0.0, 0.0, -1.0, 5.0]), None, None, GATE) == "invalid"
    assert gate_reason(START, _moved(500, 0, 3, 0.2), 5.0, 1.0, GateSettings(enabled=False)) is None
    assert gate_reason(START, _moved(1, 0), None, None, GATE) is None               # no scores: geometry only


def test_bad_gate_settings_are_refused():
    with pytest.raises(ValueError, match="max_scale_step"):
        GateSettings(enabled=True, max_scale_step=0.9)


def test_deadbands_keep_small_corrections_out():
    centre, size = np.array([120.0, 95.0]), np.array([40.0, 30.0])      # sqrt(w h) = 34.64
    bands = RefinementSettings(size_deadband=0.1, centre_deadband=0.2)
    # 5 % wider, 2 px off: both inside their bands, the classifier-alone box is kept exactly
    c, s = deadbanded(centre, size, centre + [2.0, 0.0], size * [1.05, 1.0], bands)
    np.testing.assert_array_equal(c, centre)
    np.testing.assert_array_equal(s, size)
    # 12 % taller (log 0.113 > 0.1): the refined size; 8 px off (> 0.2 x 34.64 = 6.9 px): the refined centre
    c, s = deadbanded(centre, size, centre + [0.0, 8.0], size * [1.0, 1.12], bands)
    np.testing.assert_allclose(c, centre + [0.0, 8.0])
    np.testing.assert_allclose(s, size * [1.0, 1.12])
    # shrinking counts as much as growing (|log|), and each band acts alone
    c, s = deadbanded(centre, size, centre + [1.0, 1.0], size * [0.85, 1.0], bands)
    np.testing.assert_array_equal(c, centre)
    np.testing.assert_allclose(s, size * [0.85, 1.0])
    # off (the default): every refinement is taken as it is
    c, s = deadbanded(centre, size, centre + [0.1, 0.0], size * 1.001, RefinementSettings())
    np.testing.assert_allclose(c, centre + [0.1, 0.0])
    np.testing.assert_allclose(s, size * 1.001)


def test_negative_deadbands_are_refused():
    with pytest.raises(ValueError, match="box_refinement_size_deadband"):
        RefinementSettings(size_deadband=-0.1)


class RepellingEstimator(OracleEstimator):
    """Broken on purpose: the score grows with the distance from the true box, so gradient ascent pushes every
    candidate away from the target (and its size away from the true size)."""

    def score(self, true_patch: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return -super().score(true_patch, boxes)


def _track_iou(params, frames, boxes, oracle=None) -> np.ndarray:
    tracker = get_tracker_class()(params)
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    ious = []
    for frame, box in zip(frames[1:], boxes[1:]):
        if oracle is not None:
            oracle.true_box = box
        out = tracker.track(frame)
        ious.append(float(box_iou(torch.tensor(out["target_bbox"]), torch.tensor(box))))
    return np.asarray(ious)


@pytest.fixture(scope="module")
def sequence():
    return synthetic_sequence(num_frames=36)


def test_broken_estimator_behind_the_gate_tracks_like_the_classifier_alone(sequence):
    frames, boxes = sequence
    classifier_only = _track_iou(_small_params(default_params, use_box_refinement=False), frames, boxes)
    # T = 10 (the paper's) and a quarter of the paper's step lengths: at the full steps this broken estimator's refinement
    # happens to leave the track as the classifier alone's (nothing to guard against). The gate's step limits at
    # 1.25 per frame (GATE above): with the looser 2.0 of ``gated`` the small per-frame moves pass the gate and
    # add up (mean IoU 0.20 against 0.53 here): the gate bounds each frame's change, not a slow drift
    quarter_steps = tuple(0.25 * s for s in PAPER_STEP_LENGTH)
    broken = RepellingEstimator()
    gated = _track_iou(_small_params(default_params, box_estimator=broken, box_refinement_step_length=quarter_steps,
                                     box_refinement_iter=10, refinement_gate=True, gate_max_scale_step=1.25, gate_max_aspect_step=1.25),
                       frames, boxes, broken)
    broken = RepellingEstimator()
    ungated = _track_iou(_small_params(default_params, box_estimator=broken, box_refinement_step_length=quarter_steps,
                                       box_refinement_iter=10, refinement_gate=False), frames, boxes, broken)
    assert classifier_only.mean() > 0.5, classifier_only.mean()
    # negative control: without the gate the broken estimator ruins the track
    assert ungated.mean() < classifier_only.mean() - 0.2, (ungated.mean(), classifier_only.mean())
    # with it, every frame is within a few IoU points of the classifier alone's
    assert gated.mean() > classifier_only.mean() - 0.05, (gated.mean(), classifier_only.mean())
    assert np.abs(gated - classifier_only).max() < 0.1


class CountingRepellingEstimator(RepellingEstimator):
    """The broken estimator, counting how often the tracker asks it to refine (``prepare`` is called once per
    refined frame)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def prepare(self, features, geometry):
        self.calls += 1
        return super().prepare(features, geometry)


def test_no_refinement_while_the_classifier_peak_is_below_min_peak(sequence):
    frames, boxes = sequence
    classifier_only = _track_iou(_small_params(default_params, use_box_refinement=False), frames, boxes)
    # min_peak above any classifier peak: the estimator is never run, the track is the classifier's own
    broken = CountingRepellingEstimator()
    never = _track_iou(_small_params(default_params, box_estimator=broken, refinement_gate=True,
                                     gate_min_peak=1e6), frames, boxes, broken)
    assert broken.calls == 0
    np.testing.assert_allclose(never, classifier_only, atol=1e-6)
    # min_peak 0: the gate's other checks alone; the estimator runs on every frame the target is found
    broken = CountingRepellingEstimator()
    _track_iou(_small_params(default_params, box_estimator=broken, refinement_gate=True, gate_min_peak=0.0),
               frames, boxes, broken)
    assert broken.calls > len(frames) // 2


def test_the_size_is_held_while_the_classifier_peak_is_below_size_min_peak(sequence):
    frames, boxes = sequence
    broken = CountingRepellingEstimator()
    tracker = get_tracker_class()(_small_params(default_params, box_estimator=broken, refinement_gate=True,
                                                gate_max_scale_step=100.0, gate_max_aspect_step=100.0,
                                                gate_max_centre_shift=100.0, gate_min_score_gain=-1e9,
                                                gate_size_min_peak=1e6))
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    verdicts = []
    for frame, box in zip(frames[1:], boxes[1:]):
        broken.true_box = box
        out = tracker.track(frame)
        verdicts.append(out["debug"]["refinement_gate"])
        np.testing.assert_allclose(out["target_bbox"][2:], boxes[0][2:])   # the first frame's size, every frame
    assert broken.calls > len(frames) // 2          # the estimator still ran (its centre is taken)
    assert "accepted, size held (low peak)" in verdicts


def _track_boxes(oracle, frames, boxes, **extra) -> np.ndarray:
    """The tracker's boxes ``[T - 1, 4]`` on frames 1.. with ``oracle`` as its estimator (told each frame's truth)
    and the small parameters plus ``extra``."""
    tracker = get_tracker_class()(_small_params(default_params, box_estimator=oracle, **extra))
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    out = []
    for frame, box in zip(frames[1:], boxes[1:]):
        oracle.true_box = box
        out.append(tracker.track(frame)["target_bbox"])
    return np.asarray(out)


def test_size_rate_moves_the_size_part_of_the_way(sequence):
    """``box_refinement_size_rate``: 0 keeps the first frame's size (the refined centre is still taken), 1 is the
    refined size itself (the default; the same boxes as without the key)."""
    frames, boxes = sequence

    def run(**extra):
        return _track_boxes(OracleEstimator(), frames, boxes, **extra)
    frozen, full, default = run(box_refinement_size_rate=0.0), run(box_refinement_size_rate=1.0), run()
    np.testing.assert_allclose(frozen[:, 2:], np.tile(boxes[0][2:], (len(frozen), 1)))
    np.testing.assert_array_equal(full, default)
    assert np.abs(np.log(full[:, 2:] / boxes[0][2:])).max() > 0.05    # the true size changes in this sequence


def test_a_wide_deadband_leaves_the_classifier_alone_track(sequence):
    """Dead-bands wider than any refinement's change: the boxes are the classifier-alone tracker's, frame by frame
    (the estimator still runs); narrow ones keep the oracle's corrections."""
    frames, boxes = sequence
    classifier_only = _track_iou(_small_params(default_params, use_box_refinement=False), frames, boxes)
    oracle = OracleEstimator()
    wide = _track_iou(_small_params(default_params, box_estimator=oracle, box_refinement_size_deadband=100.0,
                                    box_refinement_centre_deadband=100.0), frames, boxes, oracle)
    np.testing.assert_allclose(wide, classifier_only, atol=1e-6)
    oracle = OracleEstimator()
    narrow = _track_iou(_small_params(default_params, box_estimator=oracle, box_refinement_size_deadband=0.01,
                                      box_refinement_centre_deadband=0.01), frames, boxes, oracle)
    assert narrow.mean() > classifier_only.mean() + 0.02, (narrow.mean(), classifier_only.mean())


def test_size_probes_and_sharpness():
    from pytracking.tracker.atom.box_refinement import SHARPNESS_STEP, size_probes, size_sharpness
    box = torch.tensor([10.0, 20.0, 40.0, 10.0])                  # centre (30, 25)
    probes = size_probes(box)
    assert probes.shape == (5, 4)
    np.testing.assert_allclose((probes[:, :2] + probes[:, 2:] / 2).numpy(), np.tile([30.0, 25.0], (5, 1)), atol=1e-5)
    up = math.exp(SHARPNESS_STEP)
    np.testing.assert_allclose(probes[:, 2:].numpy(), [[40, 10], [40 * up, 10], [40 / up, 10], [40, 10 * up],
                                                       [40, 10 / up]], rtol=1e-6)
    # the box beats its best width neighbour by 1 and its best height neighbour by -0.5 (not a maximum along h)
    np.testing.assert_allclose(size_sharpness(torch.tensor([3.0, 2.0, 1.5, 3.5, 0.0])).numpy(), [1.0, -0.5])


def test_sharp_sides_keeps_only_the_flat_side():
    from pytracking.tracker.atom.refinement_gate import sharp_sides
    size, refined = np.array([40.0, 30.0]), np.array([44.0, 27.0])
    np.testing.assert_array_equal(sharp_sides(size, refined, np.array([0.2, 3.0]), 1.0), [40.0, 27.0])
    np.testing.assert_array_equal(sharp_sides(size, refined, np.array([5.0, -1.0]), 1.0), [44.0, 30.0])
    np.testing.assert_array_equal(sharp_sides(size, refined, np.array([np.nan, 2.0]), 1.0), [40.0, 27.0])
    np.testing.assert_array_equal(sharp_sides(size, refined, np.array([0.0, 0.0]), 0.0), refined)   # off
    np.testing.assert_array_equal(sharp_sides(size, refined, None, 1.0), refined)        # no sharpness (regression)
    with pytest.raises(ValueError, match="box_refinement_size_min_sharpness"):
        RefinementSettings(size_min_sharpness=-1.0)


class WidthBlindOracle(OracleEstimator):
    """Knows the centre and the height, not the width: its score is flat along log w."""

    def score(self, true_patch: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        c = boxes[:, :2] + boxes[:, 2:] / 2
        tc = true_patch[:2] + true_patch[2:] / 2
        d_centre = ((c - tc) / true_patch[2:]).pow(2).sum(dim=1)
        d_height = (torch.log(boxes[:, 3]) - torch.log(true_patch[3])).pow(2)
        return -(self.centre_weight * d_centre + self.size_weight * d_height)


def test_a_side_with_a_flat_score_is_kept(sequence):
    frames, boxes = sequence

    def widths_heights(**extra):
        return _track_boxes(WidthBlindOracle(), frames, boxes, **extra)[:, 2:]
    blind = widths_heights()
    kept = widths_heights(box_refinement_size_min_sharpness=0.5)
    # without the check the width wanders with the jitter (nothing pins it); with it the first frame's width stays
    assert np.abs(np.log(blind[:, 0] / boxes[0][2])).max() > 0.05
    np.testing.assert_allclose(kept[:, 0], boxes[0][2])
    # the height, which the score knows, is still refined
    assert np.abs(np.log(kept[:, 1] / boxes[0][3])).max() > 0.02


def test_held_size_box_and_evidenced_size():
    from pytracking.tracker.atom.box_refinement import held_size_box
    from pytracking.tracker.atom.refinement_gate import evidenced_size
    held = held_size_box(torch.tensor([10.0, 20.0, 30.0, 40.0]), torch.tensor([0.0, 0.0, 20.0, 10.0]))
    np.testing.assert_allclose(held.numpy(), [[15.0, 35.0, 20.0, 10.0]])    # centre (25, 40), the start's size
    size, refined = np.array([40.0, 20.0]), np.array([48.0, 18.0])
    np.testing.assert_array_equal(evidenced_size(size, refined, 3.0, 1.0, 1.0), refined)      # gain 2 >= 1: taken
    np.testing.assert_array_equal(evidenced_size(size, refined, 3.0, 2.5, 1.0), size)         # gain 0.5: held
    np.testing.assert_array_equal(evidenced_size(size, refined, np.nan, 2.5, 1.0), size)      # no valid score: held
    np.testing.assert_array_equal(evidenced_size(size, refined, 3.0, 2.9, 0.0), refined)      # off
    np.testing.assert_array_equal(evidenced_size(size, refined, None, None, 1.0), refined)    # regression head
    np.testing.assert_array_equal(evidenced_size(size, refined, 3.0, np.nan, 1.0), refined)   # not measured
    with pytest.raises(ValueError, match="box_refinement_size_min_gain"):
        RefinementSettings(size_min_gain=-1.0)


def test_a_size_without_evidence_is_kept_and_a_known_one_followed(sequence):
    frames, boxes = sequence
    # a nearly size-blind score: the refined size wanders with the jitter, and the check keeps the first size
    blind = _track_boxes(OracleEstimator(size_weight=0.5), frames, boxes, box_refinement_size_min_gain=0.0)[:, 2:]
    kept = _track_boxes(OracleEstimator(size_weight=0.5), frames, boxes, box_refinement_size_min_gain=1.0)[:, 2:]
    assert np.abs(np.log(blind / boxes[0][2:])).max() > 0.05
    np.testing.assert_allclose(kept, np.broadcast_to(boxes[0][2:], kept.shape))
    # a score that knows the size: the target's 1.6x growth is still followed (a few percent behind at most)
    followed = _track_boxes(OracleEstimator(), frames, boxes, box_refinement_size_min_gain=0.5)[:, 2:]
    assert followed[-1, 0] > 1.3 * boxes[0][2]
    assert np.abs(np.log(followed[-1] / boxes[-1][2:])).max() < 0.1


def _steady_sequence(num_frames: int = 30):
    """The synthetic target moving on its curve at a constant size (the first frame's size is right throughout)."""
    from pytracking.benchmark_tracker import moving_patch_sequence
    from test_atom_tracker import _texture

    rng = np.random.default_rng(1)
    background = (_texture(rng, 128, 128, 8) * 0.6).astype(np.uint8)
    return moving_patch_sequence(background, _texture(rng, 64, 64, 6), num_frames, (24, 18), (0, 0), (30, 20))


def test_the_home_size_is_taken_when_it_scores_as_well_and_left_when_the_target_grows(sequence):
    """``box_refinement_home_size``: a size-blind score lets the refined size wander on a target of constant size;
    the check scores the first frame's size beside it and takes it back. On a target that grows 1.6x a score that
    knows the size keeps following it."""
    frames, boxes = _steady_sequence()
    blind = dict(box_refinement_size_min_gain=0.0, box_refinement_home_size=False)
    wandering = _track_boxes(OracleEstimator(size_weight=0.5), frames, boxes, **blind)[:, 2:]
    assert np.abs(np.log(wandering / boxes[0][2:])).max() > 0.05
    home = _track_boxes(OracleEstimator(size_weight=0.5), frames, boxes,
                        **{**blind, "box_refinement_home_size": True})[:, 2:]
    np.testing.assert_allclose(home, np.broadcast_to(boxes[0][2:], home.shape))
    frames, boxes = sequence
    followed = _track_boxes(OracleEstimator(), frames, boxes, box_refinement_home_size=True,
                            box_refinement_home_min_gain=1.0)[:, 2:]
    assert followed[-1, 0] > 1.3 * boxes[0][2]
    assert np.abs(np.log(followed[-1] / boxes[-1][2:])).max() < 0.1


def test_the_home_size_verdict_is_in_the_debug_output():
    frames, boxes = _steady_sequence(6)
    oracle = OracleEstimator(size_weight=0.5)
    tracker = get_tracker_class()(_small_params(default_params, box_estimator=oracle, box_refinement_size_min_gain=0.0,
                                                box_refinement_home_size=True))
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    verdicts = []
    for frame, box in zip(frames[1:], boxes[1:]):
        oracle.true_box = box
        verdicts.append(tracker.track(frame)["debug"]["refinement_gate"])
    assert "accepted, home size" in verdicts
    with pytest.raises(ValueError, match="box_refinement_home_min_gain must be >= 0"):
        RefinementSettings(home_min_gain=-1.0)
