"""GOT-10k training dataset in the official layout.

``<root>/<train|val>/list.txt`` names the sequence folders in order; each folder holds
``%08d.jpg`` (1-based), ``groundtruth.txt``, ``absence.label``, ``cover.label`` and ``meta_info.ini``.
``visible = valid & absence == 0 & cover > 0``; ``visible_ratio = cover / 8``.

Splits: 'train' (official train), 'val' (official val folder), 'vottrain'/'votval' (pytracking's
VOT-safe subsets of train: 0-based indices into ``train/list.txt``, shipped in ``ltr/data_specs``).
``root`` may also be the split folder itself (a folder holding ``list.txt``).
"""
from __future__ import annotations

import os

import numpy as np

from ltr.data.image_loader import imread_rgb
from ltr.data_specs import spec_path
from ltr.dataset.annotation_io import read_boxes, read_flags, read_lines, read_meta_info
from ltr.dataset.sequence_dataset import ImageLoader, SequenceFolderDataset, resolve_root

SPLITS = {"train": ("train", None), "val": ("val", None),
          "vottrain": ("train", "got10k_vot_train_split.txt"), "votval": ("train", "got10k_vot_val_split.txt")}


class Got10k(SequenceFolderDataset):
    """GOT-10k. ``split`` in 'train' (default for None), 'val', 'vottrain', 'votval'.

    ``seq_ids``: optional 0-based indices into ``list.txt`` (instead of a vot split file).
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None,
                 image_loader: ImageLoader = imread_rgb, seq_ids: list[int] | None = None):
        split = "train" if split is None else split
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {sorted(SPLITS)} or None, got {split!r}")
        super().__init__("GOT-10k", resolve_root(root, "got10k", setting="Got10k"), image_loader)
        folder, index_file = SPLITS[split]
        split_dir = os.path.join(self.root, folder)
        if not os.path.isdir(split_dir) and os.path.isfile(os.path.join(self.root, "list.txt")):
            split_dir = self.root
        if not os.path.isdir(split_dir):
            raise ValueError(f"root: GOT-10k split folder {split_dir} does not exist")
        self.split = split
        self.split_dir = split_dir
        list_file = os.path.join(split_dir, "list.txt")
        if os.path.isfile(list_file):
            all_names = read_lines(list_file)
        else:
            all_names = sorted(d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d)))
            self.report(f"GOT-10k: {list_file} not found; using the {len(all_names)} sequence folders on disk")
        if seq_ids is None and index_file is not None:
            seq_ids = [int(x) for x in read_lines(spec_path(index_file))]
        if seq_ids is not None:
            in_range = [i for i in seq_ids if 0 <= i < len(all_names)]
            if len(in_range) < len(seq_ids):
                self.report(f"GOT-10k: {len(seq_ids) - len(in_range)} of {len(seq_ids)} indices of split {split!r} "
                            f"are beyond the {len(all_names)} lines of {list_file}; skipping them")
            wanted = [all_names[i] for i in in_range]
        else:
            wanted = all_names
        present = [s for s in wanted if os.path.isfile(os.path.join(split_dir, s, "groundtruth.txt"))]
        if len(present) < len(wanted):
            self.report(f"GOT-10k: {len(wanted) - len(present)} of {len(wanted)} sequences of split {split!r} are "
                        f"missing under {split_dir} (partial download?); skipping them")
        self.sequence_list = present
        self._meta_cache: dict[str, dict[str, str]] = {}

    def _seq_dir(self, seq_id: int) -> str:
        return os.path.join(self.split_dir, self.sequence_list[seq_id])

    def _read_annotation(self, seq_id: int):
        seq_dir = self._seq_dir(seq_id)
        boxes, problems = read_boxes(os.path.join(seq_dir, "groundtruth.txt"))
        visible = np.ones(len(boxes), dtype=bool)
        extra = {}
        absence_file = os.path.join(seq_dir, "absence.label")
        if os.path.isfile(absence_file):
            absence, absence_problems = read_flags(absence_file, len(boxes))
            problems += absence_problems
            visible &= absence == 0
        cover_file = os.path.join(seq_dir, "cover.label")
        if os.path.isfile(cover_file):
            cover, cover_problems = read_flags(cover_file, len(boxes))
            problems += cover_problems
            visible &= cover > 0
            extra["visible_ratio"] = np.nan_to_num(cover / 8.0, nan=0.0).astype(np.float32)
        for problem in problems:
            self.report(problem)
        return boxes, visible, extra

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self._seq_dir(seq_id), f"{frame_id + 1:08d}.jpg")

    def get_sequence_meta(self, seq_id: int) -> dict[str, str]:
        """All ``meta_info.ini`` entries of a sequence ({} if the file is absent)."""
        name = self.get_sequence_name(seq_id)
        if name not in self._meta_cache:
            path = os.path.join(self.split_dir, name, "meta_info.ini")
            self._meta_cache[name] = read_meta_info(path) if os.path.isfile(path) else {}
        return self._meta_cache[name]

    def get_class_name(self, seq_id: int) -> str | None:
        """``object_class`` from ``meta_info.ini`` (None if absent)."""
        return self.get_sequence_meta(seq_id).get("object_class")

    def get_meta_info(self, seq_id: int) -> dict:
        meta = self.get_sequence_meta(seq_id)
        return {"sequence_name": self.get_sequence_name(seq_id), "object_class_name": meta.get("object_class"),
                "motion_class": meta.get("motion_class"), "major_class": meta.get("major_class"),
                "root_class": meta.get("root_class"), "motion_adverb": meta.get("motion_adverb")}
