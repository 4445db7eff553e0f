"""Shared implementation of the file-backed datasets: a list of named sequences, each with a box file.

Subclasses fill ``self.sequence_list`` (names) and implement ``_read_annotation(seq_id)`` (boxes and
the dataset's own visibility flags) and ``_frame_path(seq_id, frame_id)``. This class derives

- ``valid = isfinite(box) & w > 0 & h > 0`` (:func:`valid_boxes`) and
- ``visible = valid & flags`` (flags ``None`` -> ``visible = valid``),

reports annotation problems once per file (Python ``warnings`` + ``self.warnings``), flags sequences
with no visible frame, and reads frames with ``image_loader`` (``ImageReadError`` names the file).
The sequence info of the last :data:`INFO_CACHE_SIZE` sequences read is kept (per process), so a training
loader parses each annotation file once, not once per pair. ``get_frames(..., encoded=True)`` returns
:class:`ltr.data.image_loader.EncodedImage` frames (read and checked, decoded later at the size the
crop needs) when the dataset reads with the default ``imread_rgb``; see :meth:`supports_encoded_frames`.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from ltr.admin.local_settings import load_settings
from ltr.data.image_loader import imread_rgb, read_encoded
from ltr.dataset.annotation_io import warn_problem
from ltr.dataset.base_video_dataset import BaseVideoDataset, valid_boxes

ImageLoader = Callable[[str], np.ndarray]

#: sequences whose info :meth:`SequenceFolderDataset.get_sequence_info` keeps (least recently used dropped)
INFO_CACHE_SIZE = 512


def resolve_root(root: str | os.PathLike | None, key: str, setting: str | None = None) -> str:
    """``root`` itself, or the settings' ``[datasets] key`` (``SettingsError`` naming key and file if unset)."""
    if root is not None:
        return os.fspath(root)
    return os.fspath(load_settings().dataset_root(key, setting=setting))


class SequenceFolderDataset(BaseVideoDataset):
    """Base of Lasot, Got10k, TrackingNet, ImageFolder and MSCOCOSeq (see module docstring)."""

    def __init__(self, name: str, root: str, image_loader: ImageLoader = imread_rgb):
        if not os.path.isdir(root):
            raise ValueError(f"root: dataset folder {root!r} of {name} does not exist")
        super().__init__(name, root)
        self.image_loader = image_loader
        self.sequence_list: list[str] = []
        self._reported: set[str] = set()
        self._info_cache: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()

    def supports_encoded_frames(self) -> bool:
        """Whether ``get_frames(..., encoded=True)`` gives :class:`EncodedImage` frames: the default loader."""
        return self.image_loader is imread_rgb

    # ----------------------------------------------------------------- problems
    def report(self, message: str, key: str | None = None) -> None:
        """Warn about a problem once per ``key`` (default: the message) and per message text, and record it
        in ``self.warnings``."""
        key = message if key is None else key
        if key in self._reported or message in self._reported:
            return
        self._reported.update((key, message))
        warn_problem(self.warnings, message)

    def record_warnings(self, messages: Iterable[str]) -> int:
        """As :meth:`BaseVideoDataset.record_warnings`; the texts are also not warned about again here (nor in
        DataLoader workers started later, which copy this dataset)."""
        messages = list(messages)
        self._reported.update(messages)
        return super().record_warnings(messages)

    # ----------------------------------------------------------------- subclass hooks
    def _read_annotation(self, seq_id: int) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        """``(bbox [N, 4], visible_flags [N] bool or None, extra per-frame arrays)``; problems via report()."""
        raise NotImplementedError

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        raise NotImplementedError

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        """Meta data of a sequence: at least ``sequence_name`` and ``object_class_name`` (None if unknown)."""
        return {"sequence_name": self.sequence_list[self._check_seq_id(seq_id)], "object_class_name": None}

    # ----------------------------------------------------------------- interface
    def get_num_sequences(self) -> int:
        return len(self.sequence_list)

    def get_sequence_name(self, seq_id: int) -> str:
        return self.sequence_list[self._check_seq_id(seq_id)]

    def _check_seq_id(self, seq_id: int) -> int:
        if not 0 <= int(seq_id) < len(self.sequence_list):
            raise ValueError(f"seq_id: {seq_id} out of range [0, {len(self.sequence_list)}) for {self.name}")
        return int(seq_id)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox' [N, 4] float32, 'valid' [N] bool, 'visible' [N] bool, ...extras}`` (a new dict each call;
        its tensors are shared with the cache: do not modify them in place)."""
        seq_id = self._check_seq_id(seq_id)
        cached = self._info_cache.get(seq_id)
        if cached is not None:
            self._info_cache.move_to_end(seq_id)
            return dict(cached)
        bbox_np, flags, extra = self._read_annotation(seq_id)
        bbox = torch.as_tensor(np.asarray(bbox_np, dtype=np.float32).reshape(-1, 4))
        valid = valid_boxes(bbox)
        visible = valid.clone()
        if flags is not None:
            visible &= torch.as_tensor(np.asarray(flags, dtype=bool))
        if not bool(visible.any()):
            self.report(f"{self.name}: sequence {self.sequence_list[seq_id]} ({len(bbox)} frames) has no visible "
                        "frame with a valid box; no target can be sampled from it",
                        key=f"empty:{seq_id}")
        info = {"bbox": bbox, "valid": valid, "visible": visible}
        for key, values in extra.items():
            info[key] = torch.as_tensor(values)
        self._info_cache[seq_id] = info
        if len(self._info_cache) > INFO_CACHE_SIZE:
            self._info_cache.popitem(last=False)
        return dict(info)

    def get_frames(self, seq_id: int, frame_ids: list[int], anno: dict[str, torch.Tensor] | None = None,
                   encoded: bool = False) -> tuple[list[Any], dict[str, list], dict]:
        """Frames (RGB uint8; ``encoded``: :class:`EncodedImage` if :meth:`supports_encoded_frames`), per-frame
        annotation lists (each key of ``anno``) and the sequence's meta info."""
        seq_id = self._check_seq_id(seq_id)
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        num_frames = len(anno["bbox"])
        for f in frame_ids:
            if not 0 <= int(f) < num_frames:
                raise ValueError(f"frame_ids: {f} out of range [0, {num_frames}) for sequence "
                                 f"{self.sequence_list[seq_id]} of {self.name}")
        read = read_encoded if encoded and self.supports_encoded_frames() else self.image_loader
        frames = [read(self._frame_path(seq_id, int(f))) for f in frame_ids]
        anno_frames = {key: [value[int(f), ...].clone() for f in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta_info(seq_id)

    def drop_empty_sequences(self) -> int:
        """Read every annotation now (tqdm progress) and remove the sequences with no visible frame.

        Returns the number removed. Optional: by default sequences are read lazily and an empty one is
        only flagged (warned about) when first read.
        """
        keep = []
        for seq_id in tqdm(range(len(self.sequence_list)), desc=f"{self.name}: checking annotations", leave=False):
            if bool(self.get_sequence_info(seq_id)["visible"].any()):
                keep.append(seq_id)
        removed = len(self.sequence_list) - len(keep)
        self._keep_sequences(keep)
        return removed

    def _keep_sequences(self, seq_ids: list[int]) -> None:
        """Restrict the dataset to ``seq_ids`` (subclasses with parallel per-sequence lists extend this)."""
        self.sequence_list = [self.sequence_list[i] for i in seq_ids]
        self._info_cache.clear()
        self._reported = {k for k in self._reported if not k.startswith("empty:")}
