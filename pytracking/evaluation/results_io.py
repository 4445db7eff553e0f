"""Reading and writing box files: results, ground truth, time files.

Results format: ``<sequence>.txt`` with one ``x,y,w,h`` row per frame (comma separated) and
``<sequence>_time.txt`` with one number (seconds) per frame. Numbers are written as Python's
shortest round-trip ``repr`` of the float, so writing then reading gives back the same float64.
Every write goes to a temporary file in the same folder and is then renamed (atomic on POSIX),
so a killed run never leaves a half-written result file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np

from ltr.admin.local_settings import load_settings

_SPLIT = re.compile(r"[,\s;]+")


def dataset_results_root(results_path: str | os.PathLike | None, dataset_name: str) -> Path:
    """``<results>/<dataset_name>``: the folder holding ``<tracker>/<param>[_NNN]/<sequence>.txt`` of one
    dataset, the one layout of ``run_tracker``, ``run_experiment``, ``run_demo`` and ``analysis``.
    ``<results>`` is ``results_path``, else the settings' ``results``."""
    if results_path is None:
        results_path = load_settings().results
    return Path(results_path).expanduser() / dataset_name


def format_number(value: float) -> str:
    """Shortest string that reads back as the same float64 (``repr``); NaN is written ``nan``."""
    return repr(float(value))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file + rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def boxes_to_text(boxes: np.ndarray) -> str:
    """Rows of ``x,y,w,h`` (comma separated, full precision), newline terminated."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return "".join(",".join(format_number(v) for v in row) + "\n" for row in boxes)


def write_boxes(path: str | os.PathLike, boxes: np.ndarray) -> None:
    """Write an ``[N, 4]`` box array as a comma-separated results file (atomic)."""
    atomic_write_text(path, boxes_to_text(boxes))


def write_times(path: str | os.PathLike, times: Iterable[float]) -> None:
    """Write seconds per frame, one per line (atomic)."""
    atomic_write_text(path, "".join(format_number(t) + "\n" for t in times))


def read_numbers(path: str | os.PathLike, columns: int | None = None) -> np.ndarray:
    """Read a numeric text file: comma, tab, semicolon or space separated; ``NaN`` allowed.

    Returns ``[N, columns]`` (or ``[N, k]`` with k taken from the first row when ``columns`` is None).
    Empty lines are skipped. A row with the wrong number of values raises ``ValueError`` naming the
    file and the line.
    """
    path = Path(path)
    rows: list[list[float]] = []
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            parts = [p for p in _SPLIT.split(line) if p]
            try:
                values = [float(p) for p in parts]
            except ValueError as err:
                raise ValueError(f"{path}:{line_no}: not a number in {line!r}") from err
            if columns is None:
                columns = len(values)
            if len(values) != columns:
                raise ValueError(f"{path}:{line_no}: expected {columns} values, got {len(values)}: {line!r}")
            rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, columns or 0)


def read_boxes(path: str | os.PathLike) -> np.ndarray:
    """Read an ``x,y,w,h`` file (results or ground truth) as an ``[N, 4]`` float64 array."""
    return read_numbers(path, columns=4)


def read_times(path: str | os.PathLike) -> np.ndarray:
    """Read a ``_time.txt`` file as a 1-D float array (any separator, one or more per line)."""
    path = Path(path)
    text = path.read_text()
    parts = [p for p in _SPLIT.split(text) if p]
    try:
        return np.asarray([float(p) for p in parts], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: not a list of numbers: {err}") from err


def read_flags(path: str | os.PathLike) -> np.ndarray:
    """Read integer flags written either one per line or comma separated on one line."""
    return read_times(path).astype(np.int64)


def results_paths(results_dir: str | os.PathLike, sequence_name: str) -> tuple[Path, Path]:
    """``(<dir>/<sequence>.txt, <dir>/<sequence>_time.txt)``."""
    d = Path(results_dir)
    return d / f"{sequence_name}.txt", d / f"{sequence_name}_time.txt"
