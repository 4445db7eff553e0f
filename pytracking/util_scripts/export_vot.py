"""Write one of our datasets in the VOT sequence format (the VOT toolkit's own loader reads it).

    python -m pytracking.util_scripts.export_vot --dataset_name <name> [--dataset_path P] \\
        [--sequence S ...] --out DIR

Layout written (``DIR`` is a VOT workspace's ``sequences`` folder)::

    DIR/list.txt                      one sequence name per line
    DIR/<seq>/sequence                channels.color=color/%08d.jpg, format=default, fps=30, name=<seq>,
                                      width, height, length
    DIR/<seq>/groundtruth.txt         one ``x,y,w,h`` rectangle per frame; a frame without a box
                                      (target absent, withheld annotation) is the VOT special region ``0``
    DIR/<seq>/color/00000001.jpg ...  the frames, numbered from 1

JPEG frames are copied byte for byte; frames in other formats are encoded as JPEG (quality 95).
Sequence names are kept, with characters other than letters, digits, ``-``, ``_`` and ``.`` replaced
by ``_`` (VOT uses them as folder and file names).
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Sequence as TypingSequence

import cv2
import numpy as np
from tqdm import tqdm

from pytracking.evaluation.sequence import Sequence

JPEG_QUALITY = 95
FRAME_PATTERN = "%08d.jpg"


def vot_sequence_name(name: str) -> str:
    """A folder-safe sequence name: characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def format_region(box: np.ndarray) -> str:
    """``x,y,w,h`` for a valid box; ``0`` (VOT's special code: no region) for a NaN or empty one."""
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        return "0"
    return ",".join(f"{float(v):.4f}".rstrip("0").rstrip(".") for v in box)


def write_frame(source: str, target: Path) -> tuple[int, int]:
    """Copy a JPEG frame (or encode another format as JPEG) to ``target``; returns ``(width, height)``.
    ``ValueError`` names a frame that cannot be read."""
    if Path(source).suffix.lower() in (".jpg", ".jpeg"):
        shutil.copyfile(source, target)
        image = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise ValueError(f"cannot read frame {source}")
        return image.shape[1], image.shape[0]
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read frame {source}")
    if not cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise ValueError(f"cannot write frame {target}")
    return image.shape[1], image.shape[0]


def export_sequence(seq: Sequence, out: Path, fps: int = 30) -> str:
    """Write ``seq`` as ``out/<name>/``; returns the VOT sequence name."""
    name = vot_sequence_name(seq.name)
    folder = out / name
    color = folder / "color"
    color.mkdir(parents=True, exist_ok=True)
    size = None
    for index, frame in enumerate(seq.frames, start=1):
        frame_size = write_frame(frame, color / (FRAME_PATTERN % index))
        size = size or frame_size
    rows = [format_region(box) for box in seq.ground_truth_rect]
    (folder / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    width, height = size
    metadata = {"channels.color": f"color/{FRAME_PATTERN}", "format": "default", "fps": str(fps), "name": name,
                "width": str(width), "height": str(height), "length": str(len(seq.frames))}
    (folder / "sequence").write_text("".join(f"{k}={v}\n" for k, v in metadata.items()))
    return name


def export_vot(sequences: TypingSequence[Sequence], out: Path, progress: bool = True) -> list[str]:
    """Write ``sequences`` under ``out`` in the VOT format with ``out/list.txt``; returns the names."""
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for seq in tqdm(sequences, desc="export_vot", unit="seq", disable=not progress, file=sys.stderr):
        name = export_sequence(seq, out)
        if name in names:
            raise ValueError(f"two sequences map to the VOT name {name!r} (from {seq.name!r})")
        names.append(name)
    (out / "list.txt").write_text("".join(f"{n}\n" for n in names))
    return names


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("pytracking.util_scripts.export_vot", __doc__)
    parser.add_argument("--dataset_name", required=True, help="dataset name (see pytracking.evaluation.datasets)")
    parser.add_argument("--dataset_path", default=None, help="dataset root (default: from local_settings.toml)")
    parser.add_argument("--sequence", nargs="+", default=None, help="only these sequences (names)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (a VOT workspace's sequences/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pytracking.evaluation.datasets import get_dataset
    try:
        sequences = get_dataset(args.dataset_name, args.dataset_path, sequences=args.sequence)
    except (ValueError, KeyError, FileNotFoundError) as err:
        parser.error(str(err))
    try:
        names = export_vot(sequences, args.out)
    except ValueError as err:
        print(f"export_vot: error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(names)} sequences to {args.out} (list.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
