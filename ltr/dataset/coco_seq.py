"""MS-COCO as a dataset of one-frame sequences (one per object annotation).

Layout: ``<root>/annotations/instances_<split><version>.json`` and the images in
``<root>/images/<split><version>/`` or ``<root>/<split><version>/``. The json is parsed with the
standard library (no pycocotools). An annotation becomes a sequence if it is not ``iscrowd`` and its
box ``[x, y, w, h]`` has ``w > 0``, ``h > 0`` and ``w * h >= min_area``. Per-annotation data are
kept in numpy arrays (compact, and shared copy-on-write by data-loader workers).
"""
from __future__ import annotations

import json
import os

import numpy as np

from ltr.data.image_loader import imread_rgb, read_encoded
from ltr.dataset.sequence_dataset import ImageLoader, SequenceFolderDataset, resolve_root


class MSCOCOSeq(SequenceFolderDataset):
    """COCO object annotations as one-frame sequences. ``split`` 'train' | 'val'; ``version`` '2017' | '2014'."""

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train",
                 image_loader: ImageLoader = imread_rgb, version: str = "2017", min_area: float = 25.0):
        if split not in ("train", "val"):
            raise ValueError(f"split: expected 'train' or 'val', got {split!r}")
        super().__init__("COCO", resolve_root(root, "coco", setting="MSCOCOSeq"), image_loader)
        folder = f"{split}{version}"
        anno_file = os.path.join(self.root, "annotations", f"instances_{folder}.json")
        if not os.path.isfile(anno_file):
            raise ValueError(f"root: COCO annotation file {anno_file} not found")
        candidates = [os.path.join(self.root, "images", folder), os.path.join(self.root, folder)]
        image_dirs = [d for d in candidates if os.path.isdir(d)]
        if not image_dirs:
            raise ValueError(f"root: COCO image folder not found (looked for {' and '.join(candidates)})")
        self.image_dir = image_dirs[0]
        self.split = split
        try:
            with open(anno_file) as handle:
                data = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{anno_file}: line {err.lineno}: not valid JSON: {err.msg}") from err

        self.categories = {int(c["id"]): c for c in data.get("categories", [])}
        image_ids = sorted(int(im["id"]) for im in data.get("images", []))
        files = {int(im["id"]): im["file_name"] for im in data.get("images", [])}
        self.image_files = [files[i] for i in image_ids]
        image_index = {image_id: k for k, image_id in enumerate(image_ids)}

        boxes, image_of, category_of, ann_ids = [], [], [], []
        skipped_bad = 0
        for ann in data.get("annotations", []):
            if ann.get("iscrowd", 0):
                continue
            bbox = ann.get("bbox")
            if not (isinstance(bbox, list) and len(bbox) == 4) or int(ann.get("image_id", -1)) not in image_index:
                skipped_bad += 1
                continue
            w, h = float(bbox[2]), float(bbox[3])
            if not (w > 0 and h > 0 and w * h >= min_area):
                continue
            boxes.append(bbox)
            image_of.append(image_index[int(ann["image_id"])])
            category_of.append(int(ann.get("category_id", -1)))
            ann_ids.append(int(ann.get("id", len(ann_ids))))
        del data
        if skipped_bad:
            self.report(f"{anno_file}: {skipped_bad} annotations without a 4-number bbox or a known image_id; "
                        "skipped")
        self.boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        self.image_of = np.asarray(image_of, dtype=np.int64)
        self.category_of = np.asarray(category_of, dtype=np.int64)
        self.annotation_ids = np.asarray(ann_ids, dtype=np.int64)
        self.sequence_list = [str(a) for a in self.annotation_ids]
        self.class_list = sorted({c["name"] for c in self.categories.values()})

    def is_video_sequence(self) -> bool:
        return False

    def _read_annotation(self, seq_id: int):
        return self.boxes[seq_id:seq_id + 1].copy(), None, {}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.path.join(self.image_dir, self.image_files[int(self.image_of[seq_id])])

    def get_meta_info(self, seq_id: int) -> dict:
        seq_id = self._check_seq_id(seq_id)
        category = self.categories.get(int(self.category_of[seq_id]), {})
        return {"sequence_name": self.sequence_list[seq_id], "object_class_name": category.get("name"),
                "supercategory": category.get("supercategory"),
                "image_file": self.image_files[int(self.image_of[seq_id])]}

    def get_frames(self, seq_id, frame_ids, anno=None, encoded=False):
        """All ``frame_ids`` must be 0; the one image is read once and repeated (``encoded``: one
        :class:`EncodedImage`, not copied)."""
        seq_id = self._check_seq_id(seq_id)
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        for f in frame_ids:
            if int(f) != 0:
                raise ValueError(f"frame_ids: {f} out of range [0, 1) for COCO annotation {self.sequence_list[seq_id]}")
        if encoded and self.supports_encoded_frames():
            frames = [read_encoded(self._frame_path(seq_id, 0))] * len(frame_ids)
        else:
            image = self.image_loader(self._frame_path(seq_id, 0))
            frames = [image.copy() for _ in frame_ids]
        anno_frames = {key: [value[0, ...].clone() for _ in frame_ids] for key, value in anno.items()}
        return frames, anno_frames, self.get_meta_info(seq_id)

    def _keep_sequences(self, seq_ids: list[int]) -> None:
        index = np.asarray(seq_ids, dtype=np.int64)
        self.boxes, self.image_of = self.boxes[index], self.image_of[index]
        self.category_of, self.annotation_ids = self.category_of[index], self.annotation_ids[index]
        super()._keep_sequences(seq_ids)
