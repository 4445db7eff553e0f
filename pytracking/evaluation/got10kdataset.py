"""GOT-10k val/test in the official layout.

Layout: ``<root>/<split>/list.txt`` and ``<root>/<split>/<seq>/%08d.jpg`` (1-based) with
``groundtruth.txt`` (comma). Val has a box per frame plus ``absence.label``/``cover.label``
(visible = ``absence == 0 and cover > 0``); test holds the first frame's box only, so its length
is the number of images.
"""
from __future__ import annotations

from pathlib import Path

from pytracking.evaluation.dataset_base import (BaseDataset, first_row_only, list_images, read_name_list,
                                                read_visibility_got10k, sequence_from_annotation)
from pytracking.evaluation.results_io import read_boxes
from pytracking.evaluation.sequence import Sequence


def read_object_class(meta_file: Path) -> str | None:
    """The ``object_class`` entry of a GOT-10k ``meta_info.ini`` (``key: value`` lines), if present."""
    if not meta_file.exists():
        return None
    for line in meta_file.read_text().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "object_class":
            return value.strip()
    return None


class GOT10KDataset(BaseDataset):
    """GOT-10k ``val`` (default) or ``test``."""

    name = "got10k"
    layout = "<root>/<split>/list.txt and <root>/<split>/<seq>/groundtruth.txt, %08d.jpg (GOT-10k)"

    def __init__(self, root: str | Path, split: str | None = None):
        super().__init__(root)
        split = split or "val"
        if split not in ("val", "test"):
            raise ValueError(f"split: GOT-10k evaluation supports 'val' or 'test', got {split!r}")
        self.split = split
        self.name = f"got10k_{split}"

    def sequence_names(self) -> list[str]:
        return read_name_list(self.root / self.split / "list.txt")

    def load_sequence(self, name: str) -> Sequence:
        folder = self.root / self.split / name
        gt_file = folder / "groundtruth.txt"
        if not gt_file.exists():
            raise ValueError(f"GOT-10k ground truth {gt_file} is missing (sequence {name})")
        boxes = read_boxes(gt_file)
        images = list_images(folder)
        if boxes.shape[0] == 1 and len(images) > 1:
            gt, visible = first_row_only(boxes[0], len(images)), None
        else:
            if len(images) < boxes.shape[0]:
                raise ValueError(f"{folder}: {len(images)} images for {boxes.shape[0]} ground-truth rows")
            gt = boxes
            visible = read_visibility_got10k(folder, gt.shape[0])
        frames = [str(folder / f"{i:08d}.jpg") for i in range(1, gt.shape[0] + 1)]
        return sequence_from_annotation(gt_file, name=name, frames=frames, ground_truth_rect=gt,
                                        target_visible=visible, dataset=self.name,
                                        object_class=read_object_class(folder / "meta_info.ini"))
