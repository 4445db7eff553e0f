"""The per-frame loop of a live run: initialise on the first frame of a ``FrameSource``, track through the
rest, draw, hand each frame to the display / writer / debug sinks. ``run_video`` is its CLI.

Result files of a video run: ``<directory>/<stem>.txt`` (``x,y,w,h`` rows, the first the initial box) and
``<stem>_time.txt``, by default under ``<results>/videos/<tracker>/<param>``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from ltr.admin.local_settings import REPO_ROOT, SettingsError, load_settings
from pytracking.evaluation.results_io import write_boxes, write_times
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils import visualization
from pytracking.utils.video_source import FrameSource, VideoSourceError, VideoWriter

QUIT_KEYS = (ord("q"), 27)  # q, Esc


class FpsMeter:
    """Exponentially smoothed rate: ``fps <- (1 - a) * fps + a / seconds`` (first value: ``1 / seconds``)."""

    def __init__(self, smoothing: float = 0.1):
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        self.smoothing = smoothing
        self.fps: float | None = None

    def update(self, seconds: float) -> float:
        rate = 1.0 / max(float(seconds), 1e-6)
        self.fps = rate if self.fps is None else (1.0 - self.smoothing) * self.fps + self.smoothing * rate
        return self.fps


@dataclass
class VideoRunResult:
    boxes: np.ndarray                       # [N, 4] x, y, w, h per frame (row 0 = initial box)
    times: np.ndarray                       # [N] seconds of initialize/track per frame
    flags: list[str] = field(default_factory=list)
    stopped_by_user: bool = False


def track_video(source: FrameSource, make_tracker: Callable[[], BaseTracker], init_box: Sequence[float],
                first_frame: np.ndarray | None = None, show: Callable[[np.ndarray], int] | None = None,
                writer: VideoWriter | None = None, panels: Any | None = None,
                max_frames: int | None = None, progress: bool = True,
                show_debug: Callable[[np.ndarray, Mapping[str, Any]], None] | None = None) -> VideoRunResult:
    """Initialise on the first frame (``first_frame`` if already read, else the source's next) and
    track through the rest. ``show(frame_rgb) -> key code`` displays each annotated frame (a quit
    key stops); ``writer`` receives the annotated frames; ``panels`` (``VisdomPanels``) gets each
    tracker output; ``show_debug(frame_rgb, output)`` (e.g. ``DebugWindows.show_output``) gets each
    raw frame with its tracker output just before ``show``. ``max_frames`` caps the frame count,
    initial frame included."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    frame = first_frame if first_frame is not None else source.read()
    if frame is None:
        raise VideoSourceError(f"{source.name}: no frames")
    tracker = make_tracker()
    out = tracker.initialize(frame, {"init_bbox": list(init_box)})
    boxes, times, flags = [list(init_box)], [float(out.get("time", 0.0))], [str(out.get("flag", "normal"))]
    meter = FpsMeter()
    total = source.frame_count or None
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    stopped = False
    with tqdm(total=total, desc="tracking", unit="frame", disable=not progress, file=sys.stderr) as bar:
        bar.update(1)
        frame_num = 1
        while True:
            annotated = visualization.draw_tracking_frame(frame, [boxes[-1]], [flags[-1]], fps=meter.fps)
            if writer is not None:
                writer.write(annotated)
            if panels is not None:
                panels.update(frame, out, frame_num=frame_num, fps=meter.fps)
                panels.wait_if_paused()
            if show_debug is not None:
                show_debug(frame, out)
            if show is not None and (show(annotated) & 0xFF) in QUIT_KEYS:
                stopped = True
                break
            if max_frames is not None and frame_num >= max_frames:
                break
            frame = source.read()
            if frame is None:
                break
            frame_num += 1
            out = tracker.track(frame)
            box = np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)
            if box.size != 4:
                raise ValueError(f"tracker returned target_bbox with {box.size} values at frame {frame_num}")
            boxes.append(box.tolist())
            times.append(float(out.get("time", 0.0)))
            flags.append(str(out.get("flag", "normal")))
            meter.update(times[-1])
            bar.update(1)
    return VideoRunResult(np.asarray(boxes, dtype=np.float64), np.asarray(times), flags, stopped)


def write_results(directory: Path, stem: str, result: VideoRunResult) -> Path:
    """``<directory>/<stem>.txt`` (x,y,w,h rows) and ``<stem>_time.txt``; returns the box file."""
    directory.mkdir(parents=True, exist_ok=True)
    box_file = directory / f"{stem}.txt"
    write_boxes(box_file, result.boxes)
    write_times(directory / f"{stem}_time.txt", result.times)
    return box_file


def default_results_dir(tracker: str, param: str) -> Path:
    """``<results>/videos/<tracker>/<param>`` (results root from the local settings)."""
    try:
        root = Path(load_settings().results)
    except (SettingsError, OSError):
        root = REPO_ROOT / "results"
    return root / "videos" / tracker.replace(":", "_").replace("/", "_") / param
