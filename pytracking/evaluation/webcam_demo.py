"""The live multi-target demo of ``run_webcam``: ``WebcamDemo``, the state machine (mouse drags, keys, targets,
tracking, drawing) that never touches a window, so tests drive it directly; ``run_in_window``, which connects it
to an OpenCV window and a frame source; ``save_targets``, the per-target result files.

Several targets are tracked at once, one tracker instance each (``make_tracker()`` per new target). The
*debug target*, whose debug output the panels show, is the most recently started target or the one
picked with the number keys ``0``..``9``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from pytracking.evaluation.results_io import atomic_write_text, format_number
from pytracking.evaluation.video_tracking import FpsMeter
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils import visualization
from pytracking.utils.opencv_windows import DebugWindows
from pytracking.utils.video_source import FrameSource

WINDOW_TITLE = "pytracking webcam demo"
MIN_BOX_SIZE = 4.0  # drags smaller than this (pixels, either side) are treated as clicks


@dataclass
class Target:
    """One tracked target: its tracker, latest box and flag, its history ``(frame, box)`` and the
    tracker's latest output (``initialize``'s or ``track``'s dict, with ``"debug"`` when
    ``params.debug > 0``)."""

    index: int
    tracker: BaseTracker
    box: list[float]
    flag: str = "normal"
    history: list[tuple[int, list[float]]] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)


class WebcamDemo:
    """State machine of the demo, independent of any window.

    Mouse: ``on_mouse("down"|"move"|"up", x, y)`` in frame pixels; a drag from down to up with
    both sides >= ``MIN_BOX_SIZE`` becomes a new target. Keys: ``on_key("r")`` removes every
    target, ``on_key("q")`` (or Esc) sets ``quit``. ``process(frame)`` initialises the new targets
    on the frame the user drew on (the previous one shown) and tracks all targets into ``frame``;
    ``render(frame)`` draws the boxes, the box being dragged and the fps. ``on_new_target`` is
    called with each target once it is initialised (the CLI prints a line per target).

    ``debug_target`` is the target whose debug output the panels show: the one picked with a
    number key ``"0"``..``"9"`` (``on_key``; a key without such a live target is ignored), else the
    most recently started live target; starting a new target drops the pick. With
    ``mark_debug_target`` its label reads ``#k debug`` and the hint names the number keys.
    """

    def __init__(self, make_tracker: Callable[[], BaseTracker],
                 on_new_target: Callable[[Target], None] | None = None, mark_debug_target: bool = False):
        self.make_tracker = make_tracker
        self.on_new_target = on_new_target
        self.mark_debug_target = mark_debug_target
        self.selected_index: int | None = None
        self.targets: list[Target] = []
        self.finished_targets: list[Target] = []  # removed with 'r', kept for saving
        self.pending_boxes: list[list[float]] = []
        self.drag_start: tuple[float, float] | None = None
        self.drag_end: tuple[float, float] | None = None
        self.quit = False
        self.frame_index = -1
        self.fps = FpsMeter()
        self._shown_frame: np.ndarray | None = None
        self._next_index = 0

    # --- input -----------------------------------------------------------------------
    def on_mouse(self, event: str, x: float, y: float) -> None:
        if event == "down":
            self.drag_start = self.drag_end = (float(x), float(y))
        elif event == "move" and self.drag_start is not None:
            self.drag_end = (float(x), float(y))
        elif event == "up" and self.drag_start is not None:
            (x0, y0), (x1, y1) = self.drag_start, (float(x), float(y))
            self.drag_start = self.drag_end = None
            box = [min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)]
            if box[2] >= MIN_BOX_SIZE and box[3] >= MIN_BOX_SIZE:
                self.pending_boxes.append(box)
        elif event not in ("down", "move", "up"):
            raise ValueError(f"event must be 'down', 'move' or 'up', got {event!r}")

    def on_key(self, key: str) -> None:
        if key in ("q", "\x1b"):
            self.quit = True
        elif key == "r":
            self.finished_targets.extend(self.targets)
            self.targets.clear()
            self.pending_boxes.clear()
            self.drag_start = self.drag_end = None
            self.selected_index = None
        elif len(key) == 1 and key in "0123456789":
            if any(t.index == int(key) for t in self.targets):
                self.selected_index = int(key)

    @property
    def debug_target(self) -> Target | None:
        """The picked target if it is still tracked, else the most recently started one, else None."""
        for target in self.targets:
            if target.index == self.selected_index:
                return target
        return self.targets[-1] if self.targets else None

    @property
    def drag_box(self) -> list[float] | None:
        """The box being dragged right now, ``[x, y, w, h]``, or None."""
        if self.drag_start is None or self.drag_end is None:
            return None
        (x0, y0), (x1, y1) = self.drag_start, self.drag_end
        return [min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)]

    # --- per frame ---------------------------------------------------------------------
    def process(self, frame: np.ndarray) -> None:
        """Start the pending targets, then track every target into ``frame``."""
        self.frame_index += 1
        seconds = 0.0
        tracked_any = False
        for target in self.targets:
            out = target.tracker.track(frame)
            target.box = [float(v) for v in np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)]
            target.flag = str(out.get("flag", "normal"))
            target.output = out
            target.history.append((self.frame_index, list(target.box)))
            seconds += float(out.get("time", 0.0))
            tracked_any = True
        for box in self.pending_boxes:
            # initialise on the frame the box was drawn on; without one (first frame) on this one
            init_frame = self._shown_frame if self._shown_frame is not None else frame
            tracker = self.make_tracker()
            out = tracker.initialize(init_frame, {"init_bbox": box})
            target = Target(self._next_index, tracker, list(box), output=dict(out or {}))
            self._next_index += 1
            if init_frame is not frame:
                out = tracker.track(frame)
                target.box = [float(v) for v in np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)]
                target.flag = str(out.get("flag", "normal"))
                target.output = out
            target.history.append((self.frame_index, list(target.box)))
            self.targets.append(target)
            self.selected_index = None  # the newest target becomes the debug target
            if self.on_new_target is not None:
                self.on_new_target(target)
        self.pending_boxes.clear()
        if tracked_any:
            self.fps.update(seconds)
        self._shown_frame = frame

    def render(self, frame: np.ndarray) -> np.ndarray:
        """The frame with every target's box (colour by target index), the dragged box and fps."""
        boxes: list[list[float] | None] = [None] * (max((t.index for t in self.targets), default=-1) + 1)
        flags = ["normal"] * len(boxes)
        for target in self.targets:
            boxes[target.index] = target.box
            flags[target.index] = target.flag
        labels = [f"#{i}" for i in range(len(boxes))]
        debug_target = self.debug_target if self.mark_debug_target else None
        if debug_target is not None:
            labels[debug_target.index] += " debug"
        out = visualization.draw_tracking_frame(frame, boxes, flags, fps=self.fps.fps if self.targets else None,
                                                labels=labels)
        if self.drag_box is not None and self.drag_box[2] > 0 and self.drag_box[3] > 0:
            out = visualization.draw_box(out, self.drag_box, (255, 255, 255), 1)
        hint = "drag: new target   r: reset   q: quit" + ("   0-9: debug target" if self.mark_debug_target else "")
        return visualization.draw_text(out, hint, (8, out.shape[0] - 8), (220, 220, 220), scale=0.45)

    def all_targets(self) -> list[Target]:
        return sorted(self.finished_targets + self.targets, key=lambda t: t.index)


