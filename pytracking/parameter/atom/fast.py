"""ATOM + EBM with a cheaper refinement for real-time CPU use: 5 starting boxes, T = 3 steps
(4 forward/backward passes of the estimator instead of 11), image_sample_size 224.

The step lengths are ``default``'s (the paper's x 0.25, the settings' default; searched at T = 10, no search was run at
T = 3).
Measure with ``python -m pytracking.benchmark_tracker atom fast``:
about 21-24 ms per frame (40+ frames/s) on one thread of the development machine's 2-core Xeon,
against about 40 ms for ``default`` (docs/speed.md).
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
