"""The real VOT toolkit (vot-toolkit 0.9, vot-trax 4.0) driving ``python -m pytracking.run_vot`` over TraX.

A local workspace (no download, no update check: ``pytracking.integrations.vot_cli``) is built from
two short generated sequences exported by ``export_vot``; its stack has one ``unsupervised``
experiment with one repetition and the toolkit's ``average_accuracy`` analysis.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

pytest.importorskip("trax", reason="vot-trax is not installed (pip install -e .[vot])")
pytest.importorskip("vot.workspace", reason="vot-toolkit is not installed (pip install -e .[vot])")

from client_sequences import write_folder_dataset  # noqa: E402
from pytracking.analysis.metrics import iou_xywh  # noqa: E402
from pytracking.util_scripts import export_vot  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
NUM_FRAMES = 12
VOT_TIMEOUT_S = 420  # a bound on every toolkit command: a hang fails the test instead of blocking the suite

RAISING_TRACKER = '''
from pytracking.tracker.base.basetracker import BaseTracker


class RaisesOnThirdFrame(BaseTracker):
    """Returns the initial box, then raises on the third frame (frame_num 3)."""

    def _initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def _track(self, image, info):
        if self.frame_num == 3:
            raise RuntimeError("deliberate failure on the third frame")
        return {"target_bbox": self.box}
'''

NOISY_TRACKER = '''
from pytracking.tracker.base.basetracker import BaseTracker


class PrintsToStdout(BaseTracker):
    """Prints to stdout every call (the server must keep it off the protocol) and moves its box 1 px right."""

    def _initialize(self, image, info):
        print("noise from _initialize", flush=True)
        self.box = list(info["init_bbox"])

    def _track(self, image, info):
        print("noise from _track", flush=True)
        self.box[0] += 1.0
        return {"target_bbox": list(self.box)}
'''

STACK = """title: ebmtrack client test stack
experiments:
  baseline:
    type: unsupervised
    repetitions: 1
    analyses:
      - type: average_accuracy
        name: accuracy
        burnin: 0
"""


def tracker_entry(identifier: str, arguments: str) -> str:
    command = f"{sys.executable} -m pytracking.run_vot {arguments}"
    return f"[{identifier}]\nlabel = {identifier}\nprotocol = trax\ncommand = {command}\ntimeout = 120\n\n"


class Workspace(NamedTuple):
    path: Path
    truth: dict[str, np.ndarray]  # true boxes per sequence


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """A VOT workspace: sequences exported from the folder layout, trackers.ini, stack, config."""
    base = tmp_path_factory.mktemp("vot")
    truth = write_folder_dataset(base / "source", num_frames=NUM_FRAMES)
    ws = base / "workspace"
    out = subprocess.run([sys.executable, "-m", "pytracking.util_scripts.export_vot", "--dataset_name", "folder",
                          "--dataset_path", str(base / "source"), "--out", str(ws / "sequences")],
                         capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=vot_env(base))
    assert out.returncode == 0, out.stderr
    (ws / "stack.yaml").write_text(STACK)
    (ws / "config.yaml").write_text("registry:\n  - ./trackers.ini\nstack: ./stack.yaml\n")
    (ws / "trackers.ini").write_text(tracker_entry("atom_ebm", "atom default --device cpu")
                                     + tracker_entry("atom_fast", "atom fast --device cpu")
                                     + tracker_entry("raising", "raising_tracker:RaisesOnThirdFrame x")
                                     + tracker_entry("noisy", "noisy_tracker:PrintsToStdout x"))
    (base / "raising_tracker.py").write_text(RAISING_TRACKER)
    (base / "noisy_tracker.py").write_text(NOISY_TRACKER)
    return Workspace(ws, truth)


def vot_env(base: Path) -> dict[str, str]:
    """The toolkit's environment: our sources and the test's raising tracker on PYTHONPATH, one torch thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(base), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def run_vot(workspace: Workspace, *args: str) -> subprocess.CompletedProcess:
    """``vot <args>`` through our offline entry point (no update check), bounded by VOT_TIMEOUT_S."""
    return subprocess.run([sys.executable, "-m", "pytracking.integrations.vot_cli", *args],
                          capture_output=True, text=True, timeout=VOT_TIMEOUT_S, cwd=workspace.path,
                          env=vot_env(workspace.path.parent))


