"""Backbone-feature cache: shard content, reproducibility, spec checks, fresh candidates, cached training."""
import math

import numpy as np
import pytest
import torch

from ltr.actors.methods import get_method
from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.data.feature_cache import CacheSpec, CachedPairDataset, build_shard, ensure_cache, load_cache
from ltr.data.loader import collate_batch
from ltr.data.processing import BBRegProcessing
from ltr.models import registry

TINY = CacheSpec(network="atom_tiny", output_sz=64, num_shards=2, video_sequences_per_shard=1, pairs_per_sequence=2,
                 still_pairs_per_shard=1, num_frames=12, max_gap=5)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    torch.manual_seed(0)
    net = registry.build("atom_tiny")
    paths = [build_shard(TINY, k, root, net, show_progress=False) for k in range(TINY.num_shards)]
    return root, net, paths


def test_shard_content(tiny_cache):
    root, net, _ = tiny_cache
    cache = load_cache(root, TINY, [0, 1])
    n = TINY.num_shards * TINY.pairs_per_shard
    assert cache["train_feat_s8"].shape == (n, 8, 8, 8) and cache["train_feat_s8"].dtype == torch.float16
    assert cache["test_feat_s16"].shape == (n, 16, 4, 4)
    assert cache["train_boxes"].shape == (n, 4) and cache["source"].tolist() == [0, 0, 1, 0, 0, 1]
    assert cache["sequence"].tolist() == [0, 0, 0, 1, 1, 1]
    # the reference crop is centred on its (unjittered) box: centre at the crop centre
    centre = cache["train_boxes"][:, :2] + 0.5 * cache["train_boxes"][:, 2:]
    assert torch.allclose(centre, torch.full_like(centre, 32.0), atol=1.0)
    # features are the backbone's output for the pair's crops (recomputed from the same processing)
    from ltr.data.feature_cache import pair_datasets as _datasets, raw_pairs as _raw_pairs
    videos, stills = _datasets(TINY)
    _, _, data, rng = next(_raw_pairs(TINY, 0, videos, stills))
    crops = TINY.processing().crops(data, rng)
    with torch.no_grad():
        feats = net.extract_features(torch.cat([crops["train_images"], crops["test_images"]]))
    assert torch.allclose(cache["train_feat_s8"][0].float(), feats[0][0], atol=2e-2, rtol=1e-2)
    assert torch.allclose(cache["test_feat_s16"][0].float(), feats[1][1], atol=2e-2, rtol=1e-2)
    assert torch.allclose(cache["test_boxes"][0], crops["test_boxes"][0])


def test_shard_is_reproducible_and_spec_checked(tiny_cache, tmp_path):
    root, net, paths = tiny_cache
    again = build_shard(TINY, 1, tmp_path, net, show_progress=False)
    a = torch.load(paths[1], weights_only=True)
    b = torch.load(again, weights_only=True)
    for key in ("train_feat_s8", "test_feat_s16", "test_boxes"):
        assert torch.equal(a[key], b[key]), key
    other = CacheSpec(**{**TINY.__dict__, "seed": 5})
    with pytest.raises(ValueError, match="spec"):
        load_cache(root, other, [0])
    with pytest.raises(ValueError, match="missing"):
        load_cache(tmp_path, TINY, [0])
    with pytest.raises(ValueError, match="shard"):
        build_shard(TINY, 2, tmp_path, net, show_progress=False)
    assert ensure_cache(root, TINY, show_progress=False) == paths  # nothing rebuilt


def test_dataset_draws_fresh_candidates(tiny_cache):
    root, _, _ = tiny_cache
    cache = load_cache(root, TINY, [0, 1])
    ds = CachedPairDataset(cache, BBRegProcessing(mode="ebm", output_sz=64, num_proposals=8), seed=3)
    item = ds[0]
    assert item["proposals"].shape == (1, 9, 4) and item["train_feat_s8"].dtype == torch.float32
    first = item["proposals"].clone()
    pair = int(ds._perm[0])
    assert torch.allclose(item["proposals"][0, 0], cache["test_boxes"][pair])  # the true sample first
    assert torch.equal(ds[0]["proposals"], first)  # deterministic within an epoch
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["proposals"], first)
    iou = CachedPairDataset(cache, BBRegProcessing(mode="iou", output_sz=64, iou_boxes_per_frame=4))
    assert iou[0]["iou_target"].shape == (1, 4) and (iou[0]["iou_target"] <= 1).all()
    val = CachedPairDataset(cache, BBRegProcessing(mode="ebm", output_sz=64), shuffle=False, fixed_epoch=True)
    before = val[2]["proposals"].clone()
    val.set_epoch(4)
    assert torch.equal(val[2]["proposals"], before)


def test_cached_batch_matches_image_batch(tiny_cache):
    """The actor on cached features gives the loss of the actor on the images (up to fp16 rounding)."""
    _, net, _ = tiny_cache
    from ltr.data.feature_cache import pair_datasets as _datasets, raw_pairs as _raw_pairs
    videos, stills = _datasets(TINY)
    _, _, data, rng = next(_raw_pairs(TINY, 0, videos, stills))
    processing = BBRegProcessing(mode="ebm", output_sz=64, num_proposals=8)
    item = processing(data, np.random.default_rng(0))
    with torch.no_grad():
        feats = net.extract_features(torch.cat([item["train_images"], item["test_images"]]))
    cached = {k: v for k, v in item.items() if "images" not in k}
    cached.update({"train_feat_s8": feats[0][:1], "test_feat_s8": feats[0][1:],
                   "train_feat_s16": feats[1][:1], "test_feat_s16": feats[1][1:]})
    actor = get_method("ml-is").make_actor(net)
    actor.eval()
    with torch.no_grad():
        loss_images, _ = actor(collate_batch([item]))
        loss_cached, _ = actor(collate_batch([cached]))
    assert math.isfinite(float(loss_images))
    assert torch.allclose(loss_images, loss_cached, atol=1e-5)


def test_cached_setting_trains_one_epoch(tiny_cache, tmp_path):
    from ltr.data.feature_cache import default_cache_root
    from ltr.train_settings.bbreg._cached import CachedConfig, run_cached
    root, _, paths = tiny_cache
    target = default_cache_root(tmp_path, TINY)
    target.mkdir(parents=True)
    for p in paths:
        (target / p.name).write_bytes(p.read_bytes())
    settings = TrainSettings(module_name="bbreg", script_name="atom_ebm_cached", device="cpu", workspace=tmp_path,
                             env=load_settings(tmp_path / "absent.toml"), show_progress=False, use_tensorboard=False)
    cfg = CachedConfig(description="tiny", method="ml-is", network="atom_tiny", spec=TINY, val_shards=1,
                       num_proposals=8, batch_size=2, epochs=1)
    stats = run_cached(cfg, settings)
    assert stats[1]["train"]["samples"] == 2 and stats[1]["val"]["samples"] == 3
    assert math.isfinite(stats[1]["train"]["Loss/total"]) and math.isfinite(stats[1]["val"]["Loss/total"])
    assert (settings.checkpoint_dir / "atom_ebm_cached_ep0001.pth").is_file()
