"""ProductOfExpertsEstimator: several box-scoring heads as one EBM, f = sum_i w_i f_i (pytracking.tracker.atom)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from pytracking.parameter.atom import default as default_params
from pytracking.tracker.atom.atom import ATOM
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator, ProductOfExpertsEstimator
from pytracking.tracker.atom.settings import RefinementSettings
from test_atom_tracker import _small_params, _tiny_net_params, synthetic_sequence


class QuadraticExpert:
    """``f(b) = -k |b - mode|^2`` on xywh patch pixels, with its analytic gradient."""

    def __init__(self, mode: list[float], k: float = 1.0) -> None:
        self.mode = torch.tensor(mode)
        self.k = k
        self.initialized = False

    def initialize(self, features, box, geometry) -> None:
        self.initialized = True

    def prepare(self, features, geometry) -> str:
        return "state"

    def score_and_grad(self, state, boxes, need_grad=True):
        assert state == "state"
        diff = boxes.reshape(-1, 4) - self.mode
        score = -self.k * diff.pow(2).sum(dim=1)
        return score, (-2 * self.k * diff if need_grad else None)


def test_score_and_gradient_are_the_weighted_sums():
    a, b = QuadraticExpert([10, 10, 20, 20]), QuadraticExpert([14, 12, 30, 18], k=2.0)
    poe = ProductOfExpertsEstimator([a, b], weights=[1.0, 0.5])
    boxes = torch.tensor([[11.0, 9.0, 22.0, 19.0], [15.0, 12.0, 28.0, 18.0]])
    states = poe.prepare({}, None)
    score, grad = poe.score_and_grad(states, boxes)
    sa, ga = a.score_and_grad("state", boxes)
    sb, gb = b.score_and_grad("state", boxes)
    assert torch.allclose(score, sa + 0.5 * sb)
    assert torch.allclose(grad, ga + 0.5 * gb)
    only_score, no_grad = poe.score_and_grad(states, boxes, need_grad=False)
    assert no_grad is None and torch.allclose(only_score, score)


def test_refinement_finds_the_product_mode_between_the_experts():
    """Two equal quadratics: the product's mode is their midpoint; gradient ascent on the summed score goes there,
    where each expert alone would go to its own mode."""
    a, b = QuadraticExpert([40, 40, 20, 20]), QuadraticExpert([44, 40, 20, 26])
    poe = ProductOfExpertsEstimator([a, b])
    poe.initialize({}, torch.tensor([40.0, 40, 20, 20]), None)
    assert a.initialized and b.initialized
    settings = RefinementSettings(num_boxes=1, num_iter=200, step_length=(2e-4, 2e-4, 1e-3, 1e-3))
    start = torch.tensor([38.0, 37.0, 18.0, 24.0])
    refined = poe.estimate(poe.prepare({}, None), start, settings)
    midpoint = torch.tensor([42.0, 40.0, 20.0, 23.0])
    assert torch.allclose(refined.box, midpoint, atol=0.3), refined.box
    # the refined box scores higher under the product than the start box
    assert float(refined.score) > float(refined.start_score)


def test_bad_construction_is_refused():
    with pytest.raises(ValueError, match="at least one expert"):
        ProductOfExpertsEstimator([])
    with pytest.raises(ValueError, match="2 experts but 1 weights"):
        ProductOfExpertsEstimator([QuadraticExpert([0, 0, 1, 1]), QuadraticExpert([0, 0, 1, 1])], weights=[1.0])
    with pytest.raises(ValueError, match="score_and_grad"):
        ProductOfExpertsEstimator([object()])


def test_network_experts_in_the_tracker():
    """Two small IoU-Net-style heads: the product's score is the sum of each head's, and the tracker runs with it."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    heads = [AtomIoUNet(input_dim=(24, 24), pred_input_dim=(16, 16), pred_inter_dim=(8, 8), hidden_dim=16).eval()
             for _ in range(2)]
    experts = [NetworkBoxEstimator(h) for h in heads]
    poe = ProductOfExpertsEstimator(experts)
    features = {"layer2": torch.randn(1, 24, 16, 16), "layer3": torch.randn(1, 24, 8, 8)}
    poe.initialize(features, torch.tensor([20.0, 24.0, 30.0, 22.0]), None)
    states = poe.prepare(features, None)
    boxes = torch.tensor([[18.0, 20.0, 32.0, 24.0], [25.0, 26.0, 20.0, 20.0]])
    score, grad = poe.score_and_grad(states, boxes)
    parts = [e.score_and_grad(s, boxes) for e, s in zip(experts, states)]
    assert torch.allclose(score, parts[0][0] + parts[1][0], atol=1e-5)
    assert torch.allclose(grad, parts[0][1] + parts[1][1], atol=1e-5)

    frames, truth = synthetic_sequence(num_frames=5)
    tracker = ATOM(_small_params(default_params, box_estimator=ProductOfExpertsEstimator(
        [NetworkBoxEstimator(h) for h in heads])))
    tracker.initialize(frames[0], {"init_bbox": truth[0].tolist()})
    outs = [tracker.track(frame) for frame in frames[1:]]
    assert all(np.all(np.isfinite(o["target_bbox"])) for o in outs)


def _tiny_checkpoint(path, name: str = "atom_tiny", seed: int = 1):
    from ltr.admin.checkpoint import save_checkpoint
    from ltr.models.registry import build
    torch.manual_seed(seed)
    return save_checkpoint(path, build(name), None, None, epoch=1)


def test_expert_paths_make_the_tracker_refine_on_the_product(tmp_path):
    path = _tiny_checkpoint(tmp_path / "expert.pth")
    tracker = ATOM(_tiny_net_params(expert_paths=(str(path),), expert_weights=(1.0, 0.5)))
    assert isinstance(tracker.estimator, ProductOfExpertsEstimator)
    assert len(tracker.estimator.experts) == 2 and tracker.estimator.weights == [1.0, 0.5]
    # the second expert is the checkpoint's head, not the tracker's own
    own, other = (e.net for e in tracker.estimator.experts)
    assert own is tracker.net.bb_regressor and other is not own
    frames, truth = synthetic_sequence(num_frames=4)
    tracker.initialize(frames[0], {"init_bbox": truth[0].tolist()})
    for frame in frames[1:]:
        box = np.asarray(tracker.track(frame)["target_bbox"])
        assert np.all(np.isfinite(box)) and np.all(box[2:] > 0)


def test_expert_paths_errors_name_the_parameter(tmp_path):
    path = _tiny_checkpoint(tmp_path / "expert.pth")
    with pytest.raises(ValueError, match="expert_paths.*expected a tuple, got the single value"):
        ATOM(_tiny_net_params(expert_paths=str(path)))
    with pytest.raises(FileNotFoundError, match="expert_paths: no checkpoint .*absent.pth"):
        ATOM(_tiny_net_params(expert_paths=(str(tmp_path / "absent.pth"),)))
    with pytest.raises(ValueError, match="expert_weights has 3 values for 2 heads"):
        ATOM(_tiny_net_params(expert_paths=(str(path),), expert_weights=(1.0, 1.0, 1.0)))
    regression = _tiny_checkpoint(tmp_path / "regression.pth", name="regression_tiny")
    with pytest.raises(ValueError, match="no box-scoring head"):
        ATOM(_tiny_net_params(expert_paths=(str(regression),)))
