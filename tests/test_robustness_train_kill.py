"""Fault injection while training: SIGKILL ``python -m ltr.run_training bbreg tiny`` and resume with ``--resume``.

Two kill points, each in its own workspace, both in epoch 2 of the 2-epoch ``tiny`` setting (after the
epoch-1 checkpoint exists):

- ``mid_epoch``: the pair sampler blocks on the first item of epoch 2's second batch (one optimiser
  step of epoch 2 done);
- ``mid_save``: ``torch.save`` of the epoch-2 checkpoint has written half of its bytes when it blocks
  (what a kill or power cut during the write leaves).

The killed runs are the real CLI (``ltr.run_training.main``) with one function wrapped to write a
marker file and block; the test waits for the marker and kills with SIGKILL. Then every ``*.pth``
file found must load with ``load_checkpoint`` (no checkpoint file is ever partial), the resumed run
(plain CLI, ``--resume``) must finish, and its final weights, optimiser and scheduler state must be
bit-identical to an uninterrupted run's (the trainer promises this for fixed seeds and workers=0; the
reference runs in the test process with one thread, as the subprocesses do with ``OMP_NUM_THREADS=1``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from ltr import run_training
from ltr.admin import checkpoint as ckpt

REPO_ROOT = Path(__file__).resolve().parents[1]

_BLOCKING_TRAINING = """
import io, sys, time, pathlib
marker, kill_point = pathlib.Path(sys.argv[1]), sys.argv[2]

def block():
    marker.write_text(kill_point)
    time.sleep(300)

if kill_point == "mid_epoch":
    from ltr.data import sampler
    real_getitem = sampler.PairSampler.__getitem__
    def getitem(self, index):
        if self.epoch == 2 and index == 2:
            block()
        return real_getitem(self, index)
    sampler.PairSampler.__getitem__ = getitem
else:
    import torch
    real_save = torch.save
    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2 and hasattr(f, "write"):
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            f.write(data[:len(data) // 2])
            f.flush()
            block()
        return real_save(obj, f, *args, **kwargs)
    torch.save = save

from ltr import run_training
sys.exit(run_training.main(sys.argv[3:]))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", EBMTRACK_SETTINGS=str(tmp_path / "absent_settings.toml"))
    env.pop("PYTHONPATH", None)
    return env


def _cli(workspace: Path, *extra: str) -> list[str]:
    return ["bbreg", "tiny", "--device", "cpu", "--workspace", str(workspace), "--no_progress", *extra]


def _ckpt_dir(workspace: Path) -> Path:
    return workspace / "checkpoints" / "bbreg" / "tiny"


def _wait_and_kill(process: subprocess.Popen, marker: Path, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    try:
        while not marker.exists():
            if process.poll() is not None:
                raise AssertionError("the run ended before the kill point:\n" + process.communicate()[0].decode())
            if time.monotonic() > deadline:
                raise AssertionError("the run never reached the kill point")
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        output = process.communicate(timeout=30)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    return output


def _assert_every_checkpoint_loads(workspace: Path) -> list[str]:
    names = []
    for path in sorted(workspace.rglob("*.pth")):
        data = ckpt.load_checkpoint(path)  # raises on a partial file
        assert data["epoch"] >= 1
        names.append(path.name)
    return names


def test_killed_training_resumes_bit_identical(tmp_path):
    env = _env(tmp_path)
    killed = {}
    for kill_point in ("mid_epoch", "mid_save"):
        workspace, marker = tmp_path / kill_point, tmp_path / f"{kill_point}.marker"
        killed[kill_point] = (workspace, marker, subprocess.Popen(
            [sys.executable, "-c", _BLOCKING_TRAINING, str(marker), kill_point, *_cli(workspace)],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    # meanwhile, the uninterrupted reference run (in this process, one thread like the subprocesses)
    reference_ws = tmp_path / "reference"
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        stats = run_training.run_training("bbreg", "tiny", device="cpu", workspace=str(reference_ws),
                                          show_progress=False, use_tensorboard=False)
    finally:
        torch.set_num_threads(previous)
    assert sorted(stats) == [1, 2]
    for kill_point, (workspace, marker, process) in killed.items():
        _wait_and_kill(process, marker)
        # the epoch-1 checkpoint is there and complete, epoch 2's is not there at all
        assert _assert_every_checkpoint_loads(workspace) == ["tiny_ep0001.pth"], kill_point
        leftovers = [p.name for p in _ckpt_dir(workspace).iterdir() if p.name != "tiny_ep0001.pth"]
        if kill_point == "mid_save":
            assert len(leftovers) == 1 and leftovers[0].startswith(".tiny_ep0002.pth.") \
                and leftovers[0].endswith(".tmp"), leftovers  # the half-written temporary file, not a .pth
        else:
            assert leftovers == []

    resumed = {kp: subprocess.Popen([sys.executable, "-m", "ltr.run_training", *_cli(ws, "--resume")],
                                    cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for kp, (ws, _, _) in killed.items()}
    expected = ckpt.load_checkpoint(_ckpt_dir(reference_ws) / "tiny_ep0002.pth")
    for kill_point, process in resumed.items():
        output = process.communicate(timeout=180)[0].decode()
        assert process.returncode == 0, output
        assert "continuing after epoch 1" in output, output
        workspace = killed[kill_point][0]
        assert _assert_every_checkpoint_loads(workspace) == ["tiny_ep0001.pth", "tiny_ep0002.pth"]
        got = ckpt.load_checkpoint(_ckpt_dir(workspace) / "tiny_ep0002.pth")
        assert got["epoch"] == 2
        assert got["net"].keys() == expected["net"].keys()
        for key in expected["net"]:
            assert torch.equal(got["net"][key], expected["net"][key]), (kill_point, key)
        assert got["lr_scheduler"] == expected["lr_scheduler"]
        for param_id, state in expected["optimizer"]["state"].items():
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(got["optimizer"]["state"][param_id][name]),
                                   torch.as_tensor(value)), (kill_point, param_id, name)
        assert got["stats"]["2"]["train"]["Loss/total"] == expected["stats"]["2"]["train"]["Loss/total"]
    # and the epoch-1 checkpoints agree too (the killed runs wrote theirs before the kill)
    first = ckpt.load_checkpoint(_ckpt_dir(reference_ws) / "tiny_ep0001.pth")
    for workspace, _, _ in killed.values():
        mine = ckpt.load_checkpoint(_ckpt_dir(workspace) / "tiny_ep0001.pth")
        assert all(torch.equal(mine["net"][k], first["net"][k]) for k in first["net"])
