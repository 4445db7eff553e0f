"""Box estimators for the refinement step: anything that scores candidate boxes in a patch.

The protocol (the tracker only uses these three calls, so a network can be swapped for an
analytic function in tests):

* ``initialize(features, box, geometry)`` -- once, on the first frame: ``features`` the shared
  backbone maps of the first patch (batch 1), ``box`` the target ``[4]`` xywh in patch pixels,
  ``geometry`` the patch's :class:`~pytracking.features.preprocessing.PatchGeometry`.
* ``prepare(features, geometry) -> frame state`` -- once per frame (test-branch features).
* ``score(frame_state, boxes [N, 4] xywh patch pixels) -> [N]`` -- differentiable in ``boxes``;
  higher is better; compared only within one frame.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import torch
from torch import nn

from pytracking.features.extractor import to_autograd
from pytracking.features.preprocessing import PatchGeometry

__all__ = ["BoxEstimator", "NetworkBoxEstimator"]


@runtime_checkable
class BoxEstimator(Protocol):
    """Scores candidate boxes of the current patch (see the module docstring)."""

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None: ...

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> Any: ...

    def score(self, frame_state: Any, boxes: torch.Tensor) -> torch.Tensor: ...


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
