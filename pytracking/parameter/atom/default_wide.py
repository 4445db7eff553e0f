"""``default`` (ATOM + EBM, ML-IS) with the head trained on the wide cache
(``pytracking/networks/atom_ebm_wide_effnet.pth``): the same rule as every shipped head (8 epochs, batch 8, lowest
validation loss) on 8000 train pairs of the wide renderer and the default sources (docs/training_data.md).

Steps (1e-4, 1e-4, 5e-4, 5e-4), the paper's x 0.5: the best multiplier of ``python -m pytracking.tune_refinement
--params default --net_dir DIR`` for these weights on the demo benchmark's train split (paper x 0.25 / 0.5 / 1 / 2:
mean AUC 62.03 / 63.52 / 61.88 / 62.24; docs/tuning_on_train.md). On that search the shipped ML-IS head scores 65.33,
so ``default`` keeps it (the rule: weights are chosen on train-side data only).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import EBM_WIDE_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.tracker.atom.settings import PAPER_STEP_LENGTH
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(EBM_WIDE_NETWORK)
    params.box_refinement_step_length = tuple(0.5 * s for s in PAPER_STEP_LENGTH)
    return params
