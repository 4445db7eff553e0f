"""``--device cuda`` on a CUDA machine, faked on the CPU: every place that sets a device gets an indexed one.

The H200 run crashed at start because ``torch.cuda.set_device(torch.device("cuda"))`` raises; the real
``set_device``'s check is reproduced by the fake, so this test fails if an unindexed device reaches it."""
from __future__ import annotations

import pytest
import torch

from ltr.admin import multigpu
from ltr.admin.multigpu import indexed_cuda_device, init_distributed


@pytest.fixture
def fake_cuda(monkeypatch):
    """A machine with 4 CUDA devices whose ``set_device`` refuses an unindexed device, as torch's does."""
    calls: list[torch.device] = []

    def set_device(device):
        device = torch.device(device) if not isinstance(device, int) else torch.device("cuda", device)
        if device.index is None:
            raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{device}")
        calls.append(device)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "set_device", set_device)
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    return calls


def test_single_process_cuda_gets_index_zero(fake_cuda):
    info = init_distributed("cuda")
    assert info.device == torch.device("cuda", 0)
    assert fake_cuda == [torch.device("cuda", 0)]
    assert not info.distributed


def test_single_process_keeps_the_index_asked_for(fake_cuda):
    assert init_distributed("cuda:2").device == torch.device("cuda", 2)
    assert fake_cuda == [torch.device("cuda", 2)]


@pytest.mark.parametrize("local_rank", [0, 1, 3])
def test_torchrun_rank_uses_its_local_rank(fake_cuda, monkeypatch, local_rank):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", str(local_rank))
    monkeypatch.setenv("LOCAL_RANK", str(local_rank))
    joined = []
    monkeypatch.setattr(multigpu.dist, "is_initialized", lambda: True)  # no real process group
    monkeypatch.setattr(multigpu.dist, "init_process_group", lambda **kw: joined.append(kw))
    info = init_distributed("cuda")
    assert info.device == torch.device("cuda", local_rank)
    assert fake_cuda == [torch.device("cuda", local_rank)]
    assert info.world_size == 4 and info.distributed


def test_torchrun_new_group_joins_nccl(fake_cuda, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29999")
    joined = []
    monkeypatch.setattr(multigpu.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(multigpu.dist, "init_process_group", lambda **kw: joined.append(kw))
    assert init_distributed("cuda").device == torch.device("cuda", 1)
    assert joined and joined[0]["backend"] == "nccl" and joined[0]["rank"] == 1


def test_index_beyond_the_devices_is_a_clear_error():
    with pytest.raises(ValueError, match="cuda:5.*4 CUDA device"):
        indexed_cuda_device(torch.device("cuda:5"), 0, 1, 4)
    with pytest.raises(ValueError, match="LOCAL_RANK=2.*1 CUDA device"):
        indexed_cuda_device(torch.device("cuda"), 2, 4, 1)


def test_explicit_index_under_torchrun_warns_and_uses_local_rank():
    with pytest.warns(RuntimeWarning, match="LOCAL_RANK=1"):
        assert indexed_cuda_device(torch.device("cuda:0"), 1, 2, 2) == torch.device("cuda", 1)
