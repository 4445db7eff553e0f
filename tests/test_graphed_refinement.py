"""The CUDA-graph refinement computes what the eager refinement computes.

On the CPU (every machine): the full-map inference head (static shapes, what the graph captures) equals the
windowed one, and :func:`frame_refinement` -- the captured function -- gives the eager estimator's boxes; the
sync-free top-k selection equals the plain "mean of the best k plausible" rule. On CUDA (the device check,
``scripts/device_check.sh``): the graph replay equals the eager path, frame after frame, and CPU equals CUDA.
"""
from __future__ import annotations

import math

import pytest
import torch

from ebm.boxes import cxcywh_to_xywh, xywh_to_cxcywh
from ltr.models.bbreg.atom_iou_net import AtomIoUNet, AtomIoUNetInference
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator
from pytracking.tracker.atom.box_refinement import (
    RefinementSettings,
    draw_jitter,
    plausible_boxes,
    refinement_constants,
    select_box,
)
from pytracking.tracker.atom.graphed_refinement import GraphedRefinement, frame_refinement

TOL = 1e-4
CUDA = torch.cuda.is_available()


def _net(device: str = "cpu") -> AtomIoUNet:
    torch.manual_seed(0)
    net = AtomIoUNet(input_dim=(6, 10), pred_input_dim=(12, 16), pred_inter_dim=(8, 12), hidden_dim=16)
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return net.eval().to(device)


def _features(seed: int, device: str = "cpu") -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"layer2": torch.randn(1, 6, 24, 24, generator=gen).to(device),
            "layer3": torch.randn(1, 10, 12, 12, generator=gen).to(device)}


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


BOX = torch.tensor([80.0, 70.0, 40.0, 50.0])
SETTINGS = RefinementSettings(step_length=(0.05, 0.05, 0.2, 0.2), num_iter=6)


def test_full_map_head_equals_windowed_head():
    net = _net()
    feats = _features(1)
    modulation = net.get_modulation([feats["layer2"], feats["layer3"]], BOX[None])
    windowed = AtomIoUNetInference(net, modulation)
    full = AtomIoUNetInference(net, modulation, full_map=True)
    gen = torch.Generator().manual_seed(2)
    boxes = torch.cat([BOX + torch.randn(6, 4, generator=gen) * 5,
                       torch.tensor([[-20.0, 150.0, 60.0, 70.0], [5.0, 5.0, 180.0, 170.0]])])
    levels = [feats["layer2"], feats["layer3"]]
    s_w, g_w = windowed.score_and_grad(windowed.prepare(levels), boxes)
    s_f, g_f = full.score_and_grad(full.prepare(levels), boxes)
    assert _rel(s_f, s_w) < TOL and _rel(g_f, g_w) < TOL
    assert g_w.abs().max() > 0


def _estimator(device: str = "cpu", **kwargs) -> NetworkBoxEstimator:
    estimator = NetworkBoxEstimator(_net(device), **kwargs)
    estimator.initialize(_features(1, device), BOX.to(device), None)
    return estimator


def test_captured_function_gives_the_eager_boxes_on_cpu():
    eager = _estimator()
    full = AtomIoUNetInference(eager.net, eager.modulation, full_map=True)
    constants = refinement_constants(SETTINGS, "cpu")
    for seed in range(3):
        feats = _features(10 + seed)
        u = draw_jitter(SETTINGS.num_boxes, torch.Generator().manual_seed(seed))
        expected = eager.estimate(eager.prepare(feats, None), BOX, SETTINGS, torch.Generator().manual_seed(seed))
        got = frame_refinement(full, [feats["layer2"], feats["layer3"]], BOX, u, SETTINGS, constants)
        assert torch.equal(got.num_accepted, expected.num_accepted)
        assert int(expected.num_accepted.sum()) > 0
        assert _rel(got.box, expected.box) < TOL and _rel(got.candidates, expected.candidates) < TOL


def test_frame_refinement_refuses_a_windowed_head():
    eager = _estimator()
    with pytest.raises(ValueError, match="full_map"):
        frame_refinement(eager.head, [torch.zeros(1, 6, 24, 24), torch.zeros(1, 10, 12, 12)], BOX,
                         torch.zeros(9, 4), SETTINGS, refinement_constants(SETTINGS, "cpu"))
    with pytest.raises(ValueError, match="full_map"):
        GraphedRefinement(eager.head, SETTINGS, refinement_constants(SETTINGS, "cpu"))


def _plain_selection(boxes, scores, box, settings):
    """The rule as written in the module docstring, with host control flow."""
    valid = plausible_boxes(boxes, box, settings) & torch.isfinite(scores)
    if not bool(valid.any()):
        return box
    k = min(settings.top_k, int(valid.sum()))
    order = torch.argsort(torch.where(valid, scores, torch.full_like(scores, -math.inf)), descending=True)[:k]
    return cxcywh_to_xywh(xywh_to_cxcywh(boxes[order]).mean(dim=0))


@pytest.mark.parametrize("num_invalid", [0, 1, 8, 9, 10])
def test_sync_free_selection_equals_the_plain_rule(num_invalid):
    gen = torch.Generator().manual_seed(num_invalid)
    boxes = BOX + torch.randn(10, 4, generator=gen) * 3
    scores = torch.randn(10, generator=gen)
    boxes[:num_invalid, 2] = float("nan") if num_invalid % 2 else -1.0   # implausible: NaN or negative width
    expected = _plain_selection(boxes, scores, BOX, RefinementSettings())
    got = select_box(boxes, scores, BOX, RefinementSettings())
    assert torch.equal(got, expected), (got, expected)


@pytest.mark.skipif(not CUDA, reason="needs CUDA (run by scripts/device_check.sh on a GPU machine)")
def test_cuda_graph_replay_equals_eager_and_cpu():
    graphed = _estimator("cuda", cuda_graph=True)
    eager = _estimator("cuda", cuda_graph=False)
    cpu = _estimator("cpu")
    assert graphed.use_graph and not eager.use_graph
    for seed in range(4):     # capture on the first frame, replays after
        feats = _features(20 + seed, "cuda")
        outs = [est.estimate(est.prepare(f, None), BOX.to(dev), SETTINGS, torch.Generator().manual_seed(seed))
                for est, f, dev in ((graphed, feats, "cuda"), (eager, feats, "cuda"),
                                    (cpu, _features(20 + seed), "cpu"))]
        g, e, c = (o.box.cpu() for o in outs)
        assert _rel(g, e) < TOL and _rel(e, c) < TOL, (g, e, c)
    assert graphed.graphed.captures == 1
