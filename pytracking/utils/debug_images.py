"""``DebugImageWriter``: a tracker's debug views written as PNG files (``run_video --save_debug``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from pytracking.utils import visualization


class DebugImageWriter:
    """Writes a tracker's debug views (``visualization.debug_views``) as PNG files
    ``<directory>/<debug key>/<frame>.png``, the frame counted from 0 at the initial frame (which has no
    debug output, so the files start at 1). Use as ``track_video``'s ``show_debug``, which is called once per
    frame, the initial one included; needs no display."""

    def __init__(self, directory: Path, view_size: int = 240):
        self.directory = Path(directory)
        self.view_size = int(view_size)
        self.frame = -1   # the first call is the initial frame, number 0
        self.written = 0

    def __call__(self, frame_rgb: np.ndarray, output: Mapping[str, Any]) -> None:
        self.frame += 1
        views = visualization.debug_views(frame_rgb, output.get("debug"), size=self.view_size)
        for key, image in views.items():
            folder = self.directory / key.replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.frame:06d}.png"
            if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
                raise OSError(f"cannot write {path}")
            self.written += 1
