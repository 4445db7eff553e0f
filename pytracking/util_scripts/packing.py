"""Shared checks and zip writing for submission packs."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from pytracking.evaluation.results_io import boxes_to_text, read_boxes, read_times, results_paths
from pytracking.evaluation.sequence import Sequence


class IncompleteResultsError(ValueError):
    """Results needed for a submission are missing or malformed; ``problems`` lists them."""

    def __init__(self, what: str, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:15])
        more = f"\n  ... and {len(problems) - 15} more" if len(problems) > 15 else ""
        super().__init__(f"{what}: {len(problems)} problem(s):\n  {shown}{more}")


def checked_boxes(results_dir: Path, seq: Sequence, problems: list[str]) -> np.ndarray | None:
    """The ``[len(seq), 4]`` boxes of ``seq`` from ``results_dir``; None (and a problem noted) if not usable.

    Usable means: the file exists, has exactly one row per frame, every value finite, w and h > 0.
    """
    box_file, _ = results_paths(results_dir, seq.name)
    if not box_file.exists():
        problems.append(f"{box_file}: missing")
        return None
    try:
        boxes = read_boxes(box_file)
    except ValueError as err:
        problems.append(str(err))
        return None
    if boxes.shape[0] != len(seq):
        problems.append(f"{box_file}: {boxes.shape[0]} rows, sequence has {len(seq)} frames")
        return None
    bad = ~np.all(np.isfinite(boxes), axis=1)
    if bad.any():
        problems.append(f"{box_file}: non-finite box in row {int(np.argmax(bad)) + 1}")
        return None
    return boxes


def checked_times(results_dir: Path, seq: Sequence, problems: list[str]) -> np.ndarray | None:
    """The per-frame times of ``seq``; None (and a problem noted) if missing or of the wrong length."""
    _, time_file = results_paths(results_dir, seq.name)
    if not time_file.exists():
        problems.append(f"{time_file}: missing")
        return None
    times = read_times(time_file)
    if times.shape[0] != len(seq):
        problems.append(f"{time_file}: {times.shape[0]} values, sequence has {len(seq)} frames")
        return None
    return times


def write_zip(output_zip: str | os.PathLike, entries: dict[str, str]) -> Path:
    """Write ``{name inside zip: text}`` to ``output_zip`` atomically (temporary file + rename)."""
    output_zip = Path(output_zip)
    output_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_zip.with_name(f".{output_zip.name}.tmp{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, text in entries.items():
                zf.writestr(name, text)
        os.replace(tmp, output_zip)
    finally:
        if tmp.exists():
            tmp.unlink()
    return output_zip


__all__ = ["IncompleteResultsError", "checked_boxes", "checked_times", "write_zip", "boxes_to_text"]
