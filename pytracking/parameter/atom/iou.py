"""ATOM with an IoU-Net-trained estimator (confidence-based baseline), shipped weights
``pytracking/networks/atom_iou_effnet.pth`` (trained on the wide cache).

The estimator output is ``2 IoU - 1`` in [-1, 1]; its gradient in relative space is of order 1-4 per unit, so
its step lengths are of another order than the EBM's. ATOM used 5 steps of plain gradient ascent; here the same
accept/reject rule as the EBM (Algorithm S1), decay 0.5, ``default``'s T = 3 steps and 10 boxes, as every refining
head of the comparison (the fair settings, README); ATOM's own T = 5 is the parameter file ``iou_atom``.

Step 0.2 on every dimension: the best multiplier of ``python -m pytracking.tune_refinement --dataset_name demo
wide_train`` for these weights (wide cache, 20 x 1000 pairs) at T = 3 on 40 train-side sequences (0.1 / 0.2 / 0.4 /
0.8 / 1.6: mean AUC 66.23 / 66.51 / 63.52 / 63.47 / 62.34, seed 0; three seeds 65.31; docs/tuning_on_train.md).
A too-long step cannot make a box worse: a step that lowers the score is rejected and halved.
"""
from __future__ import annotations

from pytracking.parameter.atom.default import IOU_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(IOU_NETWORK)
    params.box_refinement_step_length = (0.2, 0.2, 0.2, 0.2)
    # default's size evidence (box_refinement_size_min_gain) is a threshold in ML-IS's score units, not searched for
    # IoU-Net's scores: off
    params.box_refinement_size_min_gain = 0.0
    # default's first-frame adaptation fits the head by ML-IS's objective: off (not searched for this head)
    params.box_refinement_adapt_steps = 0
    return params
