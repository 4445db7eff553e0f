"""ATOM + EBM trained with NCE+ (Gustafsson et al., BMVC 2020), shipped weights
``pytracking/networks/atom_nce_effnet.pth`` (trained on the wide cache).

``default``'s refinement (Algorithm S1, 10 boxes, T = 3) with NCE+'s own step lengths: the paper's x 2 =
(4e-4, 4e-4, 2e-3, 2e-3), the best multiplier of ``python -m pytracking.tune_refinement --dataset_name demo
wide_train`` for these weights (wide cache) at T = 3 on 40 train-side sequences (paper x 0.25 / 0.5 / 1 / 2 / 4:
mean AUC 67.10 / 68.14 / 69.48 / 72.68 / 70.91, seed 0; docs/tuning_on_train.md). At T = 10 its best was the
paper's x 0.5 (71.84).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import NCE_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(NCE_NETWORK)
    params.box_refinement_step_length = tuple(2.0 * s for s in PAPER_STEP_LENGTH)
    return params
