"""The inference fast paths compute what the reference paths compute (issue "Real-time on a CPU").

* ``prroi_pool2d_integral`` (prefix tables) equals ``prroi_pool2d_batched``, values and box gradients;
* ``AtomIoUNetInference.score_and_grad`` (folded BatchNorm, windowed convs, written-out backward) equals
  ``AtomIoUNet.predict_iou`` + autograd, in float32 and float64, for boxes inside, across the border of and
  far outside the map, and after the window has to grow;
* ``ebm.refinement.refine`` on the fused ``score_and_grad`` (written-out backward, relative-space chain rule of
  ``ebm.boxes.xywh_grad_to_rel``) equals it on autograd gradients of the same score; ``NetworkBoxEstimator`` fast
  and reference paths give the same refined box;
* the network's parameters and state_dict are untouched.
No timing assertions.
"""
from __future__ import annotations

import pytest
import torch

from ebm.boxes import rel_to_xywh, xywh_grad_to_rel, xywh_to_rel
from ebm.refinement import refine
from ltr.models.bbreg.atom_iou_net import AtomIoUNet, AtomIoUNetInference
from ltr.models.layers.prroi_pool import (
    integral_table,
    prroi_pool2d_batched,
    prroi_pool2d_integral,
)
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator
from pytracking.tracker.atom.box_refinement import RefinementSettings, refine_box

RTOL = 1e-4


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b| (relative to the tensor's scale)."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def _small_net(dtype: torch.dtype) -> AtomIoUNet:
    torch.manual_seed(0)
    net = AtomIoUNet(input_dim=(6, 10), pred_input_dim=(12, 16), pred_inter_dim=(8, 12), hidden_dim=16)
    for module in net.modules():   # non-trivial BatchNorm statistics, so that folding is exercised
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.3, 0.3)
    return net.to(dtype).eval()


def _features(dtype: torch.dtype) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(1, 6, 24, 24, generator=gen, dtype=dtype), torch.randn(1, 10, 12, 12, generator=gen, dtype=dtype)]


def _boxes(dtype: torch.dtype) -> torch.Tensor:
    gen = torch.Generator().manual_seed(2)
    near = torch.tensor([80.0, 70.0, 40.0, 50.0], dtype=dtype) + torch.randn(8, 4, generator=gen, dtype=dtype) * 4
    special = torch.tensor([[-20.0, 150.0, 60.0, 70.0],     # across the border
                            [5.0, 5.0, 180.0, 170.0],       # most of the map
                            [300.0, 300.0, 30.0, 30.0],     # outside the map
                            [90.0, 90.0, 0.5, 0.7]], dtype=dtype)   # tiny
    return torch.cat([near, special])


