"""Backbone-feature cache for training box estimators with a frozen backbone.

The backbone of ATOM/EBM training is frozen, so its output for a processed pair (reference crop +
jittered test crop) does not depend on the estimator or the training method. The cache computes it
once and stores, per pair, the two backbone maps of both crops in float16 plus the crop boxes; each
method then trains its head on the cache and draws fresh candidate boxes every epoch
(:meth:`ltr.data.processing.BBRegProcessing.candidates`).

Content (TRAIN side only: ``SyntheticVideo(split='train')`` videos and ``StillImagePairs(split='train')``
stills; the demo benchmark's test side is never touched). The cache is split in ``num_shards``
shards; shard ``k`` holds

- ``pairs_per_sequence`` pairs from each of the videos ``k * V .. (k + 1) * V - 1``
  (``V = video_sequences_per_shard``): reference frame uniform among the visible frames, test frame a
  visible frame at most ``max_gap`` frames away;
- one pair from each of the stills ``k * S .. (k + 1) * S - 1`` (``S = still_pairs_per_shard``): the
  same image twice, jittered differently (pure geometric change, the COCO role of the paper).

Each pair is processed by :meth:`BBRegProcessing.crops` (paper jitter: centre 0 / 4.5, scale 0 / 0.5,
search area 5, brightness 0.2, grayscale 0.05) at ``output_sz``; the pair's random numbers come from
``numpy.random.default_rng([seed, shard, source, index])``, so a shard is reproducible on its own and
shards can be built by separate processes. Shards hold disjoint sequences: holding out the last
shard(s) gives a validation set of unseen sequences.

Files: ``<root>/shard_XXX.pt`` (plain tensors, loaded with ``weights_only=True``) with keys
``version``, ``spec`` (the :class:`CacheSpec` as a dict; a shard of another spec is refused),
``train_feat_s8``, ``train_feat_s16``, ``test_feat_s8``, ``test_feat_s16`` (``[n, C, H, W]`` float16),
``train_boxes``, ``test_boxes`` (``[n, 4]`` crop pixels, xywh), ``sequence`` (``[n]`` id within its
source), ``source`` (``[n]``: 0 video, 1 still, 2 wide pair). Shards are written atomically.

CLI: ``python -m ltr.data.feature_cache [--spec default|wide] [--root DIR] [--shards 0,1,...] [--threads N]
[--processes P] [--device cuda] [--bank DIR] [--num_shards N --pairs_per_shard M]`` (default root:
``<workspace>/feature_cache/<spec name>``). The ``wide`` spec (:class:`WideCacheSpec`, module ``wide``) mixes
pairs of the photo-bank renderer :mod:`ltr.synthetic.wide_pairs` (3/4) with these sources (1/4), in the same
shard format (source 2 = wide pair); ``P`` processes render, one runs the backbone on the device.

Modules: ``spec`` (:class:`CacheSpec`, file names), ``pairs`` (the source datasets and the shard's
pairs), ``shards`` (backbone pass, writing, checking and loading shards), ``dataset``
(:class:`CachedPairDataset`), ``cli`` (the CLI, run by ``__main__``).
"""
from __future__ import annotations

from ltr.data.feature_cache.cli import build_parser, main
from ltr.data.feature_cache.dataset import CachedPairDataset
from ltr.data.feature_cache.pairs import pair_datasets, raw_pairs
from ltr.data.feature_cache.shards import build_shard, ensure_cache, load_cache
from ltr.data.feature_cache.spec import (CACHE_VERSION, FEATURE_KEYS, CacheSpec, WideCacheSpec, cache_spec,
                                        default_cache_root, shard_path)

__all__ = ["CACHE_VERSION", "FEATURE_KEYS", "CacheSpec", "CachedPairDataset", "WideCacheSpec", "cache_spec", "build_parser", "build_shard", "default_cache_root",
           "ensure_cache", "load_cache", "main", "pair_datasets", "raw_pairs", "shard_path"]
