"""The estimator weights shipped in pytracking/networks/: checksum, loading, finite output, tamper refusal."""
import shutil
from pathlib import Path

import pytest
import torch

from ltr.admin.checkpoint import load_checkpoint, load_network, sha256_of

NETWORKS = Path(__file__).resolve().parents[1] / "pytracking" / "networks"
SHIPPED = {
    "atom_ebm_effnet.pth": "atom_efficientnet_lite0",
    "atom_iou_effnet.pth": "atom_efficientnet_lite0",
    "atom_nce_effnet.pth": "atom_efficientnet_lite0",
    "atom_gauss_effnet.pth": "regression_efficientnet_lite0",
}
IMAGE_SIZE = 256  # pytracking/parameter/atom/default.py: image_sample_size


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_checksum_and_format(name):
    path = NETWORKS / name
    sidecar = path.with_name(name + ".sha256")
    assert path.is_file() and sidecar.is_file()
    assert path.stat().st_size <= 20e6
    digest, file_name = sidecar.read_text().split()
    assert digest == sha256_of(path) and file_name == name
    data = load_checkpoint(path)
    assert data["network"]["name"] == SHIPPED[name] and data["dtype"] == "float16"
    floats = [v for v in data["net"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert any(k.startswith("feature_extractor.") for k in data["net"])  # the full network, backbone included


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_network_gives_finite_output(name):
    torch.manual_seed(0)
    net = load_network(NETWORKS / name)
    assert type(net).__name__ == "ATOMnet"
    images = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    box = torch.tensor([[104.0, 100.0, 48.0, 56.0]])
    boxes = torch.stack([box[0], box[0] + torch.tensor([4.0, -3.0, 6.0, -5.0])])[None]
    with torch.no_grad():
        out = net(images[:1], images[1:], box, boxes)
    if SHIPPED[name].startswith("regression"):
        mean, log_var = out
        assert mean.shape == (1, 2, 4) and torch.isfinite(mean).all() and torch.isfinite(log_var).all()
    else:
        assert out.shape == (1, 2) and torch.isfinite(out).all()
        assert not torch.equal(out[0, 0], out[0, 1])  # the score depends on the box


def test_tampered_copy_is_refused(tmp_path):
    name = "atom_ebm_effnet.pth"
    copy = tmp_path / name
    shutil.copyfile(NETWORKS / name, copy)
    shutil.copyfile(NETWORKS / (name + ".sha256"), tmp_path / (name + ".sha256"))
    load_network(copy)  # an untouched copy loads
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="SHA-256"):
        load_network(copy)
