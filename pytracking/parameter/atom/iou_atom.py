"""IoU-Net as ATOM ran it: the ``iou`` parameter file with T = 5 refinement steps (ATOM's count) instead of the
comparison's T = 3 (``default``'s)."""
from __future__ import annotations

from pytracking.parameter.atom.iou import parameters as iou_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = iou_parameters()
    params.box_refinement_iter = 5
    return params
