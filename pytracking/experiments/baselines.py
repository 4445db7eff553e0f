"""Baseline experiments with OpenCV's trackers (no network weights needed)."""
from __future__ import annotations

from pytracking.evaluation import Sequence, Tracker, get_dataset, trackerlist


def opencv_uav() -> tuple[list[Tracker], list[Sequence]]:
    """CSRT and KCF on UAV123."""
    return trackerlist("opencv", "csrt") + trackerlist("opencv", "kcf"), get_dataset("uav")


def opencv_lasot() -> tuple[list[Tracker], list[Sequence]]:
    """CSRT and KCF on the LaSOT test set."""
    return trackerlist("opencv", "csrt") + trackerlist("opencv", "kcf"), get_dataset("lasot")


def opencv_demo() -> tuple[list[Tracker], list[Sequence]]:
    """CSRT and KCF on the demo benchmark's test split."""
    return trackerlist("opencv", "csrt") + trackerlist("opencv", "kcf"), get_dataset("demo")
