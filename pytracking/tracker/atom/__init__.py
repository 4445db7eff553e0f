"""ATOM-style tracker with an EBM (or IoU-Net) box estimator refined by gradient ascent."""
from __future__ import annotations


def get_tracker_class() -> type:
    """The tracker class (``ATOM``), imported lazily so that listing trackers stays cheap."""
    from pytracking.tracker.atom.atom import ATOM

    return ATOM
