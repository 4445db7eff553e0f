"""Shards of the ``wide`` cache (:class:`WideCacheSpec`): many CPU processes render and crop pairs, ONE process
runs the frozen backbone on the device in large batches and writes the shards.

Shard ``k`` holds, in this order: ``pairs_per_sequence`` pairs from each of the ``SyntheticVideo(split='train',
seed=seed + 1)`` sequences ``k * V .. (k + 1) * V - 1`` (source 0, drawn as in the default spec), one pair from each
of the ``StillImagePairs(split='train', seed=seed + 1)`` items ``k * S ..`` (source 1), then ``wide_pairs`` pairs of
:mod:`ltr.synthetic.wide_pairs` (source 2, ``sequence`` = index within the shard). Pair randomness comes from
``numpy.random.default_rng([seed, shard, source, ...])`` (render and crop jitter alike), so a shard's content does not
depend on the number of processes or on the other shards. Crops travel from the render processes as float16
(also with one process, so every build gives the same shard); the backbone runs on them in float32.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ltr.admin.checkpoint import atomic_torch_save
from ltr.data.feature_cache.pairs import still_pair, video_pairs
from ltr.data.feature_cache.shards import backbone_features
from ltr.data.feature_cache.spec import CACHE_VERSION, FEATURE_KEYS, WideCacheSpec, shard_path

__all__ = ["ensure_wide_cache", "shard_tasks"]

#: Pairs per render task (one video sequence is always one task).
TASK_PAIRS = 25

_WORKER: dict[str, Any] = {}


def _init_worker(spec: WideCacheSpec, bank: str, single_thread: bool) -> None:
    from ltr.dataset.still_image_pairs import StillImagePairs
    from ltr.dataset.synthetic_video import SyntheticVideo
    from ltr.synthetic.photo_bank import load_bank, manifest_digest

    if single_thread:
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
    if manifest_digest(bank) != spec.bank_digest:
        raise ValueError(f"{bank}: photo bank digest {manifest_digest(bank)} differs from the spec's "
                         f"{spec.bank_digest} (the cache was specified for another bank)")
    _WORKER.update(spec=spec, processing=spec.processing(), bank=load_bank(bank),
                   videos=SyntheticVideo(num_sequences=max(spec.num_shards * spec.legacy_video_sequences, 1),
                                         num_frames=spec.num_frames, seed=spec.seed + 1, split="train", cache_size=2),
                   stills=StillImagePairs(num_items=max(spec.num_shards * spec.legacy_stills, 1), seed=spec.seed + 1,
                                          split="train", cache_size=2))


def shard_tasks(spec: WideCacheSpec, shard: int) -> list[tuple[int, int, int, int]]:
    """``(shard, source, start, stop)`` render tasks of one shard, in shard order."""
    tasks = []
    v0 = shard * spec.legacy_video_sequences
    tasks += [(shard, 0, seq, seq + 1) for seq in range(v0, v0 + spec.legacy_video_sequences)]
    s0 = shard * spec.legacy_stills
    tasks += [(shard, 1, i, min(i + TASK_PAIRS, s0 + spec.legacy_stills)) for i in range(s0, s0 + spec.legacy_stills,
                                                                                         TASK_PAIRS)]
    tasks += [(shard, 2, i, min(i + TASK_PAIRS, spec.wide_pairs)) for i in range(0, spec.wide_pairs, TASK_PAIRS)]
    return tasks


def _half(crops: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: (v.half() if k.endswith("images") else v) for k, v in crops.items()}


def _render_task(task: tuple[int, int, int, int]) -> list[tuple[int, int, dict[str, torch.Tensor]]]:
    """``[(source, sequence, crops)]`` of one task (see :func:`shard_tasks`), crops' images in float16."""
    from ltr.synthetic.wide_pairs import wide_pair

    spec: WideCacheSpec = _WORKER["spec"]
    processing = _WORKER["processing"]
    shard, source, start, stop = task
    out = []
    if source == 0:
        videos = _WORKER["videos"]
        for data, rng in video_pairs(videos, start, spec.pairs_per_sequence, spec.max_gap, spec.seed, shard):
            out.append((0, start, _half(processing.crops(data, rng))))
    elif source == 1:
        stills = _WORKER["stills"]
        for item in range(start, stop):
            pair = still_pair(stills, item, spec.seed, shard)
            if pair is not None:
                out.append((1, item, _half(processing.crops(*pair))))
    else:
        bank = _WORKER["bank"]
        for index in range(start, stop):
            rng = np.random.default_rng([spec.seed, shard, 2, index])
            ref, ref_box, test, test_box, _ = wide_pair(bank, rng)
            data = {"train_images": [ref], "train_boxes": [ref_box], "test_images": [test], "test_boxes": [test_box]}
            out.append((2, index, _half(processing.crops(data, rng))))
    return out