def test_export_is_read_by_the_toolkits_loader(workspace):
    from vot.dataset import load_dataset
    assert (workspace.path / "sequences" / "list.txt").read_text().split() == ["easy", "wide"]
    dataset = load_dataset(str(workspace.path / "sequences"))
    assert sorted(s.name for s in dataset) == ["easy", "wide"]
    for name in ("easy", "wide"):
        seq = dataset[name]
        assert len(seq) == NUM_FRAMES
        assert seq.frame(0).filename().endswith("color/00000001.jpg")
        gt = np.array([_xywh(seq.groundtruth(i)) for i in range(len(seq))])
        np.testing.assert_allclose(gt, workspace.truth[name], atol=1e-6)


def _xywh(region) -> list[float]:
    return [region.x, region.y, region.width, region.height]


def test_evaluate_and_analysis(workspace):
    out = run_vot(workspace, "evaluate", "--workspace", str(workspace.path), "atom_ebm")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "interrupted by tracker error" not in out.stderr + out.stdout

    from vot.region.io import read_trajectory
    overlaps = {}
    for name in ("easy", "wide"):
        files = list((workspace.path / "results" / "atom_ebm" / "baseline" / name).glob(f"{name}_001.*"))
        assert files, f"no result file for {name}: {list((workspace.path / 'results').rglob('*'))}"
        trajectory = read_trajectory(str(files[0]))
        assert len(trajectory) == NUM_FRAMES  # one region per frame, the first the init marker
        boxes = np.array([_xywh(r) for r in trajectory[1:]])
        overlaps[name] = float(np.mean(iou_xywh(boxes, workspace.truth[name][1:])))
    assert overlaps["easy"] > 0.5, overlaps

    out = run_vot(workspace, "analysis", "--workspace", str(workspace.path), "--name", "clients", "atom_ebm")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((workspace.path / "analysis" / "clients.json").read_text())
    text = json.dumps(report)
    assert "atom_ebm" in text and "accuracy" in text.lower(), text[:2000]


def test_tracker_error_is_reported_not_hung(workspace):
    out = run_vot(workspace, "evaluate", "--workspace", str(workspace.path), "raising")
    log = out.stdout + out.stderr
    assert "interrupted by tracker error" in log, log[-3000:]
    assert "deliberate failure on the third frame" in log, log[-3000:]


def test_vot_test_passes(workspace):
    out = run_vot(workspace, "test", "atom_fast")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    # the toolkit logs a tracker failure and still exits 0: its success line is the verdict
    assert "Error during tracker execution" not in log, log[-3000:]
    assert "Test concluded successfuly" in log, log[-3000:]


def toolkit_runtime(workspace: Workspace, identifier: str, monkeypatch):
    """The toolkit's own TraX runtime for a trackers.ini entry (log kept for the exception)."""
    from vot.tracker import Registry
    for key, value in vot_env(workspace.path.parent).items():
        monkeypatch.setenv(key, value)
    return Registry([str(workspace.path / "trackers.ini")])[identifier].runtime(log=False)


def test_several_objects_in_one_session(workspace, monkeypatch, tmp_path):
    from vot.dataset import load_sequence
    from vot.region import Rectangle
    from vot.tracker import ObjectStatus

    sequence = load_sequence(str(workspace.path / "sequences" / "wide"))
    runtime = toolkit_runtime(workspace, "noisy", monkeypatch)
    assert runtime.multiobject
    first = [ObjectStatus(Rectangle(10, 12, 20, 16), {}), ObjectStatus(Rectangle(40, 30, 8, 9), {})]
    try:
        state, _ = runtime.initialize(sequence.frame(0), first)
        assert [_xywh(s.region) for s in state] == [[10, 12, 20, 16], [40, 30, 8, 9]]
        state, _ = runtime.update(sequence.frame(1), [])
        assert [_xywh(s.region) for s in state] == [[11, 12, 20, 16], [41, 30, 8, 9]]
        state, _ = runtime.update(sequence.frame(2), [ObjectStatus(Rectangle(70, 50, 6, 5), {})])  # a new object
        assert [_xywh(s.region) for s in state] == [[12, 12, 20, 16], [42, 30, 8, 9], [70, 50, 6, 5]]
        state, _ = runtime.update(sequence.frame(3), [])
        assert [_xywh(s.region) for s in state] == [[13, 12, 20, 16], [43, 30, 8, 9], [71, 50, 6, 5]]
    finally:
        runtime.stop()


