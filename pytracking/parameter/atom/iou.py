"""ATOM with an IoU-Net-trained estimator (confidence-based baseline), shipped weights
``pytracking/networks/atom_iou_effnet.pth``.

The estimator output is ``2 IoU - 1`` in [-1, 1]; near the optimum its gradient in relative space
is of order 2-4 per unit (``d IoU / d(cx / w) ~ 2``, ``d IoU / d log w ~ 1``), so steps of
0.025 move a box by up to ~10 % of its size per iteration. ATOM used 5 steps of plain gradient
ascent; here the same accept/reject rule as the EBM (Algorithm S1) is used, with decay 0.5, so
a too-long step cannot make the box worse. Checked on 6 demo TRAIN sequences (first 60 frames,
shipped weights): AUC 74.0 with 0.025, 68.5 with 0.05 and 0.1 (a lost sequence), so 0.025 stays.

T = 10 steps and 10 boxes, as every refining head of the comparison (the fair settings, README); ATOM's own
T = 5 is the parameter file ``iou_atom``.
"""
from __future__ import annotations

from pytracking.parameter.atom.default import IOU_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(IOU_NETWORK)
    params.box_refinement_step_length = (0.025, 0.025, 0.025, 0.025)
    return params
