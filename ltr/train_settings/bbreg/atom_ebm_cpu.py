"""CPU setting: EBM estimator (ML-IS, M = 64) on EfficientNet-Lite0 with synthetic videos."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import BBRegConfig, cpu_config, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    return cpu_config("ml-is", __doc__.splitlines()[0])


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
