"""Fault injection while evaluating: SIGKILL ``python -m pytracking.run_tracker`` in the middle of a sequence.

The killed run is the real CLI (``pytracking.run_tracker.main``) in a subprocess whose image reader
is wrapped so that reading one chosen frame of the second sequence writes a marker file and then
blocks: the test waits for the marker (the first sequence is finished, the second one in progress)
and kills the process with SIGKILL. The rerun is the plain CLI. Checked: the finished sequence's
files are untouched (bytes and mtime), the interrupted one left no file (not even a partial or
temporary one) and is redone, and the final results equal those of an uninterrupted run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures_layouts import make_lasot

REPO_ROOT = Path(__file__).resolve().parents[1]

_BLOCKING_RUN = """
import sys, time, pathlib
import ltr.data.image_loader as image_loader
marker, block_on = pathlib.Path(sys.argv[1]), sys.argv[2]
real_imread = image_loader.imread_rgb
def imread_then_block(path):
    if str(path).endswith(block_on):
        marker.write_text("blocked")
        time.sleep(300)
    return real_imread(path)
image_loader.imread_rgb = imread_then_block
from pytracking import run_tracker
sys.exit(run_tracker.main(sys.argv[3:]))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", EBMTRACK_SETTINGS=str(tmp_path / "absent_settings.toml"))
    env.pop("PYTHONPATH", None)
    return env


def _cli_args(dataset: Path, results: Path) -> list[str]:
    return ["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(dataset),
            "--results_path", str(results)]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())} if folder.is_dir() else {}


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "data"
    make_lasot(root, sequences=("airplane-1", "airplane-2", "bird-1"), n_frames=6)
    return root


def test_killed_evaluation_resumes_with_identical_results(tmp_path, dataset):
    killed_results, reference_results = tmp_path / "killed", tmp_path / "reference"
    marker = tmp_path / "blocked.marker"
    block_on = str(Path("airplane-2") / "img" / "00000004.jpg")
    killed = subprocess.Popen([sys.executable, "-c", _BLOCKING_RUN, str(marker), block_on,
                               *_cli_args(dataset, killed_results)],
                              cwd=REPO_ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # the uninterrupted reference run goes meanwhile (the machine has 2 cores)
    reference = subprocess.Popen([sys.executable, "-m", "pytracking.run_tracker",
                                  *_cli_args(dataset, reference_results)],
                                 cwd=REPO_ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert killed.poll() is None, killed.communicate()[0].decode()
            assert time.monotonic() < deadline, "the run never reached the blocking frame"
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    assert killed.returncode == -signal.SIGKILL
    ref_out = reference.communicate(timeout=120)[0].decode()
    assert reference.returncode == 0, ref_out

    run_dir = killed_results / "folder" / "opencv" / "kcf"
    after_kill = _snapshot(run_dir)
    # airplane-1 finished; airplane-2 was in progress: nothing of it (no partial, no temporary file)
    assert sorted(after_kill) == ["airplane-1.txt", "airplane-1_time.txt"], sorted(after_kill)

    time.sleep(0.02)  # so that a rewrite would show in the mtime
    rerun = subprocess.run([sys.executable, "-m", "pytracking.run_tracker", *_cli_args(dataset, killed_results)],
                           cwd=REPO_ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "skipping 1 finished" in rerun.stdout
    assert "finished 2, skipped 1, failed 0" in rerun.stdout
    final = _snapshot(run_dir)
    assert final["airplane-1.txt"] == after_kill["airplane-1.txt"]            # bytes and mtime unchanged
    assert final["airplane-1_time.txt"] == after_kill["airplane-1_time.txt"]
    reference_files = _snapshot(reference_results / "folder" / "opencv" / "kcf")
    assert sorted(final) == sorted(reference_files) == sorted(
        f"{s}{suffix}" for s in ("airplane-1", "airplane-2", "bird-1") for suffix in (".txt", "_time.txt"))
    for name in ("airplane-1.txt", "airplane-2.txt", "bird-1.txt"):
        assert final[name][0] == reference_files[name][0], name                # boxes identical
        assert len(final[name][0].decode().splitlines()) == 6
    for name in ("airplane-2_time.txt", "bird-1_time.txt"):
        assert len(final[name][0].decode().split()) == 6


def test_stale_partial_and_temporary_files_are_redone(tmp_path, dataset):
    """What a kill inside another writer could leave (a short box file, a box file without its time
    file, a temporary file): none counts as a result; all sequences are (re)done."""
    results = tmp_path / "results"
    run_dir = results / "folder" / "opencv" / "kcf"
    run_dir.mkdir(parents=True)
    (run_dir / "airplane-1.txt").write_text("2.0,2.0,8.0,6.0\n3.0,3.0,8.0,6.0\n")      # short
    (run_dir / "airplane-1_time.txt").write_text("0.1\n0.1\n")
    (run_dir / "airplane-2.txt").write_text("2.0,2.0,8.0,6.0\n" * 6)                  # no time file
    (run_dir / ".bird-1.txt.tmp1234").write_text("2.0,2.0,8.0,6.0\n" * 6)             # temporary only
    from pytracking import run_tracker
    assert run_tracker.main(_cli_args(dataset, results)) == 0
    for name in ("airplane-1", "airplane-2", "bird-1"):
        assert len((run_dir / f"{name}.txt").read_text().splitlines()) == 6
        assert len((run_dir / f"{name}_time.txt").read_text().split()) == 6