def test_unreadable_frame_is_named_on_stderr(workspace, monkeypatch, tmp_path):
    import shutil
    from vot.dataset import load_sequence
    from vot.tracker import ObjectStatus, TrackerException

    copy = tmp_path / "wide"
    shutil.copytree(workspace.path / "sequences" / "wide", copy)
    broken = copy / "color" / "00000003.jpg"
    broken.write_bytes(b"not a jpeg")
    sequence = load_sequence(str(copy))
    runtime = toolkit_runtime(workspace, "noisy", monkeypatch)
    try:
        runtime.initialize(sequence.frame(0), [ObjectStatus(sequence.groundtruth(0), {})])
        runtime.update(sequence.frame(1), [])
        with pytest.raises(TrackerException) as failure:
            runtime.update(sequence.frame(2), [])
    finally:
        runtime.stop()
    assert str(broken) in failure.value.log, failure.value.log[-2000:]


def test_stdout_carries_only_the_protocol(workspace, tmp_path):
    """The server's stdout, recorded on its way to a real trax.Client: TraX messages only; prints go to stderr."""
    import threading

    import trax
    from trax.client import Client

    frames = sorted((workspace.path / "sequences" / "easy" / "color").glob("*.jpg"))
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr:
        server = subprocess.Popen([sys.executable, "-m", "pytracking.run_vot", "noisy_tracker:PrintsToStdout", "x"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                  env=vot_env(workspace.path.parent), cwd=REPO_ROOT)
        read_fd, write_fd = os.pipe()
        recorded = bytearray()

        def forward() -> None:  # server stdout -> record -> client
            while chunk := os.read(server.stdout.fileno(), 4096):
                recorded.extend(chunk)
                os.write(write_fd, chunk)
            os.close(write_fd)

        forwarder = threading.Thread(target=forward, daemon=True)
        forwarder.start()
        try:
            client = Client(stream=(server.stdin.fileno(), read_fd), timeout=60, log=lambda message: None)
            objects, _ = client.initialize({"color": trax.FileImage.create(str(frames[0]))},
                                           [(trax.Rectangle.create(10, 12, 20, 16), {})], {})
            assert list(objects[0][0].bounds()) == [10, 12, 20, 16]
            objects, _ = client.frame({"color": trax.FileImage.create(str(frames[1]))}, {}, [])
            assert list(objects[0][0].bounds()) == [11, 12, 20, 16]
            client.quit()
            assert server.wait(timeout=60) == 0
        finally:
            if server.poll() is None:
                server.kill()
        forwarder.join(timeout=10)
    lines = bytes(recorded).decode().splitlines()
    assert lines and all(line.startswith("@@TRAX:") for line in lines), lines
    assert "noise from _initialize" in stderr_path.read_text() and "noise from _track" in stderr_path.read_text()


def test_vot_cli_skips_the_update_check(monkeypatch):
    import requests
    import vot
    import vot.utilities.cli as cli
    from pytracking.integrations import vot_cli

    requests_made = []

    def record_request(url, *args, **kwargs):
        requests_made.append(url)
        raise requests.ConnectionError("offline test")

    monkeypatch.setattr(requests, "get", record_request)
    monkeypatch.setattr(cli, "check_updates", cli.check_updates)  # both restored after the test
    monkeypatch.setattr(vot, "check_updates", vot.check_updates)
    cli.check_updates()
    assert len(requests_made) == 1 and "github" in requests_made[0]  # the toolkit's own check goes online
    vot_cli.disable_update_check()
    assert cli.check_updates() == (False, None) and vot.check_updates() == (False, None)
    assert len(requests_made) == 1  # ours does not


def test_run_vot_unknown_tracker_exits_nonzero_with_message():
    out = subprocess.run([sys.executable, "-m", "pytracking.run_vot", "nosuchtracker", "default"],
                         capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert out.returncode == 1 and out.stdout == ""
    assert "unknown tracker 'nosuchtracker'" in out.stderr


def test_export_vot_unknown_sequence_is_named(tmp_path, capsys):
    write_folder_dataset(tmp_path / "source", num_frames=3, names=("easy",))
    with pytest.raises(SystemExit):
        export_vot.main(["--dataset_name", "folder", "--dataset_path", str(tmp_path / "source"),
                         "--sequence", "nosuchseq", "--out", str(tmp_path / "out")])
    assert "nosuchseq" in capsys.readouterr().err
    assert export_vot.format_region(np.array([np.nan] * 4)) == "0"
    assert export_vot.format_region(np.array([1.5, 2.0, 30.25, 4.0])) == "1.5,2,30.25,4"
    assert export_vot.vot_sequence_name("a b/c:1") == "a_b_c_1"
