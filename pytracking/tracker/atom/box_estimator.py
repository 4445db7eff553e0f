"""Box estimators for the refinement step: anything that scores candidate boxes in a patch.

The protocol (the tracker only uses these three calls, so a network can be swapped for an
analytic function in tests):

* ``initialize(features, box, geometry)`` -- once, on the first frame: ``features`` the shared
  backbone maps of the first patch (batch 1), ``box`` the target ``[4]`` xywh in patch pixels,
  ``geometry`` the patch's :class:`~pytracking.features.preprocessing.PatchGeometry`.
* ``prepare(features, geometry) -> frame state`` -- once per frame (test-branch features).
* ``score(frame_state, boxes [N, 4] xywh patch pixels) -> [N]`` -- differentiable in ``boxes``;
  higher is better; compared only within one frame.

A *regression* estimator (:class:`RegressionBoxEstimator`, Gaussian-NLL / L2 heads) has the same
``initialize``/``prepare`` but, instead of ``score``, ``regress(frame_state, boxes [N, 4]) ->
(boxes [N, 4], log_var [N, 4])``: one forward pass maps initial boxes to predicted boxes
(no gradient ascent).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ltr.models.bbreg.atom_iou_net import AtomIoUNet, AtomIoUNetInference
from pytracking.features.extractor import to_autograd
from pytracking.features.preprocessing import PatchGeometry

__all__ = ["BoxEstimator", "NetworkBoxEstimator", "RegressionBoxEstimator", "is_regression_head"]


@runtime_checkable
class BoxEstimator(Protocol):
    """Scores candidate boxes of the current patch (see the module docstring)."""

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None: ...

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> Any: ...

    def score(self, frame_state: Any, boxes: torch.Tensor) -> torch.Tensor: ...


def is_regression_head(bb_regressor: nn.Module) -> bool:
    """True for a direct regression head (``BoxRegressionNet``-like: ``predict`` and a ``regressor``
    layer) rather than a box-scoring one (``AtomIoUNet``: ``predict_iou``)."""
    return callable(getattr(bb_regressor, "predict", None)) and hasattr(bb_regressor, "regressor")


class _FastScore(torch.autograd.Function):
    """Scores of :class:`AtomIoUNetInference` as an autograd node: the gradient w.r.t. the boxes is
    computed in the forward pass (written-out backward, no graph) and applied in ``backward``."""

    @staticmethod
    def forward(ctx, boxes: torch.Tensor, head: AtomIoUNetInference, state: dict) -> torch.Tensor:  # type: ignore[override]
        score, grad = head.score_and_grad(state, boxes, need_grad=ctx.needs_input_grad[0])
        ctx.save_for_backward(grad if grad is not None else torch.zeros_like(boxes))
        return score

    @staticmethod
    def backward(ctx, grad_score: torch.Tensor):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_score[:, None] * grad, None, None


class _HeadOnLayers:
    """What both network estimators share: a head with ``get_modulation``/``get_iou_feat`` and
    ``required`` other methods, fed the batch-1 maps of ``layers`` from the shared backbone pass."""

    required: tuple[str, ...] = ()

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str]) -> None:
        for name in ("get_modulation", "get_iou_feat", *self.required):
            if not callable(getattr(bb_regressor, name, None)):
                raise ValueError(f"bb_regressor must provide {name}(), got {type(bb_regressor).__name__}")
        self.net = bb_regressor
        self.layers = tuple(layers)
        self.modulation: list[torch.Tensor] | None = None

    def _levels(self, features: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        missing = [name for name in self.layers if name not in features]
        if missing:
            raise ValueError(f"features lack estimator layers {missing}")
        return [features[name][:1] for name in self.layers]

    def _modulation(self, features: Mapping[str, torch.Tensor], box: torch.Tensor) -> list[torch.Tensor]:
        levels = self._levels(features)
        with torch.inference_mode():
            bb = box.reshape(1, 4).to(levels[0].device, levels[0].dtype)
            return list(self.net.get_modulation(levels, bb))


class NetworkBoxEstimator(_HeadOnLayers):
    """An ``AtomIoUNet``-like network (``get_modulation``, ``get_iou_feat``, ``predict_iou``) as a
    :class:`BoxEstimator`. The reference modulation is computed once from the first frame.

    Fast path (``fast=True``, an eval-mode :class:`AtomIoUNet` itself, not a subclass): scores and
    their box gradients come from :class:`~ltr.models.bbreg.atom_iou_net.AtomIoUNetInference`
    (folded BatchNorm, windowed test-branch convs, prefix-table PrRoIPool, written-out backward),
    equal to the network's ``predict_iou`` + autograd up to float rounding; ``prepare`` then only
    stores the frame's features. Otherwise the test-branch features are computed once per frame
    under inference mode and cloned into ordinary tensors so that the per-box pooling can be
    differentiated w.r.t. the boxes. ``score_and_grad`` serves both paths."""

    required = ("predict_iou",)

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3"), fast: bool = True) -> None:
        super().__init__(bb_regressor, layers)
        self.fast = bool(fast)
        self.head: AtomIoUNetInference | None = None

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        modulation = self._modulation(features, box)
        self.modulation = list(to_autograd({str(i): m for i, m in enumerate(modulation)}).values())
        self.head = None
        if self.fast and type(self.net) is AtomIoUNet and not self.net.training:
            self.head = AtomIoUNetInference(self.net, self.modulation)

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[torch.Tensor] | dict:
        if self.head is not None:
            return self.head.prepare(self._levels(features))
        with torch.inference_mode():
            iou_feat = self.net.get_iou_feat(self._levels(features))
        return list(to_autograd({str(i): f for i, f in enumerate(iou_feat)}).values())

    def score(self, frame_state: list[torch.Tensor] | dict, boxes: torch.Tensor) -> torch.Tensor:
        if self.modulation is None:
            raise RuntimeError("NetworkBoxEstimator.initialize was not called")
        if isinstance(frame_state, dict):
            if self.head is None:
                raise ValueError("frame_state comes from the fast path but this estimator has none")
            return _FastScore.apply(boxes.reshape(-1, 4), self.head, frame_state)
        return self.net.predict_iou(self.modulation, frame_state, boxes.reshape(1, -1, 4))[0]

    def score_and_grad(self, frame_state: list[torch.Tensor] | dict, boxes: torch.Tensor,
                       need_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores ``[N]`` of boxes ``[N, 4]`` xywh (patch pixels) and ``d score / d box`` ``[N, 4]``
        (None unless ``need_grad``), detached; the network's parameter gradients are not touched."""
        boxes = boxes.reshape(-1, 4)
        if isinstance(frame_state, dict) and self.head is not None:
            with torch.inference_mode():
                return self.head.score_and_grad(frame_state, boxes, need_grad)
        with torch.inference_mode(False), torch.enable_grad():
            var = boxes.detach().clone().requires_grad_(need_grad)
            score = self.score(frame_state, var)
            if not need_grad:
                return score.detach(), None
            (grad,) = torch.autograd.grad(score.sum(), var, allow_unused=True)
        return score.detach(), (torch.zeros_like(boxes) if grad is None else grad.detach())