def save_targets(directory: Path, targets: list[Target]) -> list[Path]:
    """``directory/target_<k>.txt`` per target, rows ``frame,x,y,w,h``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for target in targets:
        rows = "".join(f"{frame}," + ",".join(format_number(v) for v in box) + "\n"
                       for frame, box in target.history)
        path = directory / f"target_{target.index}.txt"
        atomic_write_text(path, rows)
        paths.append(path)
    return paths


_MOUSE_EVENTS = {cv2.EVENT_LBUTTONDOWN: "down", cv2.EVENT_MOUSEMOVE: "move", cv2.EVENT_LBUTTONUP: "up"}


def run_in_window(demo: WebcamDemo, source: FrameSource, title: str = WINDOW_TITLE,
             max_frames: int | None = None, panels: Any | None = None,
             debug_windows: DebugWindows | None = None) -> int:
    """Connect ``demo`` to an OpenCV window fed by ``source``; returns the number of frames shown.
    Call only when ``display_unavailable_reason()`` is None. Files are paced at their fps.

    After each frame the debug target's output (``demo.debug_target``) goes to ``panels``
    (``VisdomPanels``; with its ``debug >= 2`` the loop waits while paused from the browser, still
    handling the window's keys) and/or ``debug_windows`` (its debug views in OpenCV windows)."""
    cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
    if debug_windows is not None:
        cv2.moveWindow(title, 0, 0)  # the debug windows stand in a column to its right

    def on_mouse(event: int, x: int, y: int, flags: int, param: object) -> None:
        if event in _MOUSE_EVENTS:
            demo.on_mouse(_MOUSE_EVENTS[event], x, y)

    cv2.setMouseCallback(title, on_mouse)
    period = 1.0 / source.fps if (not source.is_camera and source.fps > 0) else 0.0
    shown = 0
    try:
        while not demo.quit and (max_frames is None or shown < max_frames):
            start = time.perf_counter()
            frame = source.read()
            if frame is None:
                break
            demo.process(frame)
            target = demo.debug_target
            if debug_windows is not None:
                if target is not None:
                    debug_windows.show_output(frame, target.output)
                else:
                    debug_windows.show({})  # no target left: the last views are dimmed
            cv2.imshow(title, cv2.cvtColor(demo.render(frame), cv2.COLOR_RGB2BGR))
            shown += 1
            if target is not None and panels is not None:
                panels.update(frame, target.output, frame_num=demo.frame_index,
                              fps=demo.fps.fps, title=f"Tracking: target #{target.index}")
                while not demo.quit and not panels.wait_if_paused(timeout=0.05):
                    key = cv2.waitKey(1)  # paused from the browser: keep the window responsive
                    if key != -1:
                        demo.on_key(chr(key & 0xFF))
            wait_ms = max(1, int(round((period - (time.perf_counter() - start)) * 1000)))
            key = cv2.waitKey(wait_ms)
            if key != -1:
                demo.on_key(chr(key & 0xFF))
    finally:
        cv2.destroyWindow(title)
        cv2.waitKey(1)
    return shown
