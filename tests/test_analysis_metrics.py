"""Metrics against independent, deliberately different reference implementations."""
import math

import numpy as np
import pytest

from pytracking.analysis import metrics as M
from pytracking.analysis.evaluate import evaluate_run
from pytracking.evaluation.results_io import write_boxes
from pytracking.evaluation.sequence import Sequence


def pixel_counts(a, b, size=100, origin=10):
    """Brute force: rasterise integer boxes on a pixel grid (shifted by ``origin``); (intersection, union)."""
    grid_a = np.zeros((size, size), bool)
    grid_b = np.zeros((size, size), bool)
    ax, ay, aw, ah = (int(v) + o for v, o in zip(a, (origin, origin, 0, 0)))
    bx, by, bw, bh = (int(v) + o for v, o in zip(b, (origin, origin, 0, 0)))
    grid_a[ay:ay + ah, ax:ax + aw] = True
    grid_b[by:by + bh, bx:bx + bw] = True
    return int((grid_a & grid_b).sum()), int((grid_a | grid_b).sum())


def pixel_iou(a, b):
    inter, union = pixel_counts(a, b)
    return inter / union if union else 0.0


def loop_centre_error(p, g):
    # centre written as x + w/2 (the -1/2 of x + (w-1)/2 cancels in the difference)
    return math.hypot((p[0] + p[2] / 2) - (g[0] + g[2] / 2), (p[1] + p[3] / 2) - (g[1] + g[3] / 2))


def loop_norm_error(p, g):
    return math.hypot(((p[0] + p[2] / 2) - (g[0] + g[2] / 2)) / g[2], ((p[1] + p[3] / 2) - (g[1] + g[3] / 2)) / g[3])


def random_int_boxes(rng, n):
    xy = rng.integers(0, 40, size=(n, 2))
    wh = rng.integers(1, 30, size=(n, 2))
    return np.concatenate([xy, wh], axis=1).astype(float)


def test_iou_matches_pixel_grid_on_random_integer_boxes():
    rng = np.random.default_rng(1)
    pred, gt = random_int_boxes(rng, 300), random_int_boxes(rng, 300)
    gt[:100] = pred[:100] + rng.integers(-3, 4, size=(100, 4)) * np.array([1, 1, 0, 0])  # many overlaps
    ours = M.iou_xywh(pred, gt)
    ref = np.array([pixel_iou(p, g) for p, g in zip(pred, gt)])
    assert (ref > 0).sum() > 100
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_iou_hand_made_cases():
    gt = np.array([[0, 0, 10, 10]] * 6, float)
    pred = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [10, 0, 10, 10], [np.nan, 0, 10, 10], [0, 0, 0, 10],
                     [0, 0, 10, 20]], float)
    np.testing.assert_allclose(M.iou_xywh(pred, gt), [1.0, 1 / 3, 0.0, 0.0, 0.0, 0.5])


def test_centre_errors_match_loop_reference_and_invalid_is_inf():
    rng = np.random.default_rng(2)
    pred, gt = random_int_boxes(rng, 50) + rng.random((50, 4)), random_int_boxes(rng, 50)
    np.testing.assert_allclose(M.centre_error(pred, gt), [loop_centre_error(p, g) for p, g in zip(pred, gt)])
    np.testing.assert_allclose(M.normalised_centre_error(pred, gt), [loop_norm_error(p, g) for p, g in zip(pred, gt)])
    bad = np.array([[np.nan, 1, 2, 3], [1, 1, -2, 3]])
    assert np.all(np.isinf(M.centre_error(bad, gt[:2])))
    assert np.all(np.isinf(M.normalised_centre_error(bad, gt[:2])))
    assert M.centre_error(np.array([[0, 0, 10, 10.]]), np.array([[3, 4, 10, 10.]]))[0] == pytest.approx(5.0)


def test_box_centre_convention():
    np.testing.assert_allclose(M.box_centres(np.array([[10, 20, 5, 9.]])), [[12.0, 24.0]])


def test_success_threshold_is_strict_and_curves_have_expected_length():
    curve = M.success_curve(np.array([0.5, 1.0]))
    assert len(curve) == 21 and len(M.NORM_PRECISION_THRESHOLDS) == 51 and len(M.PRECISION_THRESHOLDS) == 51
    assert curve[M.OP50_INDEX] == 0.5 and curve[9] == 1.0 and curve[20] == 0.0
    prec = M.precision_curve(np.array([20.0, 20.5, np.inf]))
    assert prec[20] == pytest.approx(1 / 3) and prec[21] == pytest.approx(2 / 3)


def reference_dataset_scores(preds, gts):
    """Loop reference: per sequence, per threshold, count frames over valid gt; then mean over sequences."""
    succ, prec, nprec = [], [], []
    for pred, gt in zip(preds, gts):
        frames = [(p, g) for p, g in zip(pred, gt) if not np.any(np.isnan(g))]
        counts = [pixel_counts(p, g) if np.all(np.isfinite(p)) and p[2] > 0 and p[3] > 0 else (0, 1)
                  for p, g in frames]
        errs = [loop_centre_error(p, g) if np.all(np.isfinite(p)) else math.inf for p, g in frames]
        nerrs = [loop_norm_error(p, g) if np.all(np.isfinite(p)) else math.inf for p, g in frames]
        # IoU > k/20  <=>  20 * intersection > k * union  (exact integer arithmetic)
        succ.append([sum(20 * i > k * u for i, u in counts) / len(frames) for k in range(21)])
        prec.append(sum(e <= 20 for e in errs) / len(frames))
        nprec.append([sum(e <= k / 100 for e in nerrs) / len(frames) for k in range(51)])
    succ = np.array(succ)
    return {"AUC": 100 * succ.mean(), "P": 100 * np.mean(prec), "NP": 100 * np.mean(nprec),
            "OP50": 100 * succ[:, 10].mean(), "OP75": 100 * succ[:, 15].mean()}


def test_dataset_scores_match_reference_with_nan_ground_truth(tmp_path):
    rng = np.random.default_rng(3)
    preds, gts, seqs = [], [], []
    for s in range(4):
        n = 12 + s
        gt = random_int_boxes(rng, n)
        pred = gt + rng.integers(-6, 7, size=(n, 4))
        pred[:, 2:] = np.maximum(pred[:, 2:], 1)
        pred[0] = gt[0]
        gt[3 + s] = np.nan                       # absent frame: excluded
        pred[3 + s] = [500, 500, 1, 1]           # a wrong box there must not matter
        pred[-1] = np.nan                        # a NaN prediction counts as a miss
        preds.append(pred)
        gts.append(gt)
        seqs.append(Sequence(f"s{s}", [f"f{i}.jpg" for i in range(n)], gt))
        write_boxes(tmp_path / f"s{s}.txt", pred)
    run = evaluate_run(tmp_path, seqs)
    assert not run.missing
    curves = [np.mean([run.curves[s.name].success for s in seqs], axis=0),
              np.mean([run.curves[s.name].precision for s in seqs], axis=0),
              np.mean([run.curves[s.name].norm_precision for s in seqs], axis=0)]
    ours = M.summary_scores(*curves)
    ref = reference_dataset_scores(preds, gts)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key
    assert run.curves["s0"].num_scored == 11


def test_invisible_frames_are_excluded():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = gt.copy()
    pred[2] = [50, 50, 10, 10]
    visible = np.array([True, True, False, True])
    seq = Sequence("v", ["a", "b", "c", "d"], gt, target_visible=visible)
    assert M.sequence_curves(pred, gt, seq.valid_mask()).success[10] == 1.0
    assert M.sequence_curves(pred, gt).success[10] == 0.75
