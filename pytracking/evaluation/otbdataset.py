"""OTB-100, kept simple: every folder ``<root>/<Seq>/`` with ``img/`` and ``groundtruth_rect.txt``.

Frames are the images of ``img/`` sorted numerically, the first N of them where N is the number
of ground-truth rows (comma or whitespace separated). Folders with two targets
(``groundtruth_rect.1.txt``, ``groundtruth_rect.2.txt``) give ``<Seq>-1`` and ``<Seq>-2``.
The per-sequence start-frame exceptions of the official configuration are not modelled.
"""
from __future__ import annotations

from pytracking.evaluation.dataset_base import BaseDataset, list_images, sequence_from_annotation
from pytracking.evaluation.results_io import read_boxes
from pytracking.evaluation.sequence import Sequence


class OTBDataset(BaseDataset):
    """OTB-100 (every sequence folder under the root)."""

    name = "otb"
    layout = "<root>/<Seq>/groundtruth_rect.txt and <root>/<Seq>/img/ (OTB)"

    def _entries(self) -> dict[str, tuple[str, str]]:
        entries: dict[str, tuple[str, str]] = {}
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if (folder / "groundtruth_rect.txt").exists():
                entries[folder.name] = (folder.name, "groundtruth_rect.txt")
            else:
                for k in (1, 2, 3):
                    if (folder / f"groundtruth_rect.{k}.txt").exists():
                        entries[f"{folder.name}-{k}"] = (folder.name, f"groundtruth_rect.{k}.txt")
        return entries

    def sequence_names(self) -> list[str]:
        return list(self._entries())

    def load_sequence(self, name: str) -> Sequence:
        folder_name, gt_name = self._entries()[name]
        folder = self.root / folder_name
        gt = read_boxes(folder / gt_name)
        images = list_images(folder / "img")
        if len(images) < gt.shape[0]:
            raise ValueError(f"{folder / 'img'}: {len(images)} images for {gt.shape[0]} ground-truth rows")
        return sequence_from_annotation(folder / gt_name, name=name, frames=[str(p) for p in images[:gt.shape[0]]],
                                        ground_truth_rect=gt, dataset=self.name)
