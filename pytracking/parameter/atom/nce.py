"""ATOM + EBM trained with NCE+ (Gustafsson et al., BMVC 2020), shipped weights
``pytracking/networks/atom_nce_effnet.pth`` (trained on the wide cache at 20 x 1000 pairs, as every shipped head).
``default``'s refinement (Algorithm S1, 10 boxes, T = 3) with NCE+'s own step lengths: the paper's x 4 =
(8e-4, 8e-4, 4e-3, 4e-3), the best multiplier of ``python -m pytracking.tune_refinement --dataset_name demo
wide_train`` for these weights at T = 3 on 40 train-side sequences (paper x 1 / 2 / 4 / 8: mean AUC 71.71 / 71.43 /
72.48 / 71.94, seed 0; three seeds 72.81 against ML-IS's 74.25; docs/tuning_on_train.md).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import NCE_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(NCE_NETWORK)
    params.box_refinement_step_length = tuple(4.0 * s for s in PAPER_STEP_LENGTH)
    # default's size evidence (box_refinement_size_min_gain) is a threshold in ML-IS's score units, not searched for
    # NCE+'s scores: off
    params.box_refinement_size_min_gain = 0.0
    # default's first-frame adaptation fits the head by ML-IS's objective: off (not searched for this head)
    params.box_refinement_adapt_steps = 0
    return params
