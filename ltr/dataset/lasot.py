"""LaSOT training dataset in the official layout.

``<root>/<class>/<class>-<k>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt}``.
Frames are 1-based on disk; frame ``i`` (0-based) is ``img/{i+1:08d}.jpg``. The sequence length is
the number of rows of ``groundtruth.txt``. ``visible = valid & full_occlusion == 0 & out_of_view == 0``
(a missing flag file means "no flag"; a flag missing for a frame means "not visible").
"""
from __future__ import annotations

import os

import numpy as np

from ltr.data.image_loader import imread_rgb
from ltr.data_specs import spec_path
from ltr.dataset.annotation_io import read_boxes, read_flags, read_lines
from ltr.dataset.sequence_dataset import ImageLoader, SequenceFolderDataset, resolve_root

SPLIT_FILES = {"train": "lasot_train_sequences.txt", "test": "lasot_test_sequences.txt"}


def lasot_class_name(sequence_name: str) -> str:
    """The class of ``<class>-<k>``: everything before the last ``-``."""
    return sequence_name.rsplit("-", 1)[0]


class Lasot(SequenceFolderDataset):
    """LaSOT. ``split``: 'train' (1120, protocol II), 'test' (280) or None (every sequence on disk).

    ``vid_ids`` (only with ``split=None``): keep ``<class>-<k>`` for k in ``vid_ids`` of every class on disk.
    Listed sequences missing on disk are skipped with one warning giving their count.
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None,
                 image_loader: ImageLoader = imread_rgb, vid_ids: list[int] | None = None):
        super().__init__("LaSOT", resolve_root(root, "lasot", setting="Lasot"), image_loader)
        if split is not None and split not in SPLIT_FILES:
            raise ValueError(f"split: expected one of {sorted(SPLIT_FILES)} or None, got {split!r}")
        if split is not None and vid_ids is not None:
            raise ValueError("vid_ids: give either split or vid_ids, not both")
        classes = sorted(d for d in os.listdir(self.root) if os.path.isdir(os.path.join(self.root, d)))
        if split is not None:
            wanted = read_lines(spec_path(SPLIT_FILES[split]))
        elif vid_ids is not None:
            wanted = [f"{c}-{k}" for c in classes for k in vid_ids]
        else:
            wanted = [s for c in classes for s in sorted(os.listdir(os.path.join(self.root, c)),
                                                          key=_natural_key)
                      if os.path.isfile(os.path.join(self.root, c, s, "groundtruth.txt"))]
        present = [s for s in wanted if os.path.isfile(self._sequence_dir(s, "groundtruth.txt"))]
        missing = len(wanted) - len(present)
        if missing:
            self.report(f"LaSOT: {missing} of {len(wanted)} sequences of split {split!r} are missing under "
                        f"{self.root} (partial download?); skipping them")
        self.sequence_list = present
        self.class_list = sorted({lasot_class_name(s) for s in present})

    def _sequence_dir(self, name: str, *parts: str) -> str:
        return os.path.join(self.root, lasot_class_name(name), name, *parts)

    def _read_annotation(self, seq_id: int):
        name = self.sequence_list[seq_id]
        boxes, problems = read_boxes(self._sequence_dir(name, "groundtruth.txt"))
        visible = np.ones(len(boxes), dtype=bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            path = self._sequence_dir(name, flag_file)
            if os.path.isfile(path):
                flags, flag_problems = read_flags(path, len(boxes))
                problems += flag_problems
                visible &= flags == 0
        for problem in problems:
            self.report(problem)
        return boxes, visible, {}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return self._sequence_dir(self.sequence_list[seq_id], "img", f"{frame_id + 1:08d}.jpg")

    def get_meta_info(self, seq_id: int) -> dict:
        name = self.get_sequence_name(seq_id)
        return {"sequence_name": name, "object_class_name": lasot_class_name(name)}


def _natural_key(name: str) -> tuple:
    head, _, tail = name.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (name, -1)
