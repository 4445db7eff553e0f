"""Base class of evaluation datasets and helpers shared by the official layouts."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence as TypingSequence

import numpy as np

from pytracking.evaluation.results_io import read_flags
from pytracking.evaluation.sequence import Sequence

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_DIGITS = re.compile(r"(\d+)")


class BaseDataset:
    """An evaluation dataset: a list of sequence names, each loadable as a :class:`Sequence`.

    Subclasses set ``name`` and implement ``sequence_names()`` (cheap: no annotation reading) and
    ``load_sequence(name)``.
    """

    name: str = ""
    #: the on-disk layout this dataset expects below its root (said when the root holds no dataset)
    layout: str = ""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"dataset_path: {self.root} is not a folder ({self.name})")

    def sequence_names(self) -> list[str]:
        raise NotImplementedError

    def load_sequence(self, name: str) -> Sequence:
        raise NotImplementedError

    def no_dataset_error(self, detail: str = "") -> ValueError:
        """The error for a root that holds no dataset of this kind: what was expected there."""
        found = f" ({detail})" if detail else ""
        return ValueError(f"dataset_path: {self.root} holds no '{self.name}' dataset{found}; expected {self.layout}")

    def check_root(self) -> None:
        """Raise :meth:`no_dataset_error` when the root holds no sequence of this dataset.

        The default checks that ``sequence_names()`` is not empty; datasets whose names come from a
        shipped list (LaSOT, UAV123) override it to look for their files on disk.
        """
        try:
            names = self.sequence_names()
        except ValueError as err:
            raise self.no_dataset_error(str(err)) from err
        if not names:
            raise self.no_dataset_error("no sequence found")

    def load_sequences(self, names: TypingSequence[str] | None = None) -> tuple[list[Sequence], dict[str, str]]:
        """Load the named sequences (all when None) one by one: ``(sequences, {name: error})``.

        A sequence whose files are unusable (bad or empty ground truth, missing frames, ...) is left out
        and its one-line error (naming the file and line) is kept, so that the others can still run.
        """
        chosen = self.sequence_names() if names is None else list(names)
        sequences: list[Sequence] = []
        errors: dict[str, str] = {}
        for name in chosen:
            try:
                sequences.append(self.load_sequence(name))
            except (ValueError, OSError) as err:
                errors[name] = str(err)
        return sequences, errors

    def get_sequence_list(self, names: TypingSequence[str] | None = None) -> list[Sequence]:
        """Load the named sequences (all when ``names`` is None), in the dataset's order."""
        available = self.sequence_names()
        if names is None:
            chosen = available
        else:
            known = set(available)
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(f"sequence: unknown in dataset '{self.name}': {unknown[:5]} "
                                 f"(it has {len(available)} sequences, e.g. {available[:3]})")
            chosen = list(names)
        return [self.load_sequence(n) for n in chosen]


def sequence_from_annotation(annotation_file: str | Path, **fields) -> Sequence:
    """``Sequence(**fields)``; a ``ValueError`` (empty ground truth, unusable first box, ...) is re-raised
    naming ``annotation_file``, so that the user knows which file to look at."""
    try:
        return Sequence(**fields)
    except ValueError as err:
        raise ValueError(f"{annotation_file}: {err}") from err


def natural_key(text: str) -> list:
    """Sort key that orders embedded integers numerically: ``2.jpg`` < ``10.jpg``."""
    return [int(t) if t.isdigit() else t for t in _DIGITS.split(text)]


def list_images(folder: str | Path) -> list[Path]:
    """Image files of ``folder`` sorted numerically by name (``0, 1, 2, ..., 10``, not ``0, 1, 10``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"image folder {folder} does not exist")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: natural_key(p.name))


def first_row_only(box: np.ndarray, num_frames: int) -> np.ndarray:
    """An ``[num_frames, 4]`` ground truth holding ``box`` at frame 0 and NaN elsewhere."""
    gt = np.full((num_frames, 4), np.nan)
    gt[0] = box
    return gt


def read_visibility_lasot(folder: Path, num_frames: int) -> np.ndarray | None:
    """LaSOT visibility: ``full_occlusion == 0 and out_of_view == 0``; None if both files are missing."""
    occ_file, oov_file = folder / "full_occlusion.txt", folder / "out_of_view.txt"
    if not occ_file.exists() and not oov_file.exists():
        return None
    visible = np.ones(num_frames, dtype=bool)
    for file in (occ_file, oov_file):
        if file.exists():
            flags = read_flags(file)
            if flags.shape[0] < num_frames:
                raise ValueError(f"{file}: {flags.shape[0]} flags for {num_frames} frames")
            visible &= flags[:num_frames] == 0
    return visible


def read_visibility_got10k(folder: Path, num_frames: int) -> np.ndarray | None:
    """GOT-10k visibility: ``absence == 0 and cover > 0``; None if both label files are missing."""
    abs_file, cover_file = folder / "absence.label", folder / "cover.label"
    if not abs_file.exists() and not cover_file.exists():
        return None
    visible = np.ones(num_frames, dtype=bool)
    if abs_file.exists():
        absence = read_flags(abs_file)
        if absence.shape[0] < num_frames:
            raise ValueError(f"{abs_file}: {absence.shape[0]} labels for {num_frames} frames")
        visible &= absence[:num_frames] == 0
    if cover_file.exists():
        cover = read_flags(cover_file)
        if cover.shape[0] < num_frames:
            raise ValueError(f"{cover_file}: {cover.shape[0]} labels for {num_frames} frames")
        visible &= cover[:num_frames] > 0
    return visible


def read_name_list(path: Path) -> list[str]:
    """Non-empty stripped lines of a list file."""
    if not path.exists():
        raise ValueError(f"sequence list {path} does not exist")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