class RegressionBoxEstimator(_HeadOnLayers):
    """A ``BoxRegressionNet``-like head (``get_modulation``, ``get_iou_feat``, ``predict``) used
    for direct box regression: ``predict(modulation, iou_feat, init_boxes [1, N, 4])`` gives the
    relative offset ``(dcx / w0, dcy / h0, log(w / w0), log(h / h0))`` and its log-variance; the
    predicted box is the initial box moved by the mean offset (``apply_offset``). Runs under
    inference mode (no gradients needed)."""

    required = ("predict",)

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3")) -> None:
        super().__init__(bb_regressor, layers)

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        self.modulation = self._modulation(features, box)

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[torch.Tensor]:
        with torch.inference_mode():
            return list(self.net.get_iou_feat(self._levels(features)))

    def regress(self, frame_state: list[torch.Tensor], boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Initial boxes ``[N, 4]`` xywh (patch pixels) -> (predicted boxes ``[N, 4]`` xywh,
        log-variances ``[N, 4]`` of the relative offset)."""
        if self.modulation is None:
            raise RuntimeError("RegressionBoxEstimator.initialize was not called")
        from ltr.models.bbreg.regression_net import apply_offset
        with torch.inference_mode():
            init = boxes.reshape(1, -1, 4).to(frame_state[0].device, frame_state[0].dtype)
            mean, log_var = self.net.predict(self.modulation, frame_state, init)
            return apply_offset(init, mean)[0].clone(), log_var[0].clone()
