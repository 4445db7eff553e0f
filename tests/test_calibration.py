"""First-frame calibration (``pytracking.tracker.atom.calibration``): the estimator's bias measured on the true first
box and taken out of later refinements. Unit tests of the two functions, then the tracker with an estimator that is
consistently wrong (25 % too tall, shifted down): calibrated, its boxes are the true ones again."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ebm.boxes import box_iou
from pytracking.parameter.atom import default as default_params
from pytracking.tracker.atom import get_tracker_class
from pytracking.tracker.atom.calibration import estimator_bias, remove_bias
from pytracking.tracker.atom.settings import RefinementSettings
from test_atom_tracker import OracleEstimator, _small_params, synthetic_sequence

TRUTH = torch.tensor([100.0, 50.0, 40.0, 20.0])     # centre (120, 60)


def test_bias_is_the_mean_relative_offset():
    refined = torch.tensor([[102.0, 50.0, 40.0, 25.0],     # centre (122, 62.5): +0.05 w, +0.125 h; h x 1.25
                            [98.0, 50.0, 40.0, 25.0]])     # centre (118, 62.5): -0.05 w
    bias = estimator_bias(refined, TRUTH)
    np.testing.assert_allclose(bias.numpy(), [0.0, 2.5 / 20.0, 0.0, math.log(1.25)], atol=1e-12)
    with pytest.raises(ValueError, match="no refined"):
        estimator_bias(torch.zeros(0, 4), TRUTH)
    with pytest.raises(ValueError, match="finite"):
        estimator_bias(torch.tensor([[0.0, 0.0, float("nan"), 1.0]]), TRUTH)


def test_removing_the_bias_undoes_it_at_any_scale():
    bias = torch.tensor([0.1, -0.05, math.log(1.2), math.log(0.9)], dtype=torch.float64)
    for scale in (0.5, 1.0, 3.0):
        true = torch.tensor([200.0, 100.0, 40.0 * scale, 20.0 * scale])
        w, h = true[2] * 1.2, true[3] * 0.9
        cx, cy = true[0] + true[2] / 2 + 0.1 * true[2], true[1] + true[3] / 2 - 0.05 * true[3]
        biased = torch.stack([cx - w / 2, cy - h / 2, w, h])
        np.testing.assert_allclose(remove_bias(biased, bias, true[2:]).numpy(), true.numpy(), rtol=1e-6)
    box32 = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert remove_bias(box32, torch.zeros(4, dtype=torch.float64), box32[2:]).dtype == torch.float32
    np.testing.assert_allclose(remove_bias(box32, torch.zeros(4, dtype=torch.float64), box32[2:]).numpy(), box32)


def test_negative_draws_are_refused():
    with pytest.raises(ValueError, match="box_refinement_calibration_draws"):
        RefinementSettings(calibration_draws=-1)


class BiasedOracle(OracleEstimator):
    """Its energy peaks on the true box made 25 % taller and moved down by 10 % of its height: consistently wrong."""

    def prepare(self, features, geometry):
        x, y, w, h = self.true_box
        biased = np.array([x, y + 0.1 * h - 0.125 * h, w, 1.25 * h])
        return torch.as_tensor(geometry.box_to_patch(biased), dtype=torch.float32)


def _track(params, frames, boxes, oracle):
    tracker = get_tracker_class()(params)
    oracle.true_box = boxes[0]
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    ious = []
    for frame, box in zip(frames[1:], boxes[1:]):
        oracle.true_box = box
        ious.append(float(box_iou(torch.tensor(tracker.track(frame)["target_bbox"]), torch.tensor(box))))
    return tracker, np.asarray(ious)


def test_the_tracker_takes_a_consistent_bias_out():
    frames, boxes = synthetic_sequence(num_frames=20)
    oracle = BiasedOracle()
    _, biased = _track(_small_params(default_params, box_estimator=oracle), frames, boxes, oracle)
    oracle = BiasedOracle()
    tracker, calibrated = _track(_small_params(default_params, box_estimator=oracle,
                                               box_refinement_calibration_draws=3), frames, boxes, oracle)
    # the measured bias is the oracle's: log 1.25 in height, +0.1 h in y (the refinement's few steps get close)
    assert tracker.bias is not None
    assert abs(float(tracker.bias[3]) - math.log(1.25)) < 0.05 and abs(float(tracker.bias[1]) - 0.1) < 0.03
    assert abs(float(tracker.bias[2])) < 0.03
    assert biased.mean() < 0.85, biased.mean()                                # the bias costs IoU in every frame
    assert calibrated.mean() > biased.mean() + 0.08, (calibrated.mean(), biased.mean())
    # off (the default): no draws, no bias, the same boxes as before the key existed
    oracle = BiasedOracle()
    tracker, again = _track(_small_params(default_params, box_estimator=oracle), frames, boxes, oracle)
    assert tracker.bias is None
    np.testing.assert_array_equal(again, biased)
