"""ATOM + EBM box estimator (the paper's tracker), sized for CPU with EfficientNet-Lite0.

Every number of this tracker is a default of :mod:`pytracking.tracker.atom.settings` (one home per
value; this file sets only the network). Refinement numbers are the paper's (DESIGN.md): 10 boxes,
jitter (0.1, 0.5), decay 0.5, aspect ratio in (1/6, 6), mean of the top 3, but T = 3 steps instead of 10 (on 40
train-side sequences, demo train + wide_train, T = 3 scored as T = 10 at its best steps, three seeds: 72.74 against
72.70 mean AUC, with the 10-shard head; ``python -m pytracking.tune_parameters``, docs/tuning_on_train.md) for 4
estimator passes per frame instead of 11, and the paper's step lengths x 2 (4e-4 centre, 2e-3 log-size, relative
space), the best for this head at T = 3 on those sequences.
The paper's T = 10 is the parameter file ``t10``. The steps assume an EBM whose score has this network's scale; with
another network re-run ``python -m pytracking.tune_refinement``, or check that boxes move (debug output
``refinement``: starting and final boxes with their scores).

``image_sample_size`` is 256 instead of the paper's 288 (16x16 stride-16 cells instead of 18x18):
on a 2-core CPU the backbone pass is ~20 % cheaper, measured with ``python -m pytracking.benchmark_tracker``.

Speed switches read by the tracker (both on unless set to False; results are numerically the
same, see docs/speed.md): ``box_estimator_fast`` (the estimator's inference path with folded
BatchNorm, windowed test-branch convolutions and a written-out box gradient) and ``fold_batchnorm``
(an inference copy of the backbone with BatchNorm folded into its convolutions).

A key no settings class reads (a typo) is an error naming the key and the closest valid one.
"""
from __future__ import annotations

from pathlib import Path

from pytracking.utils.params import TrackerParams

REPO_ROOT = Path(__file__).resolve().parents[3]
NETWORKS_DIR = Path(__file__).resolve().parents[2] / "networks"   # <repo>/pytracking/networks

# shipped estimator weights, float16, each with a .sha256 sidecar, all by one training rule
# (8 epochs, batch 8, checkpoint = lowest validation loss; docs/training_log.md), all four from the wide cache at
# 20 x 1000 pairs (18 train, 2 val shards; docs/training_data.md), the data chosen on train-side sequences
# (docs/tuning_on_train.md):
#     python -m ltr.train_estimators --methods ml-is nce+ iou gauss --cache_spec wide --num_shards 20
#         --pairs_per_shard 1000 --val_shards 2 --out DIR   (selected epochs 7, 8, 4, 6)
EBM_NETWORK = "atom_ebm_effnet.pth"      # EBM trained with ML-IS   (setting atom_ebm_wide)
NCE_NETWORK = "atom_nce_effnet.pth"      # EBM trained with NCE+    (setting atom_nce_wide)
IOU_NETWORK = "atom_iou_effnet.pth"      # IoU-Net                  (setting atom_iou_wide)
GAUSS_NETWORK = "atom_gauss_effnet.pth"  # regression, Gaussian NLL (setting atom_gauss_wide)


def network_path(file_name: str) -> str:
    """``<repo>/pytracking/networks/<file_name>``, resolved from this package's location."""
    return str(NETWORKS_DIR / file_name)


def base_parameters() -> TrackerParams:
    """What every ATOM parameter file shares: the EBM network; all other numbers are the defaults of
    :mod:`pytracking.tracker.atom.settings`."""
    params = TrackerParams()
    # run parameters, declared here because pytracking.evaluation reads them from the file too: a run
    # number k offsets a declared seed (seed + k), and a declared device is not replaced by the settings'
    params.debug = 0
    params.device = "auto"            # 'auto' | 'cpu' | 'cuda' | 'cuda:N'
    params.seed = 0                   # the tracker's generator (starting-box jitter, feature dropout)
    # network: checkpoint (rebuilt from the registry by ltr.admin.checkpoint.load_network); see
    # NetworkSettings for a registry constructor or the registry fallback (untrained estimator!)
    params.net_path = network_path(EBM_NETWORK)
    return params


def parameters() -> TrackerParams:
    """ATOM + EBM: the settings' defaults are this tracker (refinement numbers included)."""
    return base_parameters()
