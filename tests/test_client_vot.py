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
                                     + tracker_entry("raising", "raising_tracker:RaisesOnThirdFrame x"))
    (base / "raising_tracker.py").write_text(RAISING_TRACKER)
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
    out = run_vot(workspace, "test", "atom_ebm")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    # the toolkit logs a tracker failure and still exits 0: its success line is the verdict
    assert "Error during tracker execution" not in log, log[-3000:]
    assert "Test concluded successfuly" in log, log[-3000:]
