"""Robustness: checkpoints that must be refused, with a message naming the file.

- the weights of one network presented as another constructor (``load_network``), and a training
  run resumed from another network's checkpoint (``LTRTrainer.load_checkpoint``);
- tampered files: bytes flipped (with and without the ``.sha256`` sidecar), truncated, empty;
- pickled Python objects (never executed: ``weights_only=True``).
"""
from __future__ import annotations

import io
import math
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from ltr.admin import checkpoint as ckpt
from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.models.registry import build
from ltr.train_settings.bbreg import tiny


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """One checkpoint each of ``atom_tiny`` and ``regression_tiny`` (random weights, epoch 1)."""
    folder = tmp_path_factory.mktemp("ckpts")
    out = {}
    for name in ("atom_tiny", "regression_tiny"):
        torch.manual_seed(0)
        net = build(name)
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
        out[name] = ckpt.save_checkpoint(folder / f"{name}.pth", net, opt, None, epoch=1)
    return out


def test_weights_of_another_network_are_refused_naming_file_and_constructor(saved, tmp_path):
    data = ckpt.load_checkpoint(saved["regression_tiny"])
    data["network"] = {"name": "atom_tiny", "kwargs": {}}   # claims to be the other network
    path = tmp_path / "mislabelled.pth"
    torch.save(data, path)
    with pytest.raises(ValueError) as info:
        ckpt.load_network(path)
    message = str(info.value)
    assert "mislabelled.pth" in message and "atom_tiny" in message
    assert "missing keys" in message and "unexpected keys" in message
    # the genuine files still load, each into its own constructor
    assert type(ckpt.load_network(saved["atom_tiny"])).__name__ == type(build("atom_tiny")).__name__
    assert type(ckpt.load_network(saved["regression_tiny"])).__name__ == type(build("regression_tiny")).__name__


def test_unknown_constructor_is_refused(saved, tmp_path):
    data = ckpt.load_checkpoint(saved["atom_tiny"])
    data["network"] = {"name": "no_such_network", "kwargs": {}}
    path = tmp_path / "unknown.pth"
    torch.save(data, path)
    with pytest.raises((ValueError, KeyError), match="no_such_network"):
        ckpt.load_network(path)


def test_resume_from_checkpoint_of_another_network_is_refused(tmp_path):
    """``bbreg/tiny`` with method gauss trains ``regression_tiny``; resuming the ML-IS ``atom_tiny`` run from
    its checkpoint (same setting folder) must be refused, not silently half-loaded."""
    def settings(**kwargs):
        return TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=tmp_path,
                             env=load_settings(tmp_path / "absent.toml"), show_progress=False,
                             use_tensorboard=False, **kwargs)

    gauss = settings(epochs=1, extra={"method": "gauss"})
    stats = tiny.run(gauss)
    assert math.isfinite(stats[1]["train"]["Loss/total"])
    path = gauss.checkpoint_dir / "tiny_ep0001.pth"
    assert ckpt.load_checkpoint(path)["network"]["name"] == "regression_tiny"
    with pytest.raises(ValueError) as info:
        tiny.run(settings(epochs=2, resume=True))
    message = str(info.value)
    assert "tiny_ep0001.pth" in message and "regression_tiny" in message and "atom_tiny" in message
    assert not (gauss.checkpoint_dir / "tiny_ep0002.pth").exists()


@pytest.mark.parametrize("where", [0.5, 0.9])
def test_flipped_bytes_with_sidecar_are_refused_naming_file(saved, tmp_path, where):
    out = ckpt.export_weights(saved["atom_tiny"], tmp_path / "weights.pth")
    assert isinstance(ckpt.load_network(out), torch.nn.Module)
    raw = bytearray(out.read_bytes())
    index = int(len(raw) * where)
    raw[index] ^= 0xFF
    out.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as info:
        ckpt.load_network(out)
    assert "weights.pth" in str(info.value) and "SHA-256" in str(info.value)


def test_sidecar_naming_another_digest_is_refused(saved, tmp_path):
    out = ckpt.export_weights(saved["atom_tiny"], tmp_path / "w.pth")
    sidecar = tmp_path / "w.pth.sha256"
    sidecar.write_text("0" * 64 + "  w.pth\n")
    with pytest.raises(ValueError, match="w.pth"):
        ckpt.load_network(out)
    sidecar.write_text("")
    with pytest.raises(ValueError, match="sha256"):
        ckpt.load_network(out)


@pytest.mark.parametrize("damage", ["truncated_half", "truncated_tail", "empty", "junk", "flipped_header"])
def test_damaged_files_without_sidecar_are_refused_naming_file(saved, tmp_path, damage):
    raw = saved["atom_tiny"].read_bytes()
    path = tmp_path / f"{damage}.pth"
    if damage == "truncated_half":
        path.write_bytes(raw[:len(raw) // 2])
    elif damage == "truncated_tail":
        path.write_bytes(raw[:-30])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "junk":
        path.write_bytes(bytes(range(256)) * 8)
    else:
        path.write_bytes(b"\x00" * 8 + raw[8:])
    for load in (ckpt.load_checkpoint, ckpt.load_network):
        with pytest.raises(ValueError, match=f"{damage}.pth"):
            load(path)


def _flip_tensor_byte(raw: bytes) -> bytes:
    """Flip one bit in the middle of the largest tensor's data (a stored zip entry of the file)."""
    archive = zipfile.ZipFile(io.BytesIO(raw))
    entry = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    assert entry.compress_type == zipfile.ZIP_STORED
    name_len, extra_len = struct.unpack("<HH", raw[entry.header_offset + 26:entry.header_offset + 30])
    start = entry.header_offset + 30 + name_len + extra_len
    out = bytearray(raw)
    out[start + entry.file_size // 2] ^= 0x01
    return bytes(out)


def test_flipped_tensor_bytes_without_sidecar_are_refused(saved, tmp_path):
    path = tmp_path / "bitflip.pth"
    path.write_bytes(_flip_tensor_byte(saved["atom_tiny"].read_bytes()))
    assert zipfile.ZipFile(path).testzip() is not None  # the damage is detectable from the file alone
    with pytest.raises(ValueError, match="bitflip.pth"):
        ckpt.load_checkpoint(path)


class _Payload:
    """Unpickling this would create a file; ``weights_only`` must never run it."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


@pytest.mark.parametrize("loader", ["load_checkpoint", "load_network"])
def test_pickled_object_is_refused_and_never_executed(saved, tmp_path, loader):
    data = ckpt.load_checkpoint(saved["atom_tiny"])
    target = tmp_path / "pwned"
    data["stats"] = {"1": _Payload(str(target))}
    path = tmp_path / "pickled.pth"
    torch.save(data, path)
    with pytest.raises(ValueError) as info:
        getattr(ckpt, loader)(path)
    assert "pickled.pth" in str(info.value) and "pickled" in str(info.value)
    assert not target.exists()


def test_non_checkpoint_content_is_refused(tmp_path):
    path = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match="tensor.pth"):
        ckpt.load_checkpoint(path)
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="tensor.pth.*'net'"):
        ckpt.load_network(path)
