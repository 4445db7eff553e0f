"""Is there a screen for OpenCV windows? Checked before any ``cv2`` window call.

OpenCV's GUI build (Qt5 with the xcb platform plugin in ``opencv-contrib-python``) aborts the
whole process, uncatchably, when a window opens without a display. So, before the first window:

1. ``DISPLAY`` must be set: the Qt/xcb backend needs an X server (a Wayland session provides one
   through XWayland; ``WAYLAND_DISPLAY`` alone is not enough for this build).
2. The X server must answer: a subprocess opens and closes the display with libX11's
   ``XOpenDisplay`` (``xdpyinfo`` is not always installed). A subprocess, so that a hanging or
   crashing probe cannot take this process with it.
3. OpenCV must have been built with a GUI backend at all (``cv2.getBuildInformation()``).

On macOS and Windows there is always a window system; only (3) is checked there.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys

_X_PROBE = r"""
import ctypes, ctypes.util, os, sys
name = ctypes.util.find_library("X11")
if name is None:
    sys.exit(3)
x11 = ctypes.CDLL(name)
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
handle = x11.XOpenDisplay(os.environ["DISPLAY"].encode())
if not handle:
    sys.exit(1)
x11.XCloseDisplay(handle)
sys.exit(0)
"""


def _probe_x_display(display: str, timeout: float) -> str | None:
    """Return None if the X display answers, else the reason it does not."""
    env = {**os.environ, "DISPLAY": display}
    try:
        proc = subprocess.run([sys.executable, "-c", _X_PROBE], env=env, timeout=timeout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return f"the X display {display!r} does not answer (probe timed out after {timeout:g} s)"
    if proc.returncode == 0:
        return None
    if proc.returncode == 3:
        # no libX11 to ask with: fall back to the xdpyinfo tool if present
        try:
            proc = subprocess.run(["xdpyinfo"], env=env, timeout=timeout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        except FileNotFoundError:
            return f"cannot check the X display {display!r}: neither libX11 nor xdpyinfo is installed"
        except subprocess.TimeoutExpired:
            return f"the X display {display!r} does not answer (xdpyinfo timed out)"
        return None if proc.returncode == 0 else f"the X display {display!r} does not answer"
    return f"the X display {display!r} does not answer"


@functools.lru_cache(maxsize=1)
def _opencv_gui_backend() -> str | None:
    """The GUI backend OpenCV was built with ('QT5', 'GTK3', ...) or None for a headless build."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(":")
        if key == "GUI":
            value = value.strip()
            return None if value in ("", "NONE") else value
    return None


def display_unavailable_reason(timeout: float = 5.0) -> str | None:
    """None when OpenCV windows can open here; otherwise a one-line reason they cannot."""
    if _opencv_gui_backend() is None:
        return "OpenCV was built without GUI support (opencv-python-headless?)"
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY"):
            return ("only WAYLAND_DISPLAY is set: OpenCV's Qt/xcb windows need an X display "
                    "(XWayland); set DISPLAY")
        return "DISPLAY is not set"
    return _probe_x_display(display, timeout)


def display_available(timeout: float = 5.0) -> bool:
    """True when an OpenCV window can be opened without aborting the process."""
    return display_unavailable_reason(timeout) is None
