"""TrackingNet in the official layout (test set: first-frame box only).

Layout: ``<root>/TEST/frames/<video>/<k>.jpg`` (0-based, not zero padded; sorted numerically),
``<root>/TEST/anno/<video>.txt`` holding the first frame's box only (train chunks ``TRAIN_k``
hold every frame). Sequence names are the video names, sorted.
"""
from __future__ import annotations

from pathlib import Path

from pytracking.evaluation.dataset_base import BaseDataset, first_row_only, list_images, sequence_from_annotation
from pytracking.evaluation.results_io import read_boxes
from pytracking.evaluation.sequence import Sequence


class TrackingNetDataset(BaseDataset):
    """TrackingNet ``TEST`` (default) or a training chunk (``split='train_3'`` -> ``TRAIN_3``)."""

    name = "trackingnet"
    layout = "<root>/TEST/anno/<video>.txt and <root>/TEST/frames/<video>/<k>.jpg (TrackingNet)"

    def __init__(self, root: str | Path, split: str | None = None):
        super().__init__(root)
        split = (split or "test").upper()
        if split != "TEST" and not (split.startswith("TRAIN_") and split[6:].isdigit()):
            raise ValueError(f"split: expected 'test' or 'train_<k>', got {split!r}")
        self.split = split
        self.split_dir = self.root / split
        if not (self.split_dir / "anno").is_dir():
            raise ValueError(f"dataset_path: {self.split_dir / 'anno'} does not exist (TrackingNet layout "
                             f"<root>/{split}/anno/<video>.txt)")

    def sequence_names(self) -> list[str]:
        return sorted(p.stem for p in (self.split_dir / "anno").glob("*.txt"))

    def load_sequence(self, name: str) -> Sequence:
        anno_file = self.split_dir / "anno" / f"{name}.txt"
        boxes = read_boxes(anno_file)
        if boxes.shape[0] == 0:
            raise ValueError(f"{anno_file}: empty annotation")
        frames = list_images(self.split_dir / "frames" / name)
        if not frames:
            raise ValueError(f"TrackingNet: no frames in {self.split_dir / 'frames' / name}")
        if boxes.shape[0] == 1:
            gt = first_row_only(boxes[0], len(frames))
        elif boxes.shape[0] == len(frames):
            gt = boxes
        else:
            raise ValueError(f"{anno_file}: {boxes.shape[0]} rows for {len(frames)} frames")
        return sequence_from_annotation(anno_file, name=name, frames=[str(f) for f in frames], ground_truth_rect=gt,
                                        dataset=self.name)
