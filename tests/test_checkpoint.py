"""Checkpoints: atomic writes, weights-only loading, rebuilding from the registry, fp16 export."""
import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from ltr.admin import checkpoint as ckpt
from ltr.models import registry


@registry.register("test_checkpoint_linear")
def _linear(in_features: int = 3, out_features: int = 2) -> nn.Module:
    return nn.Linear(in_features, out_features)


def _setup():
    net = registry.build("test_checkpoint_linear", in_features=3, out_features=2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.2)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched.step()
    return net, opt, sched


def test_roundtrip_restores_everything(tmp_path):
    net, opt, sched = _setup()
    path = ckpt.save_checkpoint(tmp_path / "a.pth", net, opt, sched, epoch=3, stats={"loss": np.float32(1.5)},
                                settings_name="bbreg/test")
    data = ckpt.load_checkpoint(path)
    assert data["epoch"] == 3 and data["settings_name"] == "bbreg/test"
    assert data["network"] == {"name": "test_checkpoint_linear", "kwargs": {"in_features": 3, "out_features": 2}}
    assert data["stats"]["loss"] == pytest.approx(1.5)
    opt2 = torch.optim.Adam(net.parameters(), lr=1e-3)
    opt2.load_state_dict(data["optimizer"])
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    rebuilt = ckpt.load_network(path)
    assert isinstance(rebuilt, nn.Linear)
    assert torch.equal(rebuilt.weight, net.weight)


def test_rng_states_roundtrip(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    states = ckpt.get_rng_states()
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    net, opt, sched = _setup()
    ckpt.save_checkpoint(tmp_path / "r.pth", net, opt, sched, epoch=1, rng_states=states)
    torch.rand(10), np.random.rand(10), random.random()
    ckpt.set_rng_states(ckpt.load_checkpoint(tmp_path / "r.pth")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def test_pickled_object_is_refused(tmp_path):
    net, _, _ = _setup()
    path = tmp_path / "evil.pth"
    torch.save({"net": net.state_dict(), "payload": _Evil()}, path)
    with pytest.raises(ValueError, match="evil.pth"):
        ckpt.load_checkpoint(path)
    with pytest.raises(ValueError, match="pickled"):
        ckpt.load_network(path)


def test_write_is_atomic(tmp_path, monkeypatch):
    net, opt, sched = _setup()
    path = tmp_path / "c.pth"
    ckpt.save_checkpoint(path, net, opt, sched, epoch=1)
    before = path.read_bytes()

    def failing_save(obj, handle, *args, **kwargs):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, net, opt, sched, epoch=2)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pth"]  # no temporary left behind
    monkeypatch.undo()
    with pytest.raises(OSError):
        monkeypatch.setattr(torch, "save", failing_save)
        ckpt.save_checkpoint(tmp_path / "new.pth", net, opt, sched, epoch=1)
    assert not (tmp_path / "new.pth").exists()


def test_wrong_network_is_reported(tmp_path):
    net, opt, sched = _setup()
    path = ckpt.save_checkpoint(tmp_path / "w.pth", net, opt, sched, epoch=1)
    data = ckpt.load_checkpoint(path)
    data["network"]["kwargs"]["out_features"] = 5
    torch.save(data, path)
    with pytest.raises(ValueError, match="shape mismatch.*weight"):
        ckpt.load_network(path)
    data["net"] = {"other.weight": torch.zeros(1)}
    torch.save(data, path)
    with pytest.raises(ValueError, match="missing keys.*unexpected keys \\[other.weight"):
        ckpt.load_network(path)


def test_non_registry_network_is_refused(tmp_path):
    with pytest.raises(ValueError, match="constructor"):
        ckpt.save_checkpoint(tmp_path / "x.pth", nn.Linear(2, 2), None, None, epoch=1)


def test_export_half_precision_with_checksum(tmp_path):
    net, opt, sched = _setup()
    path = ckpt.save_checkpoint(tmp_path / "full.pth", net, opt, sched, epoch=1)
    out = ckpt.export_weights(path, tmp_path / "w16.pth")
    data = ckpt.load_checkpoint(out)
    assert data["net"]["weight"].dtype == torch.float16 and "optimizer" not in data
    sidecar = (tmp_path / "w16.pth.sha256").read_text().split()
    assert sidecar == [ckpt.sha256_of(out), "w16.pth"]
    rebuilt = ckpt.load_network(out)
    assert rebuilt.weight.dtype == torch.float32
    assert torch.allclose(rebuilt.weight, net.weight, atol=1e-3)
    out.write_bytes(out.read_bytes() + b"x")
    with pytest.raises(ValueError, match="SHA-256"):
        ckpt.load_network(out)