def _reference(net: AtomIoUNet, feats: list[torch.Tensor], modulation: list[torch.Tensor], boxes: torch.Tensor):
    box = boxes.clone().requires_grad_(True)
    score = net.predict_iou(modulation, net.get_iou_feat(feats), box[None])[0]
    (grad,) = torch.autograd.grad(score.sum(), box)
    return score.detach(), grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_prroi_pool_integral_equals_batched(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    features = torch.rand(2, 5, 14, 17, generator=gen, dtype=dtype)
    corner = torch.rand(2, 6, 2, generator=gen, dtype=dtype) * 150 - 20
    # boxes at least one stride wide: a sub-pixel box's 1 / area amplifies the float32 reference's own rounding
    boxes = torch.cat([corner, corner + 8 + torch.rand(2, 6, 2, generator=gen, dtype=dtype) * 70], dim=-1)
    boxes[0, 0, 2] = boxes[0, 0, 0] - 2.0    # empty box: 0, no NaN
    weights = torch.randn(2, 6, 5, 5, 3, generator=gen, dtype=dtype)
    results = []
    for pool, feats, rois in ((prroi_pool2d_batched, features, boxes), (prroi_pool2d_batched, features.double(), boxes.double()),
                              (None, features, boxes)):
        rois = rois.clone().requires_grad_(True)
        out = pool(feats, rois, (5, 3), 1 / 8) if pool else prroi_pool2d_integral(integral_table(feats), rois, (5, 3), 1 / 8)
        (grad,) = torch.autograd.grad((out * weights.to(out.dtype)).sum(), rois)
        results.append((out.detach(), grad))
    (ref, grad_ref), (ref64, grad_ref64), (fast, grad_fast) = results
    assert fast.shape == ref.shape and fast.dtype == dtype
    assert _rel_err(fast, ref) < RTOL and _rel_err(grad_fast, grad_ref) < RTOL
    assert _rel_err(fast.double(), ref64) < RTOL and _rel_err(grad_fast.double(), grad_ref64) < RTOL
    assert torch.isfinite(fast).all() and float(fast[0, 0].abs().max()) == 0.0


def test_prroi_pool_integral_window_is_exact() -> None:
    features = torch.rand(1, 4, 20, 20, dtype=torch.float64)
    boxes = torch.tensor([[[40.0, 48.0, 90.0, 100.0]]], dtype=torch.float64)   # cells 5..11.25 x 6..12.5
    window = features[:, :, 4:15, 3:14]                                         # rows 4..14, cols 3..13
    ref = prroi_pool2d_batched(features, boxes, 3, 1 / 8)
    fast = prroi_pool2d_integral(integral_table(window), boxes, 3, 1 / 8, origin=(4, 3))
    assert _rel_err(fast, ref) < 1e-10


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inference_head_equals_predict_iou(dtype: torch.dtype) -> None:
    net = _small_net(dtype)
    state_before = {k: v.clone() for k, v in net.state_dict().items()}
    feats = _features(dtype)
    bb_ref = torch.tensor([[80.0, 70.0, 40.0, 50.0]], dtype=dtype)
    modulation = net.get_modulation(feats, bb_ref)
    boxes = _boxes(dtype)
    score_ref, grad_ref = _reference(net, feats, modulation, boxes)
    # ground truth: the reference in float64 (the sub-pixel box's 1 / area amplifies float32 rounding)
    net64 = _small_net(torch.float64)
    feats64 = [f.double() for f in feats]
    score_true, grad_true = _reference(net64, feats64, net64.get_modulation(feats64, bb_ref.double()), boxes.double())

    head = AtomIoUNetInference(net, modulation)
    state = head.prepare(feats)
    # first the boxes near the target (small window), then all (the window grows)
    score_near, grad_near = head.score_and_grad(state, boxes[:8])
    assert state["windows"][0] != (0, 24, 0, 24)
    score, grad = head.score_and_grad(state, boxes)
    score_only, none = head.score_and_grad(state, boxes, need_grad=False)

    assert none is None and score.dtype == dtype and grad.shape == (12, 4)
    assert _rel_err(score_near, score_ref[:8]) < RTOL and _rel_err(grad_near, grad_ref[:8]) < RTOL
    assert _rel_err(score, score_ref) < RTOL and _rel_err(grad, grad_ref) < RTOL
    assert _rel_err(score_only, score) < 1e-12
    for i in range(12):   # every box's gradient on its own scale (the outside box: exactly 0)
        assert float((grad[i] - grad_ref[i]).abs().max()) <= RTOL * max(float(grad_ref[i].abs().max()), 1e-6)
    well_conditioned = slice(0, 11)   # also equal to the float64 truth, except the sub-pixel box in float32
    assert _rel_err(score.double()[well_conditioned], score_true[well_conditioned]) < RTOL
    assert _rel_err(grad.double()[well_conditioned], grad_true[well_conditioned]) < RTOL
    assert float(grad[10].abs().max()) == 0.0
    assert set(net.state_dict()) == set(state_before)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state_before.items())


def test_inference_head_rejects_train_mode() -> None:
    net = _small_net(torch.float32).train()
    with pytest.raises(ValueError, match="eval-mode"):
        AtomIoUNetInference(net, [torch.zeros(1, 12, 1, 1), torch.zeros(1, 16, 1, 1)])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_refine_equals_autograd_refine(dtype: torch.dtype) -> None:
    net = _small_net(dtype)
    feats = _features(dtype)
    modulation = net.get_modulation(feats, torch.tensor([[80.0, 70.0, 40.0, 50.0]], dtype=dtype))
    iou_feat = net.get_iou_feat(feats)
    ref_wh = torch.tensor([40.0, 50.0], dtype=dtype)
    y0 = xywh_to_rel(_boxes(dtype)[:8], ref_wh)
    step = torch.tensor([0.05, 0.05, 0.2, 0.2], dtype=dtype)

    def score_fn(y: torch.Tensor) -> torch.Tensor:
        return net.predict_iou(modulation, iou_feat, rel_to_xywh(y, ref_wh))

    expected = refine(score_fn, y0[None], step, num_iter=6, decay=0.5)
    estimator = NetworkBoxEstimator(net)
    estimator.initialize({"layer2": feats[0], "layer3": feats[1]}, torch.tensor([80.0, 70.0, 40.0, 50.0]), None)
    state = estimator.prepare({"layer2": feats[0], "layer3": feats[1]}, None)
    assert isinstance(state, dict)   # the fast path is active

    def fused(y: torch.Tensor, need_grad: bool):
        score, grad = estimator.score_and_grad(state, rel_to_xywh(y[0], ref_wh), need_grad)
        return score[None], (None if grad is None else xywh_grad_to_rel(y[0], ref_wh, grad)[None])

    result = refine(None, y0[None], step, num_iter=6, decay=0.5, score_and_grad=fused)
    assert torch.equal(result.num_accepted, expected.num_accepted)
    assert int(expected.num_accepted.sum()) > 0
    assert _rel_err(result.y, expected.y) < RTOL
    assert _rel_err(result.score, expected.score) < RTOL


