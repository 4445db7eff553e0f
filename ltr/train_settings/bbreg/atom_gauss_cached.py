"""Cached-feature setting: Gaussian-NLL direct regression head (16 initial boxes) on EfficientNet-Lite0 at 256 (the shipped atom_gauss_effnet.pth)."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg._cached import CachedConfig, cached_config, run_cached


def config(settings: TrainSettings) -> CachedConfig:
    return cached_config("gauss", __doc__.splitlines()[0])


def run(settings: TrainSettings) -> dict:
    return run_cached(config(settings), settings)
