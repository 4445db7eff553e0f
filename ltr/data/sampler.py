"""Frame-pair sampling for box-estimator training: a ``torch.utils.data.Dataset`` of random pairs.

Item ``i`` of epoch ``e`` on rank ``r`` is drawn with its own generator
``numpy.random.default_rng([seed, e, r, i])``, so the pairs do not depend on worker count or
order: workers and ranks draw different pairs, and a resumed epoch draws exactly the same ones
(call :meth:`PairSampler.set_epoch` before each epoch).

Drawing one pair:

1. a dataset with probability ``p_datasets`` (normalised);
2. a sequence with at least 2 visible frames (1 for still-image datasets);
3. video: a reference frame among the visible ones, then ``num_test_frames`` visible test frames
   with ``|test - reference| <= max_gap`` (other than the reference when possible);
   still image: the same frame as reference and test;
4. the frames are read; an :class:`ltr.data.image_loader.ImageReadError` is warned about (naming the
   file), counted, and another pair is drawn (at most ``max_read_retries`` times). When the processing
   accepts encoded frames (``processing.accepts_encoded_frames``) and the dataset can give them
   (``dataset.supports_encoded_frames()``), the files are read and checked here and decoded by the
   processing at the size its crop needs; a file that then fails to decode is handled the same way;
5. ``processing(data, rng)`` turns the pair into tensors (see :mod:`ltr.data.processing`).

The returned dict also holds, so that the trainer sees what happened in DataLoader workers:

- ``read_errors`` (int tensor): the unreadable frames met for this item, summed by the trainer;
- ``annotation_warnings``: a list of ``(dataset index, text)`` pairs, the problems the datasets added
  to their ``warnings`` while this item was drawn in this process (each text once per process: a
  dataset reports a problem the first time it meets it). The collated batch holds one such list per
  item; :meth:`PairSampler.record_warnings` adds them to the datasets of the main process (each text
  once, so items drawn in the main process itself are not counted twice).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ltr.data.image_loader import ImageReadError

__all__ = ["PairSampler"]

Processing = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]
#: ``(index into PairSampler.datasets, warning text)``
WarningNote = tuple[int, str]


class PairSampler(torch.utils.data.Dataset):
    """Random reference/test frame pairs from several datasets (see module docstring)."""

    def __init__(self, datasets: Sequence[Any], p_datasets: Sequence[float] | None, samples_per_epoch: int,
                 max_gap: int, num_test_frames: int = 1, processing: Processing | None = None, seed: int = 0,
                 rank: int = 0, max_read_retries: int = 10, max_sequence_draws: int = 100):
        if not datasets:
            raise ValueError("datasets must not be empty")
        p = np.ones(len(datasets)) if p_datasets is None else np.asarray(p_datasets, dtype=np.float64)
        if p.shape != (len(datasets),) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError(f"p_datasets must hold {len(datasets)} non-negative weights, not all 0, got {p_datasets}")
        if int(samples_per_epoch) != samples_per_epoch or samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be a positive integer, got {samples_per_epoch}")
        if int(max_gap) != max_gap or max_gap < 1:
            raise ValueError(f"max_gap must be a positive integer, got {max_gap}")
        if int(num_test_frames) != num_test_frames or num_test_frames < 1:
            raise ValueError(f"num_test_frames must be a positive integer, got {num_test_frames}")
        for ds in datasets:
            if ds.get_num_sequences() < 1:
                raise ValueError(f"datasets: {ds.get_name()} has no sequences")
        self.datasets = list(datasets)
        self.p_datasets = p / p.sum()
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.num_test_frames = int(num_test_frames)
        self.processing = processing
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = 0
        self.max_read_retries = int(max_read_retries)
        self.max_sequence_draws = int(max_sequence_draws)
        #: unreadable frames met in this process (workers keep their own; see ``read_errors`` per item)
        self.read_errors = 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose pairs are drawn (part of every item's seed)."""
        self.epoch = int(epoch)

    def item_rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch and rank."""
        return np.random.default_rng([self.seed, self.epoch, self.rank, int(index)])

    # ------------------------------------------------------------------ annotation warnings
    def _warning_marks(self) -> list[int]:
        """How many warnings each dataset holds now (datasets without ``warnings`` count 0)."""
        return [len(getattr(ds, "warnings", ())) for ds in self.datasets]

    def _warnings_since(self, marks: list[int]) -> list[WarningNote]:
        """The ``(dataset index, text)`` pairs the datasets added after :meth:`_warning_marks` gave ``marks``."""
        return [(i, str(text)) for i, (ds, mark) in enumerate(zip(self.datasets, marks))
                for text in getattr(ds, "warnings", [])[mark:]]

    def record_warnings(self, per_item: Iterable[Iterable[WarningNote]]) -> int:
        """Add a batch's ``annotation_warnings`` (one list of ``(dataset index, text)`` per item, as collated)
        to this process's datasets, each text once per dataset. Returns how many were new here."""
        by_dataset: dict[int, list[str]] = {}
        for notes in per_item:
            for index, text in notes:
                by_dataset.setdefault(int(index), []).append(str(text))
        added = 0
        for index, texts in by_dataset.items():
            dataset = self.datasets[index]
            if hasattr(dataset, "record_warnings"):
                added += int(dataset.record_warnings(texts))
        return added

    # ------------------------------------------------------------------ drawing
    def _draw_sequence(self, dataset: Any, rng: np.random.Generator) -> tuple[int, dict[str, torch.Tensor]]:
        min_visible = 2 if dataset.is_video_sequence() else 1
        for _ in range(self.max_sequence_draws):
            seq_id = int(rng.integers(0, dataset.get_num_sequences()))
            info = dataset.get_sequence_info(seq_id)
            if int(torch.as_tensor(info["visible"]).sum()) >= min_visible:
                return seq_id, info
        raise ValueError(f"{dataset.get_name()}: found no sequence with >= {min_visible} visible frames in "
                         f"{self.max_sequence_draws} draws; check the dataset's annotations")

    def _draw_frames(self, visible: np.ndarray, is_video: bool, rng: np.random.Generator) -> list[int]:
        """``[reference, test_1, ..., test_n]`` frame ids, all visible."""
        ids = np.flatnonzero(visible)
        reference = int(rng.choice(ids))
        if not is_video:
            return [reference] * (1 + self.num_test_frames)
        near = ids[(np.abs(ids - reference) <= self.max_gap) & (ids != reference)]
        if near.size == 0:
            near = np.array([reference])
        tests = rng.choice(near, size=self.num_test_frames, replace=near.size < self.num_test_frames)
        return [reference] + [int(t) for t in tests]

    def _encoded(self, dataset: Any) -> bool:
        """Whether frames of ``dataset`` go to the processing undecoded (see module docstring, step 4)."""
        return bool(getattr(self.processing, "accepts_encoded_frames", False)
                    and getattr(dataset, "supports_encoded_frames", lambda: False)())

    def _read_error(self, dataset: Any, seq_id: int, err: ImageReadError) -> None:
        self.read_errors += 1
        warnings.warn(f"skipping pair from {dataset.get_name()} sequence {seq_id}: {err}", stacklevel=3)

    def draw_pair(self, rng: np.random.Generator) -> tuple[dict[str, Any], int]:
        """One raw pair (frames and image-coordinate boxes) and the number of read errors met."""
        errors = 0
        for _ in range(self.max_read_retries + 1):
            ds_index = int(rng.choice(len(self.datasets), p=self.p_datasets))
            dataset = self.datasets[ds_index]
            seq_id, info = self._draw_sequence(dataset, rng)
            visible = torch.as_tensor(info["visible"]).bool().numpy()
            frame_ids = self._draw_frames(visible, dataset.is_video_sequence(), rng)
            try:
                if self._encoded(dataset):
                    frames, _, _ = dataset.get_frames(seq_id, frame_ids, info, encoded=True)
                else:
                    frames, _, _ = dataset.get_frames(seq_id, frame_ids, info)
            except ImageReadError as err:
                errors += 1
                self._read_error(dataset, seq_id, err)
                continue
            boxes = torch.as_tensor(info["bbox"], dtype=torch.float64)[frame_ids].numpy()
            data = {"train_images": frames[:1], "train_boxes": [boxes[0]],
                    "test_images": frames[1:], "test_boxes": list(boxes[1:]),
                    "dataset": dataset.get_name(), "dataset_index": ds_index, "sequence": seq_id,
                    "frame_ids": frame_ids}
            return data, errors
        raise ValueError(f"gave up after {self.max_read_retries + 1} pairs with unreadable frames in a row "
                         f"(last error above); check the dataset files")

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(f"index {index} out of range [0, {self.samples_per_epoch})")
        rng = self.item_rng(index)
        marks = self._warning_marks()
        if self.processing is None:
            data, errors = self.draw_pair(rng)
            data["read_errors"] = errors
            data["annotation_warnings"] = self._warnings_since(marks)
            return data
        errors = 0
        for _ in range(self.max_read_retries + 1):
            data, draw_errors = self.draw_pair(rng)
            errors += draw_errors
            try:
                out = self.processing(data, rng)  # decodes encoded frames
                break
            except ImageReadError as err:
                errors += 1
                self._read_error(self.datasets[data["dataset_index"]], data["sequence"], err)
        else:
            raise ValueError(f"gave up after {self.max_read_retries + 1} pairs with undecodable frames in a row "
                             f"(last error above); check the dataset files")
        notes = self._warnings_since(marks)
        out["read_errors"] = torch.tensor(errors, dtype=torch.int64)
        out["annotation_warnings"] = notes
        return out
