"""ATOM with an IoU-Net-trained estimator (confidence-based baseline), shipped weights
``pytracking/networks/atom_iou_effnet.pth``.

The estimator output is ``2 IoU - 1`` in [-1, 1]; its gradient in relative space is of order 1-4 per unit, so
its step lengths are of another order than the EBM's. ATOM used 5 steps of plain gradient ascent; here the same
accept/reject rule as the EBM (Algorithm S1), decay 0.5, T = 10 steps and 10 boxes, as every refining head of
the comparison (the fair settings, README); ATOM's own T = 5 is the parameter file ``iou_atom``.

Step 0.2 on every dimension: the best multiplier of ``python -m pytracking.tune_refinement`` for these weights on
the demo benchmark's train split (0.0125 / 0.025 / 0.05 / 0.1 / 0.2 / 0.4: mean AUC 57.6 / 58.8 / 59.0 / 59.6 /
59.7 / 56.9; docs/tuning_on_train.md). A too-long step cannot make a box worse: a step that lowers the score is
rejected and halved.
"""
from __future__ import annotations

from pytracking.parameter.atom.default import IOU_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(IOU_NETWORK)
    params.box_refinement_step_length = (0.2, 0.2, 0.2, 0.2)
    return params
