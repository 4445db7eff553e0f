"""CPU setting: EBM estimator trained with NCE+ on EfficientNet-Lite0 (comparison)."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import BBRegConfig, cpu_config, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    return cpu_config("nce+", __doc__.splitlines()[0])


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
