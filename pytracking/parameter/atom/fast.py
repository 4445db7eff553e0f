"""ATOM + EBM, cheaper still for slow CPUs: ``default`` (T = 3 steps at the paper's step lengths) with 5 starting
boxes instead of 10 and image_sample_size 224 instead of 256 (a smaller backbone pass).

Nothing here was searched: the step and T are ``default``'s. Measure with ``python -m pytracking.benchmark_tracker
atom fast`` (docs/speed.md); its accuracy is in the README's comparison tables.
"""
from __future__ import annotations

from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.image_sample_size = 224
    params.box_refinement_num_boxes = 5
    params.box_refinement_iter = 3
    return params
