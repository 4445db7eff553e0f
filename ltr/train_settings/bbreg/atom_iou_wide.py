"""Cached-feature setting on the wide cache: IoU-Net estimator on EfficientNet-Lite0 at 256, 40 x 1000 pairs (2 val shards)."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.data.feature_cache.spec import cache_spec
from ltr.train_settings.bbreg._cached import CachedConfig, cached_config, run_cached


def config(settings: TrainSettings) -> CachedConfig:
    return cached_config("iou", __doc__.splitlines()[0], spec=cache_spec("wide"), val_shards=2)


def run(settings: TrainSettings) -> dict:
    return run_cached(config(settings), settings)
