"""ATOM + a product of two EBMs: the ML-IS head (``default``) and the NCE+ head (``nce``), both shipped and trained on
the wide cache, refined on the sum of their scores, ``f = f_ML-IS + f_NCE+`` (the product of the two densities).
Everything else is ``default``'s (10 boxes, T = 3) but the step lengths: the paper's, the best for this pair of heads
on the 40 train-side sequences (paper x 0.5 / 1 / 2: 74.24 / 75.19 / 73.35, seed 0; docs/tuning_on_train.md)."""
from __future__ import annotations

from pytracking.parameter.atom.default import NCE_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.expert_paths = (network_path(NCE_NETWORK),)
    params.box_refinement_step_length = PAPER_STEP_LENGTH
    # the tracker adapts single network heads only (first-frame adaptation, on in default): not this product
    params.box_refinement_adapt_steps = 0
    return params
