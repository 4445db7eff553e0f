"""Fault injection under torchrun: one rank of a 2-process DDP run dies mid-epoch, torchrun restarts the
group (``--max_restarts 1``), every rank resumes from rank 0's last checkpoint (``--resume``), and the final
weights, optimiser and scheduler state equal an uninterrupted 2-process run's, bit for bit.

The documented command for a job that survives a rank failure is exactly this one:
``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 torchrun --nproc_per_node=N --max_restarts=K -m ltr.run_training
<module> <setting> --resume`` (``--resume`` with no checkpoint yet starts at epoch 1, so it is safe on the
first attempt too; the variable: see ``ltr.admin.multigpu``).

The kill: rank 1, on torchrun's first attempt only (``TORCHELASTIC_RESTART_COUNT == 0``), SIGKILLs itself
in the middle of drawing its epoch-2 batch (each rank draws 2 pairs a batch, 1 batch an epoch here), once
rank 0's epoch-1 checkpoint exists; rank 0 is then waiting for rank 1 in epoch 2's gradient all-reduce.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import skip_or_fail_in_ci
import torch

from ltr.admin import checkpoint as ckpt

REPO_ROOT = Path(__file__).resolve().parents[1]

_DYING_RANK = """
import os, signal, sys, time
if os.environ.get("RANK") == "1" and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0":
    from pathlib import Path
    from ltr.data import sampler
    epoch1 = Path(os.environ["FAULT_AFTER_CHECKPOINT"])
    real_getitem = sampler.PairSampler.__getitem__
    def getitem(self, index):
        if self.epoch == 2 and index == 1:
            deadline = time.monotonic() + 120
            while not epoch1.exists() and time.monotonic() < deadline:
                time.sleep(0.05)   # rank 0 may still be writing it
            print("[fault] rank 1 kills itself in epoch 2", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return real_getitem(self, index)
    sampler.PairSampler.__getitem__ = getitem
from ltr import run_training
sys.exit(run_training.main(sys.argv[1:]))
"""


def _torchrun() -> str:
    path = Path(sys.executable).with_name("torchrun")
    if path.is_file():
        return str(path)
    found = shutil.which("torchrun")
    if found is None:
        skip_or_fail_in_ci("torchrun is not on PATH")
    return found


def _launch(workspace: Path, target: list[str], env: dict[str, str]) -> subprocess.Popen:
    cli = ["bbreg", "tiny", "--device", "cpu", "--workspace", str(workspace), "--no-progress", "--resume"]  # former spelling: an alias
    # a session of its own: on a timeout the whole group (torchrun and its workers) is killed
    return subprocess.Popen([_torchrun(), "--standalone", "--nproc_per_node=2", *target, *cli],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_rank_failure_restarts_and_resumes_bit_identical(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", EBMTRACK_SETTINGS=str(tmp_path / "absent_settings.toml"),
               TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
    env.pop("PYTHONPATH", None)
    wrapper = tmp_path / "dying_rank.py"
    wrapper.write_text(_DYING_RANK)
    env["FAULT_AFTER_CHECKPOINT"] = str(tmp_path / "faulty" / "checkpoints" / "bbreg" / "tiny" / "tiny_ep0001.pth")
    outputs = {}
    # one after the other: two ``torchrun --standalone`` jobs started together on one host can race for a port
    for name, target in (("reference", ["-m", "ltr.run_training"]), ("faulty", ["--max_restarts=1", str(wrapper)])):
        process = _launch(tmp_path / name, target, env)
        try:
            outputs[name] = process.communicate(timeout=300)[0].decode(errors="replace")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        assert process.returncode == 0, f"{name} run failed:\n{outputs[name][-4000:]}"
    log = outputs["faulty"]
    assert "[fault] rank 1 kills itself in epoch 2" in log, log[-4000:]
    assert "continuing after epoch 1" in log, log[-4000:]          # the restarted group resumed
    assert "[fault]" not in outputs["reference"]

    def final(workspace: Path) -> dict:
        directory = workspace / "checkpoints" / "bbreg" / "tiny"
        assert sorted(p.name for p in directory.glob("*.pth")) == ["tiny_ep0001.pth", "tiny_ep0002.pth"]
        return ckpt.load_checkpoint(directory / "tiny_ep0002.pth")

    expected, got = final(tmp_path / "reference"), final(tmp_path / "faulty")
    assert got["epoch"] == expected["epoch"] == 2
    assert got["net"].keys() == expected["net"].keys()
    for key in expected["net"]:
        assert torch.equal(got["net"][key], expected["net"][key]), key
    assert got["lr_scheduler"] == expected["lr_scheduler"]
    for param_id, state in expected["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(got["optimizer"]["state"][param_id][name]),
                               torch.as_tensor(value)), (param_id, name)
    assert got["stats"]["2"]["train"]["Loss/total"] == expected["stats"]["2"]["train"]["Loss/total"]


def test_restart_hazard_is_named_only_when_restarts_share_the_store():
    from ltr.admin.multigpu import elastic_restart_hazard

    assert elastic_restart_hazard({}) is None                                   # not under torchrun
    assert elastic_restart_hazard({"TORCHELASTIC_MAX_RESTARTS": "0"}) is None   # no restarts
    message = elastic_restart_hazard({"TORCHELASTIC_MAX_RESTARTS": "3"})
    assert message is not None and "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in message
    assert elastic_restart_hazard({"TORCHELASTIC_MAX_RESTARTS": "3", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}) is None
