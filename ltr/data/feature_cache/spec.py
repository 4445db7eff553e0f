"""What a feature cache holds (:class:`CacheSpec`) and where its shards live."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltr.data.processing import BBRegProcessing

__all__ = ["CACHE_VERSION", "FEATURE_KEYS", "CacheSpec", "CropSpec", "WideCacheSpec", "cache_spec", "default_cache_root", "shard_path"]

CACHE_VERSION = 1
FEATURE_KEYS = ("train_feat_s8", "train_feat_s16", "test_feat_s8", "test_feat_s16")


@dataclass(frozen=True)
class CropSpec:
    """What every cache spec shares: the backbone (``network``, the registry constructor whose frozen backbone
    computes the features; its ``bb_regressor_layer`` maps are stored), the crop size and the crops' jitter.
    A pair's reference crop is centred on its box; the test crop's centre moves by up to
    ``test_center_jitter`` and its size by a factor ``exp(N(0, test_scale_jitter))`` (:class:`BBRegProcessing`)."""

    network: str = "atom_efficientnet_lite0"
    output_sz: int = 256
    search_area_factor: float = 5.0
    test_center_jitter: float = 4.5
    test_scale_jitter: float = 0.5
    brightness_jitter: float = 0.2
    grayscale_probability: float = 0.05

    def processing(self) -> BBRegProcessing:
        """The crops of a pair (the shards' ``processing.crops(data, rng)``)."""
        return BBRegProcessing(
            mode="ebm", search_area_factor=self.search_area_factor, output_sz=self.output_sz,
            center_jitter_factor={"train": 0.0, "test": self.test_center_jitter},
            scale_jitter_factor={"train": 0.0, "test": self.test_scale_jitter},
            brightness_jitter=self.brightness_jitter, grayscale_probability=self.grayscale_probability)


@dataclass(frozen=True)
class CacheSpec(CropSpec):
    """What the default cache holds (see :mod:`ltr.data.feature_cache`): ``num_shards`` shards of
    ``video_sequences_per_shard`` x ``pairs_per_sequence`` video pairs and ``still_pairs_per_shard`` stills."""

    num_shards: int = 24
    video_sequences_per_shard: int = 15
    pairs_per_sequence: int = 10
    still_pairs_per_shard: int = 50
    num_frames: int = 100
    max_gap: int = 50
    seed: int = 0

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


@dataclass(frozen=True)
class WideCacheSpec(CropSpec):
    """The ``wide`` cache (:mod:`ltr.data.feature_cache.wide`): per shard ``pairs_per_shard`` pairs, of which a
    ``legacy_fraction`` share comes from the default spec's train-side sources (3/4 of it video pairs,
    ``pairs_per_sequence`` per ``SyntheticVideo`` sequence of seed ``seed + 1``; the rest ``StillImagePairs``) and
    the rest are wide pairs (:mod:`ltr.synthetic.wide_pairs`) from the photo bank whose manifest digest is
    ``bank_digest``. Same shard format and processing as :class:`CacheSpec`."""

    num_shards: int = 40
    pairs_per_shard: int = 1000
    legacy_fraction: float = 0.25
    pairs_per_sequence: int = 10
    num_frames: int = 100
    max_gap: int = 50
    seed: int = 0
    bank_digest: str = ""

    def __post_init__(self) -> None:
        for name in ("output_sz", "num_shards", "pairs_per_shard", "pairs_per_sequence", "num_frames", "max_gap"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.legacy_fraction <= 1.0:
            raise ValueError(f"legacy_fraction must lie in [0, 1], got {self.legacy_fraction}")
        if not self.bank_digest:
            raise ValueError("bank_digest is empty: use cache_spec('wide', bank=...) (the photo bank's digest)")

    @property
    def name(self) -> str:
        return (f"wide_{self.network}_{self.output_sz}_{self.num_shards}x{self.pairs_per_shard}_s{self.seed}_"
                f"{self.bank_digest[:8]}")

    @property
    def legacy_video_sequences(self) -> int:
        """``SyntheticVideo`` sequences per shard."""
        return int(round(self.pairs_per_shard * self.legacy_fraction * 0.75 / self.pairs_per_sequence))

    @property
    def legacy_stills(self) -> int:
        """``StillImagePairs`` items per shard."""
        legacy = int(round(self.pairs_per_shard * self.legacy_fraction))
        return max(0, legacy - self.legacy_video_sequences * self.pairs_per_sequence)

    @property
    def wide_pairs(self) -> int:
        """Wide pairs per shard."""
        return max(0, self.pairs_per_shard - self.legacy_video_sequences * self.pairs_per_sequence
                   - self.legacy_stills)


#: Default size of the ``wide`` spec: 40 shards x 1000 pairs (the last 2 shards are the cached settings' val set).
WIDE_NUM_SHARDS = 40
WIDE_PAIRS_PER_SHARD = 1000


def cache_spec(name: str = "default", pairs_per_shard: int | None = None, num_shards: int | None = None,
               bank: str | Path | None = None, **kwargs) -> CacheSpec | WideCacheSpec:
    """The cache spec called ``name``: ``'default'`` (:class:`CacheSpec`, the shipped weights' cache; its size is
    fixed) or ``'wide'`` (:class:`WideCacheSpec` of ``num_shards`` x ``pairs_per_shard`` pairs, default
    40 x 1000, tied to the photo bank ``bank``, default ``<workspace>/photo_bank``)."""
    if name == "default":
        if pairs_per_shard is not None or num_shards is not None or bank is not None:
            raise ValueError("cache_spec('default') has a fixed size and no photo bank")
        return CacheSpec(**kwargs)
    if name == "wide":
        from ltr.synthetic.photo_bank import default_bank_path, manifest_digest

        return WideCacheSpec(num_shards=WIDE_NUM_SHARDS if num_shards is None else int(num_shards),
                             pairs_per_shard=WIDE_PAIRS_PER_SHARD if pairs_per_shard is None else int(pairs_per_shard),
                             bank_digest=manifest_digest(default_bank_path() if bank is None else bank), **kwargs)
    raise ValueError(f"cache spec name: expected 'default' or 'wide', got {name!r}")


def default_cache_root(workspace: str | Path, spec: CacheSpec | WideCacheSpec) -> Path:
    """``<workspace>/feature_cache/<spec.name>``."""
    return Path(workspace) / "feature_cache" / spec.name


def shard_path(root: Path, shard: int) -> Path:
    """``<root>/shard_XXX.pt``."""
    return root / f"shard_{shard:03d}.pt"
