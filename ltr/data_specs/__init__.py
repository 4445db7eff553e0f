"""Sequence lists and split files that ship with the package (copied from the benchmark protocol data).

- ``lasot_train_sequences.txt`` / ``lasot_test_sequences.txt``: LaSOT protocol II (1120 / 280 names).
- ``got10k_vot_train_split.txt`` / ``got10k_vot_val_split.txt``: 0-based indices into GOT-10k ``train/list.txt``.
- ``got10k_vot_exclude.txt``: the 1000 GOT-10k train names VOT prohibits (see the shared data README's doubts).
"""
from __future__ import annotations

from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent


def spec_path(file_name: str) -> Path:
    """Path of a shipped list; ``ValueError`` naming it if it is not there."""
    path = SPECS_DIR / file_name
    if not path.is_file():
        raise ValueError(f"file_name: no data spec {file_name!r} in {SPECS_DIR}")
    return path
