"""OpenCV windows of the live runs: ``OpenCVWindow`` (the main window: frames, key codes, the mouse-drawn
initial box) and ``DebugWindows`` (a tracker's debug views, one window per debug key).

Create them only after ``pytracking.utils.display.display_unavailable_reason()`` returned None: OpenCV
aborts the process on a window without a display. Frames are RGB; OpenCV shows BGR.
"""
from __future__ import annotations

from typing import Any, Mapping

import cv2
import numpy as np

from pytracking.utils import visualization


class OpenCVWindow:
    """An OpenCV window showing RGB frames; only create it after ``display_unavailable_reason()``
    returned None (OpenCV aborts the process on a window without a display)."""

    def __init__(self, title: str, delay_ms: int = 1):
        self.title = title
        self.delay_ms = max(int(delay_ms), 1)
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, frame_rgb: np.ndarray) -> int:
        cv2.imshow(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        return cv2.waitKey(self.delay_ms)

    def select_box(self, frame_rgb: np.ndarray) -> list[float] | None:
        """Let the user drag the initial box (Enter/Space confirms, ``c`` cancels)."""
        x, y, w, h = cv2.selectROI(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR),
                                   showCrosshair=True, fromCenter=False)
        return [float(x), float(y), float(w), float(h)] if w > 0 and h > 0 else None

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)


class DebugWindows:
    """OpenCV windows showing a tracker's debug views (``visualization.debug_views``), one window
    per debug key, titled ``"<prefix> debug: <key>"``, created when a key first appears and placed
    in a column starting at ``anchor`` (screen pixels, top-left corner; e.g. right of the main
    window). Only create it after ``display_unavailable_reason()`` returned None. Drawing happens
    in ``visualization``; this class only shows images (the main window's ``waitKey`` refreshes
    them)."""

    def __init__(self, prefix: str, anchor: tuple[int, int] = (0, 0), view_size: int = 240):
        self.prefix = prefix
        self.anchor = (int(anchor[0]), int(anchor[1]))
        self.view_size = int(view_size)
        self.titles: dict[str, str] = {}
        self._last: dict[str, np.ndarray] = {}
        self._stale: set[str] = set()
        self._next_y = self.anchor[1]

    def show(self, views: Mapping[str, np.ndarray]) -> None:
        """Show each RGB view in its window; a window whose key is not in ``views`` shows its last
        view dimmed (``visualization.stale_view``), so an old refinement is not taken for this
        frame's."""
        for key in self.titles.keys() - views.keys():
            if key not in self._stale:
                self._stale.add(key)
                stale = visualization.stale_view(self._last[key])
                cv2.imshow(self.titles[key], cv2.cvtColor(stale, cv2.COLOR_RGB2BGR))
        for key, image in views.items():
            self._last[key] = image
            self._stale.discard(key)
            title = self.titles.get(key)
            if title is None:
                title = self.titles[key] = f"{self.prefix} debug: {key}"
                cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
                cv2.moveWindow(title, self.anchor[0], self._next_y)
                self._next_y += image.shape[0] + 40  # room for the title bar
            cv2.imshow(title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def show_output(self, frame_rgb: np.ndarray, output: Mapping[str, Any]) -> None:
        """Draw and show the debug views of one tracker ``output``; an output without ``"debug"``
        (an initial frame) changes nothing."""
        if output.get("debug"):
            self.show(visualization.debug_views(frame_rgb, output.get("debug"), size=self.view_size))

    def close(self) -> None:
        for title in self.titles.values():
            cv2.destroyWindow(title)
        self.titles.clear()
        self._last.clear()
        self._stale.clear()
        cv2.waitKey(1)
