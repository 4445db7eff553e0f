"""``iou`` with the IoU-Net head trained on the wide cache (``pytracking/networks/atom_iou_wide_effnet.pth``): the
same rule as every shipped head (8 epochs, batch 8, lowest validation loss) on 8000 train pairs of the wide
renderer and the default sources (docs/training_data.md).

Step 0.8 on every dimension: the best multiplier of ``python -m pytracking.tune_refinement --params iou --net_dir DIR``
for these weights on the demo benchmark's train split (x0.5 / 1 / 2 / 4 / 8 of ``iou``'s 0.2: mean AUC 60.03 / 60.76 /
61.32 / 62.01 / 58.46; docs/tuning_on_train.md).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import IOU_WIDE_NETWORK, network_path
from pytracking.parameter.atom.iou import parameters as iou_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = iou_parameters()
    params.net_path = network_path(IOU_WIDE_NETWORK)
    params.box_refinement_step_length = (0.8, 0.8, 0.8, 0.8)
    return params
