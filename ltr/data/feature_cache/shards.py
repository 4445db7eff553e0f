"""Cache shards: the frozen backbone run on a shard's processed pairs, written atomically; checked and
loaded back (``weights_only=True``)."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch
from tqdm import tqdm

from ltr.admin.checkpoint import atomic_torch_save
from ltr.data.feature_cache.pairs import pair_datasets, raw_pairs
from ltr.data.feature_cache.spec import CACHE_VERSION, FEATURE_KEYS, CacheSpec, WideCacheSpec, shard_path

__all__ = ["backbone_features", "build_shard", "ensure_cache", "load_cache"]


def backbone_features(net: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The frozen backbone's two estimator maps (``net.bb_regressor_layer``) of ``images`` ``[B, 3, S, S]`` as
    contiguous float16. The input goes in channels-last: the same values to float rounding, and on a CPU
    about 1.7x faster than the default layout (27 against 46 ms a 256 px crop, 2 threads, batch 16)."""
    feats = net.extract_backbone_features(images.float().contiguous(memory_format=torch.channels_last))
    layers = net.bb_regressor_layer
    return tuple(feats[name].half().contiguous() for name in layers[:2])  # type: ignore[return-value]


@torch.no_grad()
def build_shard(spec: CacheSpec, shard: int, root: str | Path, net: torch.nn.Module | None = None,
                batch_pairs: int = 8, show_progress: bool = True) -> Path:
    """Compute shard ``shard`` of ``spec`` and write it to ``<root>/shard_XXX.pt`` (atomically)."""
    if not 0 <= shard < spec.num_shards:
        raise ValueError(f"shard must lie in [0, {spec.num_shards}), got {shard}")
    if net is None:
        from ltr.models import registry
        net = registry.build(spec.network)
    net.eval()
    processing = spec.processing()
    videos, stills = pair_datasets(spec)
    out: dict[str, list[torch.Tensor]] = {k: [] for k in FEATURE_KEYS + ("train_boxes", "test_boxes")}
    meta: dict[str, list[int]] = {"sequence": [], "source": []}
    pending: list[dict[str, torch.Tensor]] = []

    def flush() -> None:
        if not pending:
            return
        images = torch.cat([torch.cat([p["train_images"], p["test_images"]]) for p in pending])  # [2n, 3, S, S]
        s8, s16 = backbone_features(net, images)
        out["train_feat_s8"].append(s8[0::2])
        out["test_feat_s8"].append(s8[1::2])
        out["train_feat_s16"].append(s16[0::2])
        out["test_feat_s16"].append(s16[1::2])
        out["train_boxes"].append(torch.cat([p["train_boxes"] for p in pending]))
        out["test_boxes"].append(torch.cat([p["test_boxes"] for p in pending]))
        pending.clear()

    bar = tqdm(total=spec.pairs_per_shard, desc=f"cache shard {shard}", disable=not show_progress, leave=False)
    for source, seq, data, rng in raw_pairs(spec, shard, videos, stills):
        pending.append(processing.crops(data, rng))
        meta["source"].append(source)
        meta["sequence"].append(seq)
        if len(pending) >= batch_pairs:
            flush()
        bar.update(1)
    flush()
    bar.close()
    state: dict[str, Any] = {"version": CACHE_VERSION, "spec": asdict(spec), "shard": int(shard)}
    state.update({k: torch.cat(v).contiguous() for k, v in out.items()})
    state.update({k: torch.tensor(v, dtype=torch.int64) for k, v in meta.items()})
    return atomic_torch_save(state, shard_path(Path(root), shard))


def _load_shard(path: Path, spec: CacheSpec | WideCacheSpec) -> dict[str, Any]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        raise ValueError(f"{path}: not a feature-cache shard of version {CACHE_VERSION}")
    if data.get("spec") != asdict(spec):
        raise ValueError(f"{path}: built for spec {data.get('spec')}, expected {asdict(spec)}; "
                         f"delete the folder or choose another root")
    return data


def ensure_cache(root: str | Path, spec: CacheSpec | WideCacheSpec, shards: Sequence[int] | None = None,
                 show_progress: bool = True) -> list[Path]:
    """Build the missing shards (default: all) of ``spec`` under ``root``; return all their paths.
    A :class:`WideCacheSpec` is built by :func:`ltr.data.feature_cache.wide.ensure_wide_cache` (one process, CPU)."""
    if isinstance(spec, WideCacheSpec):
        from ltr.data.feature_cache.wide import ensure_wide_cache
        return ensure_wide_cache(root, spec, shards, show_progress=show_progress)
    root = Path(root)
    shards = list(range(spec.num_shards)) if shards is None else [int(s) for s in shards]
    missing = [s for s in shards if not shard_path(root, s).is_file()]
    net = None
    for shard in missing:
        if net is None:
            from ltr.models import registry
            net = registry.build(spec.network)
        start = time.perf_counter()
        path = build_shard(spec, shard, root, net, show_progress=show_progress)
        if show_progress:
            tqdm.write(f"[feature cache] {path} ({spec.pairs_per_shard} pairs, {time.perf_counter() - start:.0f} s, "
                       f"{path.stat().st_size / 1e6:.0f} MB)")
    return [shard_path(root, s) for s in shards]


def load_cache(root: str | Path, spec: CacheSpec | WideCacheSpec, shards: Sequence[int]) -> dict[str, torch.Tensor]:
    """Concatenate the shards ``shards`` of ``spec`` (all must exist) into one dict of tensors."""
    root = Path(root)
    parts = []
    for shard in shards:
        path = shard_path(root, shard)
        if not path.is_file():
            raise ValueError(f"feature cache shard missing: {path} (build it with python -m ltr.data.feature_cache)")
        parts.append(_load_shard(path, spec))
    keys = FEATURE_KEYS + ("train_boxes", "test_boxes", "sequence", "source")
    return {k: torch.cat([p[k] for p in parts]) for k in keys}
