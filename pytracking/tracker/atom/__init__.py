"""ATOM-style tracker with an EBM (or IoU-Net) box estimator refined by gradient ascent."""
from __future__ import annotations

from typing import Any


def get_tracker_class() -> type:
    """The tracker class (``ATOM``), imported lazily so that listing trackers stays cheap."""
    from pytracking.tracker.atom.atom import ATOM

    return ATOM


def check_parameters(params: Any) -> None:
    """``ValueError`` naming the key (and the closest valid one) unless ``params`` are valid ATOM settings: every
    key known, every value of its type and range (:class:`~pytracking.tracker.atom.settings.ATOMSettings`)."""
    from pytracking.tracker.atom.settings import ATOMSettings, parameter_file_hint

    ATOMSettings.from_params(params, where=parameter_file_hint(params))
