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
source), ``source`` (``[n]``: 0 video, 1 still). Shards are written atomically.

CLI: ``python -m ltr.data.feature_cache [--root DIR] [--shards 0,1,...] [--threads N]``
(default root: ``<workspace>/feature_cache/<spec name>``).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ltr.admin.cli import add_alias
from ltr.admin.checkpoint import atomic_torch_save
from ltr.data.processing import BBRegProcessing

__all__ = ["CACHE_VERSION", "CacheSpec", "build_shard", "ensure_cache", "load_cache", "CachedPairDataset",
           "default_cache_root", "main"]

CACHE_VERSION = 1
FEATURE_KEYS = ("train_feat_s8", "train_feat_s16", "test_feat_s8", "test_feat_s16")


@dataclass(frozen=True)
class CacheSpec:
    """What a cache holds (see the module docstring). ``network`` is the registry constructor whose
    (frozen) backbone computes the features; its ``bb_regressor_layer`` maps are stored."""

    network: str = "atom_efficientnet_lite0"
    output_sz: int = 256
    num_shards: int = 24
    video_sequences_per_shard: int = 15
    pairs_per_sequence: int = 10
    still_pairs_per_shard: int = 50
    num_frames: int = 100
    max_gap: int = 50
    seed: int = 0
    search_area_factor: float = 5.0
    test_center_jitter: float = 4.5
    test_scale_jitter: float = 0.5
    brightness_jitter: float = 0.2
    grayscale_probability: float = 0.05

    def __post_init__(self) -> None:
        for name in ("output_sz", "num_shards", "video_sequences_per_shard", "pairs_per_sequence", "num_frames",
                     "max_gap"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.still_pairs_per_shard < 0:
            raise ValueError(f"still_pairs_per_shard must be >= 0, got {self.still_pairs_per_shard}")

    @property
    def name(self) -> str:
        return f"{self.network}_{self.output_sz}_s{self.seed}"

    @property
    def pairs_per_shard(self) -> int:
        return self.video_sequences_per_shard * self.pairs_per_sequence + self.still_pairs_per_shard

    def processing(self) -> BBRegProcessing:
        return BBRegProcessing(
            mode="ebm", search_area_factor=self.search_area_factor, output_sz=self.output_sz,
            center_jitter_factor={"train": 0.0, "test": self.test_center_jitter},
            scale_jitter_factor={"train": 0.0, "test": self.test_scale_jitter},
            brightness_jitter=self.brightness_jitter, grayscale_probability=self.grayscale_probability)


def default_cache_root(workspace: str | Path, spec: CacheSpec) -> Path:
    """``<workspace>/feature_cache/<spec.name>``."""
    return Path(workspace) / "feature_cache" / spec.name


def _shard_path(root: Path, shard: int) -> Path:
    return root / f"shard_{shard:03d}.pt"


def _datasets(spec: CacheSpec) -> tuple[Any, Any]:
    from ltr.dataset.synthetic_video import SyntheticVideo
    from ltr.dataset.still_image_pairs import StillImagePairs
    videos = SyntheticVideo(num_sequences=spec.num_shards * spec.video_sequences_per_shard,
                            num_frames=spec.num_frames, seed=spec.seed, split="train", cache_size=2)
    stills = StillImagePairs(num_items=max(spec.num_shards * spec.still_pairs_per_shard, 1), seed=spec.seed,
                             split="train", cache_size=2)
    return videos, stills


def _raw_pairs(spec: CacheSpec, shard: int, videos: Any, stills: Any):
    """Yield ``(source, sequence id, data dict, rng)`` of the shard's pairs (see module docstring)."""
    v0 = shard * spec.video_sequences_per_shard
    for seq in range(v0, v0 + spec.video_sequences_per_shard):
        info = videos.get_sequence_info(seq)
        ids = np.flatnonzero(info["visible"].numpy())
        if ids.size < 2:
            continue
        boxes = info["bbox"].numpy()
        for j in range(spec.pairs_per_sequence):
            rng = np.random.default_rng([spec.seed, shard, 0, seq, j])
            ref = int(rng.choice(ids))
            near = ids[(np.abs(ids - ref) <= spec.max_gap) & (ids != ref)]
            test = int(rng.choice(near)) if near.size else ref
            frames, _, _ = videos.get_frames(seq, [ref, test], info)
            yield 0, seq, {"train_images": [frames[0]], "train_boxes": [boxes[ref]],
                           "test_images": [frames[1]], "test_boxes": [boxes[test]]}, rng
    s0 = shard * spec.still_pairs_per_shard
    for item in range(s0, s0 + spec.still_pairs_per_shard):
        info = stills.get_sequence_info(item)
        ids = np.flatnonzero(info["visible"].numpy())
        if ids.size < 1:
            continue
        frame = int(ids[0])
        rng = np.random.default_rng([spec.seed, shard, 1, item])
        frames, _, _ = stills.get_frames(item, [frame, frame], info)
        box = info["bbox"].numpy()[frame]
        yield 1, item, {"train_images": [frames[0]], "train_boxes": [box],
                        "test_images": [frames[1]], "test_boxes": [box]}, rng


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
    layers = net.bb_regressor_layer
    processing = spec.processing()
    videos, stills = _datasets(spec)
    out: dict[str, list[torch.Tensor]] = {k: [] for k in FEATURE_KEYS + ("train_boxes", "test_boxes")}
    meta: dict[str, list[int]] = {"sequence": [], "source": []}
    pending: list[dict[str, torch.Tensor]] = []

    def flush() -> None:
        if not pending:
            return
        images = torch.cat([torch.cat([p["train_images"], p["test_images"]]) for p in pending])  # [2n, 3, S, S]
        feats = net.extract_backbone_features(images)
        s8, s16 = feats[layers[0]].half(), feats[layers[1]].half()
        out["train_feat_s8"].append(s8[0::2])
        out["test_feat_s8"].append(s8[1::2])
        out["train_feat_s16"].append(s16[0::2])
        out["test_feat_s16"].append(s16[1::2])
        out["train_boxes"].append(torch.cat([p["train_boxes"] for p in pending]))
        out["test_boxes"].append(torch.cat([p["test_boxes"] for p in pending]))
        pending.clear()

    bar = tqdm(total=spec.pairs_per_shard, desc=f"cache shard {shard}", disable=not show_progress, leave=False)
    for source, seq, data, rng in _raw_pairs(spec, shard, videos, stills):
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
    return atomic_torch_save(state, _shard_path(Path(root), shard))


def _load_shard(path: Path, spec: CacheSpec) -> dict[str, Any]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        raise ValueError(f"{path}: not a feature-cache shard of version {CACHE_VERSION}")
    if data.get("spec") != asdict(spec):
        raise ValueError(f"{path}: built for spec {data.get('spec')}, expected {asdict(spec)}; "
                         f"delete the folder or choose another root")
    return data


def ensure_cache(root: str | Path, spec: CacheSpec, shards: Sequence[int] | None = None,
                 show_progress: bool = True) -> list[Path]:
    """Build the missing shards (default: all) of ``spec`` under ``root``; return all their paths."""
    root = Path(root)
    shards = list(range(spec.num_shards)) if shards is None else [int(s) for s in shards]
    missing = [s for s in shards if not _shard_path(root, s).is_file()]
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
    return [_shard_path(root, s) for s in shards]


def load_cache(root: str | Path, spec: CacheSpec, shards: Sequence[int]) -> dict[str, torch.Tensor]:
    """Concatenate the shards ``shards`` of ``spec`` (all must exist) into one dict of tensors."""
    root = Path(root)
    parts = []
    for shard in shards:
        path = _shard_path(root, shard)
        if not path.is_file():
            raise ValueError(f"feature cache shard missing: {path} (build it with python -m ltr.data.feature_cache)")
        parts.append(_load_shard(path, spec))
    keys = FEATURE_KEYS + ("train_boxes", "test_boxes", "sequence", "source")
    return {k: torch.cat([p[k] for p in parts]) for k in keys}


class CachedPairDataset(torch.utils.data.Dataset):
    """Items of cached pairs with fresh candidate boxes (``processing.candidates``) per epoch.

    Item ``i`` of epoch ``e`` is pair ``perm_e[i]`` (``perm_e`` a permutation drawn from
    ``default_rng([seed, e])``; identity when ``shuffle`` is False) with candidates drawn from
    ``default_rng([seed, e, i])``; with ``fixed_epoch`` (validation) ``e`` stays 0. Output as
    :class:`BBRegProcessing` but with ``train_feat_s8/s16 [1, C, H, W]`` and ``test_feat_s8/s16
    [1, C, H, W]`` (float32) in place of the images.
    """

    def __init__(self, cache: dict[str, torch.Tensor], processing: BBRegProcessing, seed: int = 0,
                 shuffle: bool = True, fixed_epoch: bool = False):
        missing = [k for k in FEATURE_KEYS + ("train_boxes", "test_boxes") if k not in cache]
        if missing:
            raise ValueError(f"cache lacks {missing}")
        self.cache = cache
        self.processing = processing
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.fixed_epoch = bool(fixed_epoch)
        self.num_pairs = int(cache["train_boxes"].shape[0])
        if self.num_pairs < 1:
            raise ValueError("cache holds no pairs")
        self.epoch = 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_pairs)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_pairs)

    def set_epoch(self, epoch: int) -> None:
        if not self.fixed_epoch:
            self.epoch = int(epoch)
            self._perm = self._permutation(self.epoch)

    def __len__(self) -> int:
        return self.num_pairs

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        pair = int(self._perm[index])
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        item = {k: self.cache[k][pair:pair + 1].float() for k in FEATURE_KEYS}
        item["train_boxes"] = self.cache["train_boxes"][pair:pair + 1].float()
        item["test_boxes"] = self.cache["test_boxes"][pair:pair + 1].float()
        item.update(self.processing.candidates(item["test_boxes"], rng))
        return item


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.data.feature_cache",
                                     description="Build backbone-feature cache shards (default spec).")
    parser.add_argument("--root", default=None, help="cache folder (default: <workspace>/feature_cache/<spec>)")
    parser.add_argument("--shards", default=None, help="comma-separated shard ids (default: all)")
    parser.add_argument("--torch_threads", type=int, default=None, help="torch intra-op threads")
    add_alias(parser, "--threads", "--torch_threads")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    spec = CacheSpec()
    if args.root is None:
        from ltr.admin.local_settings import load_settings
        root = default_cache_root(load_settings().workspace, spec)
    else:
        root = Path(args.root)
    shards = None if args.shards is None else [int(s) for s in args.shards.split(",") if s.strip()]
    ensure_cache(root, spec, shards)


if __name__ == "__main__":
    main()
