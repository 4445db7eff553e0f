"""A generic dataset: every folder below the root that holds ``groundtruth.txt``.

Frames are in ``img/`` (LaSOT layout) or beside ``groundtruth.txt`` (GOT-10k layout), sorted
numerically; the sequence length is the number of ground-truth rows. Visibility comes from the
LaSOT files (``full_occlusion.txt``/``out_of_view.txt``) or the GOT-10k labels
(``absence.label``/``cover.label``) where present. The sequence name is the folder's name (it must
be unique). A split file ``<root>/<split>.txt`` (one name per line, e.g. ``test.txt``) selects
sequences; this is how the project's demo benchmark (LaSOT layout + ``train.txt``/``test.txt``)
is evaluated. In LaSOT layout (``<class>/<class>-<k>``) the parent folder gives the object class.
"""
from __future__ import annotations

import os
from pathlib import Path

from pytracking.evaluation.dataset_base import (BaseDataset, list_images, read_name_list, read_visibility_got10k,
                                                read_visibility_lasot, sequence_from_annotation)
from pytracking.evaluation.results_io import read_boxes
from pytracking.evaluation.sequence import Sequence


class FolderDataset(BaseDataset):
    """Every ``groundtruth.txt`` folder below ``root`` (optionally restricted by ``<root>/<split>.txt``)."""

    name = "folder"
    layout = "folders holding groundtruth.txt and their frames (in img/ or beside it) below <root>"

    def __init__(self, root: str | Path, split: str | None = None, name: str = "folder"):
        super().__init__(root)
        self.name = name
        self.split = split
        if split is not None:
            self.layout = (f"{self.layout}, and <root>/{split}.txt naming the {split} split's sequences"
                           + (" (the demo benchmark: python -m pytracking.run_demo builds it)" if name == "demo" else ""))
        self._folders: dict[str, Path] | None = None

    def _all_folders(self) -> dict[str, Path]:
        if self._folders is None:
            found: dict[str, Path] = {}
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames.sort()
                if "groundtruth.txt" in filenames:
                    folder = Path(dirpath)
                    if folder.name in found:
                        raise ValueError(f"dataset_path: two sequences named {folder.name!r}: "
                                         f"{found[folder.name]} and {folder}")
                    found[folder.name] = folder
                    dirnames[:] = []  # a sequence folder holds no further sequences
            self._folders = found
        return self._folders

    def sequence_names(self) -> list[str]:
        folders = self._all_folders()
        if self.split is None:
            return sorted(folders)
        names = read_name_list(self.root / f"{self.split}.txt")
        missing = [n for n in names if n not in folders]
        if missing:
            raise ValueError(f"{self.root / (self.split + '.txt')}: no sequence folder for {missing[:5]} "
                             f"({len(missing)} missing)")
        return names

    def load_sequence(self, name: str) -> Sequence:
        folder = self._all_folders()[name]
        gt = read_boxes(folder / "groundtruth.txt")
        image_dir = folder / "img" if (folder / "img").is_dir() else folder
        images = list_images(image_dir)
        if len(images) < gt.shape[0]:
            raise ValueError(f"{image_dir}: {len(images)} images for {gt.shape[0]} ground-truth rows")
        visible = read_visibility_lasot(folder, gt.shape[0])
        if visible is None:
            visible = read_visibility_got10k(folder, gt.shape[0])
        parent = folder.parent.name
        object_class = parent if name.startswith(parent + "-") else None
        return sequence_from_annotation(folder / "groundtruth.txt", name=name,
                                        frames=[str(p) for p in images[:gt.shape[0]]], ground_truth_rect=gt,
                                        target_visible=visible, dataset=self.name, object_class=object_class)
