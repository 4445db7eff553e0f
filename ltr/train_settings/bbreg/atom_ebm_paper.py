"""ATOM + EBM estimator trained with ML-IS (M = 128), the paper's data and schedule (ResNet-18)."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import BBRegConfig, paper_config, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    return paper_config("ml-is", __doc__.splitlines()[0])


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
