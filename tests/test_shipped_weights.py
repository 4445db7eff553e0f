"""The estimator weights shipped in pytracking/networks/: checksum, loading, finite output, tamper refusal."""
import shutil
from pathlib import Path

import pytest
import torch

from ltr.admin.checkpoint import load_checkpoint, load_network, sha256_of
from pytracking.tracker.atom.settings import ATOMSettings

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


# ------------------------------------------------------------------ the shipped heads do their job
@pytest.fixture(scope="module")
def held_out_pairs(tmp_path_factory):
    """A few processed TRAIN-side pairs (synthetic videos and stills of the train split, shard 23: the
    shard the training left out) with the shipped backbone's features, as ``ltr.estimator_check`` reads them."""
    from ltr.data.feature_cache import CacheSpec, build_shard, load_cache
    spec = CacheSpec(video_sequences_per_shard=3, pairs_per_sequence=2, still_pairs_per_shard=2, num_frames=30)
    root = tmp_path_factory.mktemp("cache")
    net = load_network(NETWORKS / "atom_ebm_effnet.pth")
    build_shard(spec, 23, root, net=net, show_progress=False)
    return load_cache(root, spec, [23])


# the EBM heads at the tracker's T (3); IoU-Net at the paper's T = 10: at T = 3 its boxes barely move on these pairs
# (mean IoU 0.672 -> 0.669), which is why IoU-Net loses 3.5 AUC on the train-side search going from T = 10 to T = 3
@pytest.mark.parametrize("param, num_iter", [("default", None), ("nce", None), ("iou", 10)])
def test_shipped_score_head_raises_the_iou_of_jittered_boxes(held_out_pairs, param, num_iter):
    """Refinement with the shipped head (``ltr.estimator_check.refine_iou``, the tracker's step lengths)
    moves tracker-like jittered boxes towards the ground truth: the mean IoU goes up clearly."""
    import importlib

    from ltr.estimator_check import perturbed_starts, refine_iou
    params = importlib.import_module(f"pytracking.parameter.atom.{param}").parameters()
    net = load_network(Path(params.net_path)).eval()
    gt = held_out_pairs["test_boxes"].float()
    starts = perturbed_starts(gt, 4, torch.Generator().manual_seed(0))
    refinement = ATOMSettings.from_params(params).refinement
    before, after, accepted = refine_iou(net, held_out_pairs, starts, list(refinement.step_length),
                                         num_iter=num_iter or refinement.num_iter)
    assert 0.3 < before < 0.8
    assert after > before + 0.05, (before, after)
    assert accepted > 0.5


def test_shipped_regression_head_raises_the_iou_of_jittered_boxes(held_out_pairs):
    from ltr.estimator_check import perturbed_starts, regression_iou
    net = load_network(NETWORKS / "atom_gauss_effnet.pth").eval()
    gt = held_out_pairs["test_boxes"].float()
    starts = perturbed_starts(gt, 4, torch.Generator().manual_seed(0))
    before, after = regression_iou(net, held_out_pairs, starts)
    assert after > before + 0.05, (before, after)


def test_perturbed_starts_follow_the_stated_noise():
    """Centre + N(0, (0.1 sqrt(w h))^2) per coordinate, size * exp(N(0, 0.15^2)) per side."""
    from ltr.estimator_check import perturbed_starts
    gt = torch.tensor([[100.0, 50.0, 40.0, 90.0]])
    starts = perturbed_starts(gt, 20000, torch.Generator().manual_seed(0))[0]
    centre = starts[:, :2] + starts[:, 2:] / 2
    assert torch.allclose(centre.mean(0), torch.tensor([120.0, 95.0]), atol=0.2)
    assert torch.allclose(centre.std(0), torch.full((2,), 0.1 * 60.0), rtol=0.03)
    log_ratio = (starts[:, 2:] / gt[0, 2:]).log()
    assert torch.allclose(log_ratio.std(0), torch.full((2,), 0.15), rtol=0.03)
    with pytest.raises(ValueError, match="gt must be"):
        perturbed_starts(gt[0], 2, torch.Generator())