def test_estimator_fast_and_reference_paths_agree() -> None:
    net = _small_net(torch.float32)
    feats = dict(zip(("layer2", "layer3"), _features(torch.float32)))
    box = torch.tensor([80.0, 70.0, 40.0, 50.0])
    settings = RefinementSettings(step_length=(0.05, 0.05, 0.2, 0.2), num_iter=5)
    results = []
    for fast in (True, False):
        estimator = NetworkBoxEstimator(net, fast=fast)
        estimator.initialize(feats, box, None)
        state = estimator.prepare(feats, None)
        assert isinstance(state, dict) == fast
        boxes = _boxes(torch.float32)[:4].requires_grad_(True)
        score = estimator.score(state, boxes)       # protocol path, differentiable either way
        (grad,) = torch.autograd.grad(score.sum(), boxes)
        # fast: the estimator's own fused estimate; reference: the autograd path every BoxEstimator gets
        refined = (estimator.estimate if fast else lambda *a: refine_box(estimator, *a))(
            state, box, settings, torch.Generator().manual_seed(3))
        results.append((score.detach(), grad, refined))
    (s_fast, g_fast, r_fast), (s_ref, g_ref, r_ref) = results
    assert _rel_err(s_fast, s_ref) < RTOL and _rel_err(g_fast, g_ref) < RTOL
    assert torch.equal(r_fast.num_accepted, r_ref.num_accepted)
    assert _rel_err(r_fast.box, r_ref.box) < RTOL


def test_extractor_channels_last_gives_identical_features() -> None:
    from pytracking.features.extractor import BackboneFeatureExtractor

    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU6(),
                               torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.Conv2d(8, 6, 1)).eval()

    def backbone(im: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"layer2": body(im)}

    patches = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8).numpy()
    plain = BackboneFeatureExtractor(backbone, ["layer2"], "cpu", channels_last=False).extract(patches)["layer2"]
    fast = BackboneFeatureExtractor(backbone, ["layer2"], "cpu").extract(patches)["layer2"]
    assert fast.shape == plain.shape == (2, 6, 16, 16)
    assert torch.allclose(fast, plain, rtol=1e-5, atol=1e-6)


def test_fold_batchnorm_copy_equals_original_and_leaves_it_alone() -> None:
    from ltr.models.backbone.efficientnet_lite import efficientnet_lite0
    from pytracking.features.fusion import fold_batchnorm, folded_backbone

    torch.manual_seed(0)
    backbone = efficientnet_lite0(pretrained=False).eval()
    for module in backbone.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    fused, count = fold_batchnorm(backbone)
    assert count == sum(isinstance(m, torch.nn.BatchNorm2d) for m in backbone.modules()) > 0
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    im = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref, out = backbone(im), fused(im)
    for name in ref:
        assert _rel_err(out[name], ref[name]) < RTOL
    assert backbone.state_dict().keys() == before.keys()
    assert all(torch.equal(backbone.state_dict()[k], v) for k, v in before.items())
    assert folded_backbone(backbone) is not backbone

    class Odd(torch.nn.Module):   # bn applied before conv: folding would be wrong -> the original is kept
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 1)
            self.bn = torch.nn.BatchNorm2d(3).eval()
            self.bn.running_mean.fill_(0.5)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"layer2": self.conv(self.bn(x))}

    odd = Odd()
    assert folded_backbone(odd) is odd


def test_inference_head_non_finite_boxes_give_non_finite_scores() -> None:
    net = _small_net(torch.float32)
    feats = _features(torch.float32)
    modulation = net.get_modulation(feats, torch.tensor([[80.0, 70.0, 40.0, 50.0]]))
    head = AtomIoUNetInference(net, modulation)
    state = head.prepare(feats)
    boxes = torch.tensor([[80.0, 70.0, 40.0, 50.0], [80.0, 70.0, float("inf"), 50.0], [float("nan"), 1.0, 2.0, 3.0]])
    score, grad = head.score_and_grad(state, boxes)
    assert torch.isfinite(score[0]) and torch.isfinite(grad[0]).all()
    assert not torch.isfinite(score[1:]).any()
    reference, _ = _reference(net, feats, modulation, boxes[:1])
    assert _rel_err(score[:1], reference) < RTOL