@torch.no_grad()
def ensure_wide_cache(root: str | Path, spec: WideCacheSpec, shards: Sequence[int] | None = None,
                      bank: str | Path | None = None, processes: int = 1, device: str | torch.device = "cpu",
                      batch_crops: int = 256, net: torch.nn.Module | None = None,
                      show_progress: bool = True) -> list[Path]:
    """Build the missing shards (default: all) of ``spec`` under ``root`` and return all their paths.

    ``processes`` render processes (1: in this process) feed one backbone on ``device``, ``batch_crops``
    crops (reference and test count one each) per backbone call. ``bank`` defaults to ``<workspace>/photo_bank``.
    """
    from ltr.synthetic.photo_bank import default_bank_path

    root = Path(root)
    shards = list(range(spec.num_shards)) if shards is None else [int(s) for s in shards]
    bad = [s for s in shards if not 0 <= s < spec.num_shards]
    if bad:
        raise ValueError(f"--shards: {bad} outside [0, {spec.num_shards})")
    missing = [s for s in shards if not shard_path(root, s).is_file()]
    if not missing:
        return [shard_path(root, s) for s in shards]
    bank = str(default_bank_path() if bank is None else bank)
    tasks = [t for s in missing for t in shard_tasks(spec, s)]
    remaining = {s: sum(1 for t in tasks if t[0] == s) for s in missing}
    processes = max(1, int(processes))
    pool = None
    if processes > 1:  # spawned, not forked: a fork of a process whose torch/OpenCV thread pools ran can hang
        pool = mp.get_context("spawn").Pool(processes, initializer=_init_worker, initargs=(spec, bank, True))
        results = pool.imap(_render_task, tasks, chunksize=1)
    else:
        _init_worker(spec, bank, False)
        results = map(_render_task, tasks)
    device = torch.device(device)
    if net is None:
        from ltr.models import registry
        net = registry.build(spec.network)
    net.eval().to(device)
    outputs = {s: {k: [] for k in FEATURE_KEYS + ("train_boxes", "test_boxes", "sequence", "source")} for s in missing}
    pending: list[tuple[int, int, int, dict[str, torch.Tensor]]] = []
    bar = tqdm(total=len(missing) * spec.pairs_per_shard, desc=f"wide cache ({processes} proc, {device})",
               disable=not show_progress, unit="pair")
    start_time = time.perf_counter()

    def flush() -> None:
        if not pending:
            return
        images = torch.cat([torch.cat([c["train_images"], c["test_images"]]) for *_, c in pending])
        s8, s16 = (f.cpu() for f in backbone_features(net, images.to(device, non_blocking=True)))
        for i, (shard, source, seq, crops) in enumerate(pending):
            o = outputs[shard]
            o["train_feat_s8"].append(s8[2 * i:2 * i + 1])
            o["test_feat_s8"].append(s8[2 * i + 1:2 * i + 2])
            o["train_feat_s16"].append(s16[2 * i:2 * i + 1])
            o["test_feat_s16"].append(s16[2 * i + 1:2 * i + 2])
            o["train_boxes"].append(crops["train_boxes"])
            o["test_boxes"].append(crops["test_boxes"])
            o["source"].append(source)
            o["sequence"].append(seq)
        pending.clear()

    try:
        for task, result in zip(tasks, results):
            shard = task[0]
            pending.extend((shard, source, seq, crops) for source, seq, crops in result)
            bar.update(len(result))
            if 2 * len(pending) >= batch_crops:
                flush()
            remaining[shard] -= 1
            if remaining[shard] == 0:
                flush()
                o = outputs.pop(shard)
                state: dict[str, Any] = {"version": CACHE_VERSION, "spec": asdict(spec), "shard": int(shard)}
                state.update({k: torch.cat(o[k]).contiguous() for k in FEATURE_KEYS + ("train_boxes", "test_boxes")})
                state.update({k: torch.tensor(o[k], dtype=torch.int64) for k in ("sequence", "source")})
                path = atomic_torch_save(state, shard_path(root, shard))
                if show_progress:
                    tqdm.write(f"[wide cache] {path} ({len(o['source'])} pairs, "
                               f"{path.stat().st_size / 1e6:.0f} MB)")
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    if show_progress:
        seconds = time.perf_counter() - start_time
        pairs = len(missing) * spec.pairs_per_shard
        tqdm.write(f"[wide cache] {pairs} pairs in {seconds:.1f} s ({1000 * seconds / max(pairs, 1):.1f} ms/pair)")
    return [shard_path(root, s) for s in shards]

