"""A generic dataset: every folder under ``root`` that holds a ``groundtruth.txt`` and frames.

Frames are the image files (jpg, jpeg, png, bmp) in ``<seq>/img/`` (LaSOT style) or beside
``groundtruth.txt`` (GOT-10k style), in natural (numeric-aware) order of their names. Boxes: one
``x,y,w,h`` row per frame (comma, tab or space separated). Visibility files are honoured when present:
LaSOT ``full_occlusion.txt``/``out_of_view.txt`` (0 = visible) and GOT-10k ``absence.label``
(0 = present) / ``cover.label`` (> 0 = visible); otherwise ``visible = valid``. If there are fewer
frames than box rows, the sequence is cut to the frames (with a warning).
"""
from __future__ import annotations

import os
import re

import numpy as np

from ltr.data.image_loader import imread_rgb
from ltr.dataset.annotation_io import read_boxes, read_flags
from ltr.dataset.sequence_dataset import ImageLoader, SequenceFolderDataset, resolve_root

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_VISIBLE_WHEN_ZERO = ("full_occlusion.txt", "out_of_view.txt", "absence.label")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers numerically: 2.jpg < 10.jpg."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def list_frames(folder: str) -> list[str]:
    """Image file names in ``folder`` in natural order."""
    return sorted((f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS)), key=natural_key)


class ImageFolder(SequenceFolderDataset):
    """Every sequence folder (``groundtruth.txt`` + frames) under ``root``; names are paths relative to it."""

    def __init__(self, root: str | os.PathLike | None = None, image_loader: ImageLoader = imread_rgb):
        super().__init__("ImageFolder", resolve_root(root, "imagefolder", setting="ImageFolder"), image_loader)
        self.frame_dirs: list[str] = []
        self.frame_files: list[list[str]] = []
        for folder, dirs, files in os.walk(self.root):
            dirs.sort(key=natural_key)
            if "groundtruth.txt" not in files:
                continue
            img_dir = os.path.join(folder, "img")
            frame_dir = img_dir if os.path.isdir(img_dir) and list_frames(img_dir) else folder
            frames = list_frames(frame_dir)
            if not frames:
                self.report(f"ImageFolder: {folder} has a groundtruth.txt but no frames; skipping it")
                continue
            self.sequence_list.append(os.path.relpath(folder, self.root))
            self.frame_dirs.append(frame_dir)
            self.frame_files.append(frames)
        if not self.sequence_list:
            raise ValueError(f"root: no sequence folder (groundtruth.txt + frames) under {self.root}")

    def _seq_dir(self, seq_id: int) -> str:
        return os.path.join(self.root, self.sequence_list[seq_id])

    def _read_annotation(self, seq_id: int):
        seq_dir = self._seq_dir(seq_id)
        boxes, problems = read_boxes(os.path.join(seq_dir, "groundtruth.txt"))
        num_frames = len(self.frame_files[seq_id])
        if num_frames < len(boxes):
            problems.append(f"{os.path.join(seq_dir, 'groundtruth.txt')}: {len(boxes)} rows but {num_frames} frames; "
                            f"using the first {num_frames}")
            boxes = boxes[:num_frames]
        visible = np.ones(len(boxes), dtype=bool)
        for flag_file in _VISIBLE_WHEN_ZERO + ("cover.label",):
            path = os.path.join(seq_dir, flag_file)
            if os.path.isfile(path):
                flags, flag_problems = read_flags(path, len(boxes))
                problems += flag_problems
                visible &= (flags > 0) if flag_file == "cover.label" else (flags == 0)
        for problem in problems:
            self.report(problem)
        return boxes, visible, {}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self.frame_dirs[seq_id], self.frame_files[seq_id][frame_id])

    def _keep_sequences(self, seq_ids: list[int]) -> None:
        self.frame_dirs = [self.frame_dirs[i] for i in seq_ids]
        self.frame_files = [self.frame_files[i] for i in seq_ids]
        super()._keep_sequences(seq_ids)
