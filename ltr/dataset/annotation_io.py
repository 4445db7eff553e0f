"""Reading per-frame annotation files: boxes, per-frame flags, GOT-10k ``meta_info.ini``.

Fast path: the whole file is parsed at once (pandas C parser for boxes, numpy for flags). When
that fails, or its result looks wrong (a short row, a blank line), the file is parsed again line
by line to find the offending lines. A bad line never aborts the read: its frame becomes
``NaN`` (invalid, never a training target) and a *problem* string naming the file and the line(s)
is returned, for the dataset to warn about (:class:`DatasetWarning`) and count.

Box conventions: ``[x, y, w, h]`` floats, one row per frame, separated by commas, tabs or spaces.
A row of ``NaN`` (UAV123) or of four zeros (an explicit "target absent" marker used by several
releases) is a silent invalid frame; any other box with ``w <= 0`` or ``h <= 0`` is kept as read
(so ``valid`` is false) and reported.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DatasetWarning", "read_boxes", "read_flags", "read_meta_info", "read_lines", "warn_problem"]

_SPLIT = re.compile(r"[,;\s]+")
_MAX_LINES_LISTED = 8


class DatasetWarning(UserWarning):
    """A problem in a dataset's files (bad annotation line, missing sequences, empty sequence)."""


def warn_problem(sink: list[str] | None, message: str) -> None:
    """Issue ``message`` as a :class:`DatasetWarning` and append it to ``sink`` (a dataset's ``warnings``)."""
    if sink is not None:
        sink.append(message)
    warnings.warn(message, DatasetWarning, stacklevel=3)


def _describe_lines(path: str | os.PathLike, line_numbers: list[int], what: str) -> str:
    shown = ", ".join(str(n) for n in line_numbers[:_MAX_LINES_LISTED])
    more = f", ... ({len(line_numbers)} in total)" if len(line_numbers) > _MAX_LINES_LISTED else ""
    label = "line" if len(line_numbers) == 1 else "lines"
    return f"{os.fspath(path)}: {label} {shown}{more}: {what}"


def read_lines(path: str | os.PathLike) -> list[str]:
    """Non-empty stripped lines of a text file (sequence lists, list.txt)."""
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def _parse_boxes_fast(text: str, num_lines: int, num_columns: int) -> np.ndarray | None:
    first_line = text.split("\n", 1)[0]
    if "\n\n" in text or "\n\r\n" in text or ";" in text:
        return None
    sep = "," if "," in first_line else r"\s+"
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, sep=sep, dtype=np.float64, engine="c",
                            skip_blank_lines=False)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    boxes = frame.to_numpy(dtype=np.float64)
    if boxes.shape != (num_lines, num_columns):
        return None
    nan = np.isnan(boxes)
    if (nan.any(axis=1) & ~nan.all(axis=1)).any():  # a short row padded with NaN by the parser
        return None
    return boxes


def _parse_boxes_slow(text: str, path: str | os.PathLike, num_columns: int) -> tuple[np.ndarray, list[str]]:
    lines = text.split("\n")
    boxes = np.full((len(lines), num_columns), np.nan)
    bad: list[int] = []
    for index, line in enumerate(lines):
        tokens = [t for t in _SPLIT.split(line.strip()) if t]
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            values = []
        if len(values) != num_columns:
            bad.append(index + 1)
            continue
        boxes[index] = values
    problems = []
    if bad:
        problems.append(_describe_lines(path, bad, f"unreadable annotation (expected {num_columns} numbers); "
                                                   "frame marked invalid"))
    return boxes, problems


def read_boxes(path: str | os.PathLike, num_columns: int = 4) -> tuple[np.ndarray, list[str]]:
    """Boxes ``[N, 4]`` float64 (``NaN`` for unreadable rows) and the problems found (strings naming file and lines).

    Trailing blank lines are ignored; any other blank line is a bad (invalid) frame.
    Raises ``FileNotFoundError``/``OSError`` if the file cannot be opened.
    """
    text = Path(path).read_text(errors="replace").replace("\r\n", "\n").rstrip()
    if not text:
        return np.zeros((0, num_columns)), []
    num_lines = text.count("\n") + 1
    boxes = _parse_boxes_fast(text, num_lines, num_columns)
    problems: list[str] = []
    if boxes is None:
        boxes, problems = _parse_boxes_slow(text, path, num_columns)
    if num_columns == 4:
        finite = np.isfinite(boxes).all(axis=1)
        absent_marker = (boxes == 0).all(axis=1)
        non_positive = finite & ~absent_marker & ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
        if non_positive.any():
            lines = (np.flatnonzero(non_positive) + 1).tolist()
            problems.append(_describe_lines(path, lines, "box with width or height <= 0; frame marked invalid"))
    return boxes, problems


def read_flags(path: str | os.PathLike, num_frames: int) -> tuple[np.ndarray, list[str]]:
    """Per-frame numeric flags as float64 ``[num_frames]`` (``NaN`` where unknown) and problems.

    Accepts both layouts: one line of comma-separated values (LaSOT ``full_occlusion.txt``) and one
    value per line (GOT-10k ``absence.label``, ``cover.label``). Unreadable entries become ``NaN``;
    a file with fewer entries than frames leaves the rest ``NaN`` (callers treat ``NaN`` as not visible).
    """
    text = Path(path).read_text(errors="replace").replace("\r\n", "\n").strip()
    problems: list[str] = []
    tokens = [t for t in _SPLIT.split(text) if t]
    try:
        values = np.asarray(tokens, dtype=np.float64)
    except ValueError:
        values = np.full(len(tokens), np.nan)
        bad_lines: list[int] = []
        for line_number, line in enumerate(text.split("\n"), start=1):
            for token in (t for t in _SPLIT.split(line.strip()) if t):
                try:
                    float(token)
                except ValueError:
                    bad_lines.append(line_number)
                    break
        for i, token in enumerate(tokens):
            try:
                values[i] = float(token)
            except ValueError:
                pass
        problems.append(_describe_lines(path, bad_lines, "unreadable flag value; frame treated as not visible"))
    if len(values) != num_frames:
        problems.append(f"{os.fspath(path)}: {len(values)} values for {num_frames} frames (groundtruth rows); "
                        "frames without a value treated as not visible")
        flags = np.full(num_frames, np.nan)
        n = min(num_frames, len(values))
        flags[:n] = values[:n]
        values = flags
    return values, problems


def read_meta_info(path: str | os.PathLike) -> dict[str, str]:
    """Key/value pairs of a GOT-10k ``meta_info.ini`` (``key: value`` lines, section headers skipped)."""
    info: dict[str, str] = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("[", "#", ";")):
            continue
        for sep in (":", "="):
            if sep in line:
                key, value = line.split(sep, 1)
                info[key.strip()] = value.strip()
                break
    return info
