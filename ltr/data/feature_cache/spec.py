"""What a feature cache holds (:class:`CacheSpec`) and where its shards live."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltr.data.processing import BBRegProcessing

__all__ = ["CACHE_VERSION", "FEATURE_KEYS", "CacheSpec", "default_cache_root", "shard_path"]

CACHE_VERSION = 1
FEATURE_KEYS = ("train_feat_s8", "train_feat_s16", "test_feat_s8", "test_feat_s16")


@dataclass(frozen=True)
class CacheSpec:
    """What a cache holds (see :mod:`ltr.data.feature_cache`). ``network`` is the registry constructor whose
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


def shard_path(root: Path, shard: int) -> Path:
    """``<root>/shard_XXX.pt``."""
    return root / f"shard_{shard:03d}.pt"
