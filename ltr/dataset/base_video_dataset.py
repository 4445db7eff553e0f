"""Base class of the training-side datasets: a dataset is a list of sequences of frames.

A still-image dataset (COCO) is a dataset of one-frame sequences (``is_video_sequence() -> False``).
Per sequence, ``get_sequence_info`` returns tensors over its frames:

- ``bbox``   ``[N, 4]`` float ``[x, y, w, h]`` (NaN where the annotation is missing);
- ``valid``  ``[N]`` bool: the box is finite with ``w > 0`` and ``h > 0``;
- ``visible`` ``[N]`` bool: ``valid`` and the dataset's own visibility flags say visible.

Samplers only take frames with ``visible`` true as training targets.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch


class BaseVideoDataset(torch.utils.data.Dataset):
    """Interface every training dataset implements (see module docstring)."""

    def __init__(self, name: str, root: str | None = None):
        self.name = name
        self.root = root
        #: problems met while reading (file and line), counted into the epoch summary; one entry per
        #: distinct text (problems met by copies of the dataset in DataLoader workers are added with
        #: :meth:`record_warnings`)
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return self.get_num_sequences()

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("use get_frames(); samplers drive the datasets")

    def record_warnings(self, messages: Iterable[str]) -> int:
        """Add to ``self.warnings`` the texts it does not hold yet (problems met by a copy of this dataset,
        e.g. in a DataLoader worker); nothing is warned again. Returns how many were added."""
        known = set(self.warnings)
        new = [m for m in dict.fromkeys(messages) if m not in known]
        self.warnings.extend(new)
        return len(new)

    def get_name(self) -> str:
        return self.name

    def is_video_sequence(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        raise NotImplementedError

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def get_frames(self, seq_id: int, frame_ids: list[int],
                   anno: dict[str, torch.Tensor] | None = None) -> tuple[list[np.ndarray], dict[str, list], dict]:
        """Frames (RGB uint8) and their annotations (dict of per-frame lists) and meta data."""
        raise NotImplementedError


def valid_boxes(bbox: torch.Tensor) -> torch.Tensor:
    """``[N]`` bool: finite boxes with positive width and height."""
    return torch.isfinite(bbox).all(dim=-1) & (bbox[..., 2] > 0) & (bbox[..., 3] > 0)
