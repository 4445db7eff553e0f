"""The evaluation ``Sequence``: frames, ground truth and visibility of one benchmark video.

Boxes are ``[x, y, w, h]`` floats (top-left origin, pixels). A ground-truth row of NaN means
"no annotation for this frame" (the target is absent, or the benchmark withholds the box, as
TrackingNet and GOT-10k test do after frame 0). ``target_visible`` (when the dataset provides
visibility) is a boolean per frame; ``None`` means every annotated frame counts as visible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Sequence:
    """One evaluation sequence.

    Attributes:
        name: unique name within the dataset (also the results file stem).
        frames: image paths, one per frame, in order.
        ground_truth_rect: ``[N, 4]`` float array of ``x, y, w, h``; NaN rows = no box.
        target_visible: ``[N]`` bool array, or ``None`` when the dataset has no visibility.
        dataset: the dataset's short name (``uav``, ``lasot``, ...).
        object_class: the target's class if the dataset gives one.
        attributes: per-sequence attribute flags (e.g. UAV123's ``SV``, ``ARC``...), or ``None``.
    """

    name: str
    frames: list[str]
    ground_truth_rect: np.ndarray
    target_visible: np.ndarray | None = None
    dataset: str = ""
    object_class: str | None = None
    attributes: dict[str, bool] | None = field(default=None)

    def __post_init__(self) -> None:
        gt = np.asarray(self.ground_truth_rect, dtype=np.float64)
        if gt.ndim != 2 or gt.shape[1] != 4:
            raise ValueError(f"sequence {self.name}: ground_truth_rect must be [N, 4], got shape {gt.shape}")
        if gt.shape[0] != len(self.frames):
            raise ValueError(f"sequence {self.name}: {len(self.frames)} frames but {gt.shape[0]} ground-truth rows")
        if len(self.frames) == 0:
            raise ValueError(f"sequence {self.name}: no frames")
        if not np.all(np.isfinite(gt[0])) or gt[0, 2] <= 0 or gt[0, 3] <= 0:
            raise ValueError(f"sequence {self.name}: the first frame's box must be finite with w, h > 0, got {gt[0]}")
        self.ground_truth_rect = gt
        if self.target_visible is not None:
            vis = np.asarray(self.target_visible).astype(bool).reshape(-1)
            if vis.shape[0] != gt.shape[0]:
                raise ValueError(f"sequence {self.name}: {vis.shape[0]} visibility flags for {gt.shape[0]} frames")
            self.target_visible = vis
        self.frames = [str(f) for f in self.frames]

    def __len__(self) -> int:
        return len(self.frames)

    def init_info(self) -> dict[str, Any]:
        """What a tracker gets at frame 0: ``{'init_bbox': [x, y, w, h]}`` (the first ground-truth box)."""
        return {"init_bbox": self.ground_truth_rect[0].tolist()}

    def valid_mask(self) -> np.ndarray:
        """Frames that are scored: a finite ground-truth box with w, h > 0 and (if known) visible."""
        gt = self.ground_truth_rect
        valid = np.all(np.isfinite(gt), axis=1) & (np.nan_to_num(gt[:, 2]) > 0) & (np.nan_to_num(gt[:, 3]) > 0)
        if self.target_visible is not None:
            valid &= self.target_visible
        return valid

    def has_full_ground_truth(self) -> bool:
        """False where the benchmark withholds the boxes (only frame 0 annotated, e.g. TrackingNet test)."""
        return len(self) == 1 or bool(np.any(np.isfinite(self.ground_truth_rect[1:, 0])))
