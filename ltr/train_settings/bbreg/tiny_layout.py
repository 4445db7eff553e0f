"""Tiny setting on the paper's datasets (official layouts): atom_tiny network, 64 px crops, for tests of the data path."""
from __future__ import annotations

from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import PAPER_TRAIN_DATASETS, BBRegConfig, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    return BBRegConfig(description=__doc__.splitlines()[0], network="atom_tiny", method="ml-is",
                       train_datasets=list(PAPER_TRAIN_DATASETS), p_datasets=[1.0, 1.0, 1.0, 1.0],
                       max_gap=10, output_sz=64, num_proposals=16, samples_per_epoch=4, batch_size=2,
                       num_workers=0, epochs=1, lr_step_epochs=1)


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
