"""ATOM with the EBM estimator (``atom/default``) against the IoU-Net baseline (``atom/iou``).

Each function returns ``(trackers, dataset)`` for ``python -m pytracking.run_experiment atom_ebm <function>``.
"""
from __future__ import annotations

from pytracking.evaluation import Sequence, Tracker, get_dataset, trackerlist


def _ebm_and_iou(run_ids=None) -> list[Tracker]:
    return trackerlist("atom", "default", run_ids) + trackerlist("atom", "iou", run_ids)


def uav() -> tuple[list[Tracker], list[Sequence]]:
    """UAV123 (the paper: ATOM 65.0 -> ATOM+EBM 67.2 AUC)."""
    return _ebm_and_iou(), get_dataset("uav")


def lasot() -> tuple[list[Tracker], list[Sequence]]:
    """LaSOT test set (280 sequences)."""
    return _ebm_and_iou(), get_dataset("lasot")


def trackingnet() -> tuple[list[Tracker], list[Sequence]]:
    """TrackingNet test (511 videos; pack with pytracking.util_scripts.pack_trackingnet)."""
    return _ebm_and_iou(), get_dataset("trackingnet")


def got10k_test() -> tuple[list[Tracker], list[Sequence]]:
    """GOT-10k test, 3 runs each (pack with pytracking.util_scripts.pack_got10k)."""
    return _ebm_and_iou(range(3)), get_dataset("got10k_test")


def demo() -> tuple[list[Tracker], list[Sequence]]:
    """The project's demo benchmark (test split)."""
    return _ebm_and_iou(), get_dataset("demo")
