"""Writing one rendered sequence in the LaSOT layout (the offline benchmarks' common output format).

``<seq_dir>/img/00000001.jpg ...`` (RGB frames encoded as JPEG), ``groundtruth.txt`` (``x,y,w,h`` rows, 4
decimals), ``full_occlusion.txt`` and ``out_of_view.txt`` (one line of comma-separated 0/1), ``nlp.txt`` (one line).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

__all__ = ["flags_line", "write_lasot_sequence"]


def flags_line(values: np.ndarray) -> str:
    """``1,0,0,...`` plus a newline: the LaSOT flag-file format."""
    return ",".join("1" if v else "0" for v in values) + "\n"


def write_lasot_sequence(seq_dir: str | Path, frames: Iterable[np.ndarray], boxes: np.ndarray,
                         full_occlusion: np.ndarray, out_of_view: np.ndarray, description: str,
                         jpeg_quality: int = 90) -> str:
    """Write the frames (RGB uint8) and annotations of one sequence to ``seq_dir``; returns the sha256 of the JPEG
    bytes then the four text files, in that order (the content hash a manifest records)."""
    seq_dir = Path(seq_dir)
    (seq_dir / "img").mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    count = 0
    for t, frame in enumerate(frames):
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(frame[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {seq_dir.name} frame {t}")
        data = buf.tobytes()
        digest.update(data)
        (seq_dir / "img" / f"{t + 1:08d}.jpg").write_bytes(data)
        count += 1
    if not len(boxes) == len(full_occlusion) == len(out_of_view) == count:
        raise ValueError(f"{seq_dir.name}: {count} frames but {len(boxes)} boxes, {len(full_occlusion)} occlusion "
                         f"and {len(out_of_view)} out-of-view flags")
    texts = {"groundtruth.txt": "".join(",".join(f"{v:.4f}" for v in box) + "\n" for box in boxes),
             "full_occlusion.txt": flags_line(full_occlusion), "out_of_view.txt": flags_line(out_of_view),
             "nlp.txt": description + "\n"}
    for fname, text in texts.items():
        digest.update(text.encode())
        (seq_dir / fname).write_text(text)
    return digest.hexdigest()
