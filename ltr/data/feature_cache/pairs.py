"""The pairs of a cache shard: the train-side source datasets and the pairs drawn from them (reproducible
per shard from ``numpy.random.default_rng([seed, shard, source, ...])``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ltr.data.feature_cache.spec import CacheSpec
from ltr.dataset.still_image_pairs import StillImagePairs
from ltr.dataset.synthetic_video import SyntheticVideo

__all__ = ["pair_datasets", "raw_pairs", "still_pair", "video_pairs"]


def pair_datasets(spec: CacheSpec) -> tuple[Any, Any]:
    """The train-side videos and stills the cache draws its pairs from."""
    videos = SyntheticVideo(num_sequences=spec.num_shards * spec.video_sequences_per_shard,
                            num_frames=spec.num_frames, seed=spec.seed, split="train", cache_size=2)
    stills = StillImagePairs(num_items=max(spec.num_shards * spec.still_pairs_per_shard, 1), seed=spec.seed,
                             split="train", cache_size=2)
    return videos, stills


def raw_pairs(spec: CacheSpec, shard: int, videos: Any, stills: Any):
    """Yield ``(source, sequence id, data dict, rng)`` of the shard's pairs (see :mod:`ltr.data.feature_cache`)."""
    v0 = shard * spec.video_sequences_per_shard
    for seq in range(v0, v0 + spec.video_sequences_per_shard):
        for data, rng in video_pairs(videos, seq, spec.pairs_per_sequence, spec.max_gap, spec.seed, shard):
            yield 0, seq, data, rng
    s0 = shard * spec.still_pairs_per_shard
    for item in range(s0, s0 + spec.still_pairs_per_shard):
        pair = still_pair(stills, item, spec.seed, shard)
        if pair is not None:
            yield (1, item) + pair


def video_pairs(videos, seq: int, pairs_per_sequence: int, max_gap: int, seed: int, shard: int):
    """Yield ``pairs_per_sequence`` pairs ``(data, rng)`` of video ``seq`` for :meth:`BBRegProcessing.crops`: a
    visible reference frame and a visible test frame at most ``max_gap`` frames from it (the reference itself if
    there is none), drawn by the generator seeded ``[seed, shard, 0, seq, j]`` for pair ``j``; none when fewer
    than two frames are visible."""
    info = videos.get_sequence_info(seq)
    ids = np.flatnonzero(info["visible"].numpy())
    if ids.size < 2:
        return
    boxes = info["bbox"].numpy()
    for j in range(pairs_per_sequence):
        rng = np.random.default_rng([seed, shard, 0, seq, j])
        ref = int(rng.choice(ids))
        near = ids[(np.abs(ids - ref) <= max_gap) & (ids != ref)]
        test = int(rng.choice(near)) if near.size else ref
        frames, _, _ = videos.get_frames(seq, [ref, test], info)
        yield {"train_images": [frames[0]], "train_boxes": [boxes[ref]],
               "test_images": [frames[1]], "test_boxes": [boxes[test]]}, rng


def still_pair(stills, item: int, seed: int, shard: int):
    """The still ``item`` paired with itself: ``(data, rng)`` for :meth:`BBRegProcessing.crops`, the generator
    seeded ``[seed, shard, 1, item]``; ``None`` when the still has no visible frame."""
    info = stills.get_sequence_info(item)
    ids = np.flatnonzero(info["visible"].numpy())
    if ids.size < 1:
        return None
    frame = int(ids[0])
    rng = np.random.default_rng([seed, shard, 1, item])
    frames, _, _ = stills.get_frames(item, [frame, frame], info)
    box = info["bbox"].numpy()[frame]
    return {"train_images": [frames[0]], "train_boxes": [box], "test_images": [frames[1]], "test_boxes": [box]}, rng
