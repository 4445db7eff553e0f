"""ATOM's IoU-Net estimator (MSE to 2 IoU - 1, 16 proposals per pair), the paper's data and schedule."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import BBRegConfig, paper_config, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    return paper_config("iou", __doc__.splitlines()[0])


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
