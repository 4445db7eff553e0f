"""LaSOT protocol II test set (280 sequences) in the official layout.

Layout: ``<root>/<class>/<class>-<k>/img/%08d.jpg`` (1-based), ``groundtruth.txt`` (comma),
``full_occlusion.txt`` and ``out_of_view.txt`` (one comma-separated line of 0/1 each).
Visible = ``full_occlusion == 0 and out_of_view == 0``. The sequence length is the number of
ground-truth rows, not the number of images (monkey-17 has more images than rows).
"""
from __future__ import annotations

from pathlib import Path

from pytracking.evaluation.dataset_base import (BaseDataset, read_name_list, read_visibility_lasot,
                                                sequence_from_annotation)
from pytracking.evaluation.results_io import read_boxes
from pytracking.evaluation.sequence import Sequence

TEST_LIST = Path(__file__).with_name("data_specs") / "lasot_test_sequences.txt"


def lasot_test_names() -> list[str]:
    """The 280 test sequence names in the official order."""
    return read_name_list(TEST_LIST)


class LaSOTDataset(BaseDataset):
    """LaSOT test set (protocol II)."""

    name = "lasot"
    layout = "<root>/<class>/<class>-<k>/groundtruth.txt and img/%08d.jpg (LaSOT test set, e.g. airplane/airplane-1)"

    def __init__(self, root: str | Path, split: str | None = None):
        super().__init__(root)
        if split not in (None, "test"):
            raise ValueError(f"split: LaSOT evaluation supports 'test' only, got {split!r}")

    def sequence_names(self) -> list[str]:
        return lasot_test_names()

    def check_root(self) -> None:
        names = self.sequence_names()
        if not any((self.root / n.rsplit("-", 1)[0] / n / "groundtruth.txt").is_file() for n in names):
            raise self.no_dataset_error(f"none of the {len(names)} test sequences is there")

    def load_sequence(self, name: str) -> Sequence:
        class_name = name.rsplit("-", 1)[0]
        folder = self.root / class_name / name
        gt_file = folder / "groundtruth.txt"
        if not gt_file.exists():
            raise ValueError(f"LaSOT ground truth {gt_file} is missing (sequence {name})")
        gt = read_boxes(gt_file)
        frames = [str(folder / "img" / f"{i:08d}.jpg") for i in range(1, gt.shape[0] + 1)]
        visible = read_visibility_lasot(folder, gt.shape[0])
        return sequence_from_annotation(gt_file, name=name, frames=frames, ground_truth_rect=gt,
                                        target_visible=visible, dataset=self.name, object_class=class_name)
