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


class NetworkBoxEstimator:
    """An ``AtomIoUNet``-like network (``get_modulation``, ``get_iou_feat``, ``predict_iou``) as a
    :class:`BoxEstimator`. The reference modulation is computed once from the first frame; the
    test-branch features once per frame, under inference mode, then cloned into ordinary tensors
    so that the per-box pooling can be differentiated w.r.t. the boxes."""

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3")) -> None:
        for name in ("get_modulation", "get_iou_feat", "predict_iou"):
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

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        levels = self._levels(features)
        with torch.inference_mode():
            bb = box.reshape(1, 4).to(levels[0].device, levels[0].dtype)
            modulation = self.net.get_modulation(levels, bb)
        self.modulation = list(to_autograd({str(i): m for i, m in enumerate(modulation)}).values())

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[torch.Tensor]:
        with torch.inference_mode():
            iou_feat = self.net.get_iou_feat(self._levels(features))
        return list(to_autograd({str(i): f for i, f in enumerate(iou_feat)}).values())

    def score(self, frame_state: list[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        if self.modulation is None:
            raise RuntimeError("NetworkBoxEstimator.initialize was not called")
        return self.net.predict_iou(self.modulation, frame_state, boxes.reshape(1, -1, 4))[0]


class RegressionBoxEstimator:
    """A ``BoxRegressionNet``-like head (``get_modulation``, ``get_iou_feat``, ``predict``) used
    for direct box regression: ``predict(modulation, iou_feat, init_boxes [1, N, 4])`` gives the
    relative offset ``(dcx / w0, dcy / h0, log(w / w0), log(h / h0))`` and its log-variance; the
    predicted box is the initial box moved by the mean offset (``apply_offset``). Runs under
    inference mode (no gradients needed)."""

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3")) -> None:
        for name in ("get_modulation", "get_iou_feat", "predict"):
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

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        levels = self._levels(features)
        with torch.inference_mode():
            bb = box.reshape(1, 4).to(levels[0].device, levels[0].dtype)
            self.modulation = list(self.net.get_modulation(levels, bb))

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
