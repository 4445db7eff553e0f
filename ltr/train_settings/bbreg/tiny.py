"""Tiny setting for tests: atom_tiny network, tiny synthetic videos, 64 px crops, 2 iterations per epoch."""
from __future__ import annotations

from ltr.actors.methods import get_method
from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg.common import BBRegConfig, run_config


def config(settings: TrainSettings) -> BBRegConfig:
    method = settings.extra.get("method", "ml-is")
    network = get_method(method, "tiny.py --method").network_name("tiny")
    return BBRegConfig(description=__doc__.splitlines()[0], network=network, method=method,
                       train_datasets=[("synthetic_video", {"split": "train", "num_sequences": 4, "num_frames": 12, "image_size": (96, 72), "jpeg_quality": None})],
                       max_gap=10, output_sz=64, num_proposals=16, iou_boxes_per_frame=4,
                       samples_per_epoch=4, batch_size=2, num_workers=0, epochs=2, lr_step_epochs=1)


def run(settings: TrainSettings) -> dict:
    return run_config(config(settings), settings)
