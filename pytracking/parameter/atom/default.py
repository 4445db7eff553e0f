"""ATOM + EBM box estimator (the paper's tracker), sized for CPU with EfficientNet-Lite0.

Refinement numbers are the paper's (DESIGN.md): 10 boxes, jitter (0.1, 0.5), T = 10, steps
(2e-4 centre, 1e-3 log-size) in relative space, decay 0.5, aspect ratio in (1/6, 6), mean of the
top 3. Those step lengths assume an EBM whose score has the paper's scale (gradients of order
10^2-10^3 in relative units); with another network check that boxes move (debug output
``refinement``: starting and final boxes with their scores).

Checked on the demo benchmark's TRAIN split only (12 train sequences, first 60 frames, shipped
``atom_ebm_effnet.pth``): AUC 78.0 with these steps, 77.4 with 3x, 79.0 with 0.35x (the difference
is one sequence), no refinement 60.0 -- the paper's steps are kept.

``image_sample_size`` is 256 instead of the paper's 288 (16x16 stride-16 cells instead of 18x18):
on a 2-core CPU the backbone pass is ~20 % cheaper, measured with ``python -m pytracking.benchmark_tracker``.

Speed switches read by the tracker (both on unless set to False here; results are numerically the
same, see docs/speed.md): ``box_estimator_fast`` (the estimator's inference path with folded
BatchNorm, windowed test-branch convolutions and a written-out box gradient) and ``fold_batchnorm``
(an inference copy of the backbone with BatchNorm folded into its convolutions).
"""
from __future__ import annotations

from pathlib import Path

from pytracking.utils.params import TrackerParams

REPO_ROOT = Path(__file__).resolve().parents[3]
NETWORKS_DIR = Path(__file__).resolve().parents[2] / "networks"   # <repo>/pytracking/networks

# shipped estimator weights (exported with ltr.admin.checkpoint export, each with a .sha256 sidecar)
EBM_NETWORK = "atom_ebm_effnet.pth"      # EBM trained with ML-IS   (ltr.run_training bbreg atom_ebm_cached --epochs 7)
NCE_NETWORK = "atom_nce_effnet.pth"      # EBM trained with NCE+    (ltr.run_training bbreg atom_nce_cached)
IOU_NETWORK = "atom_iou_effnet.pth"      # IoU-Net                  (ltr.run_training bbreg atom_iou_cached)
GAUSS_NETWORK = "atom_gauss_effnet.pth"  # regression, Gaussian NLL (ltr.run_training bbreg atom_gauss_cached)


def network_path(file_name: str) -> str:
    """``<repo>/pytracking/networks/<file_name>``, resolved from this package's location."""
    return str(NETWORKS_DIR / file_name)


def base_parameters() -> TrackerParams:
    """Everything but the estimator choice (shared by the other parameter files)."""
    params = TrackerParams()
    params.debug = 0
    params.device = "auto"            # 'auto' | 'cpu' | 'cuda' | 'cuda:N'
    params.seed = 0                   # jitter of the refinement's starting boxes

    # network: checkpoint (rebuilt from the registry by ltr.admin.checkpoint.load_network) ...
    params.net_path = network_path(EBM_NETWORK)
    # ... or a registry constructor (name, kwargs) with random estimator weights (tests) ...
    params.net_constructor = None
    # ... used only when net_path is missing and this is True (untrained estimator!)
    params.use_registry_fallback = False
    params.fallback_net_constructor = ("atom_efficientnet_lite0", {"pretrained_backbone": True})

    # search region and features (one backbone pass per frame)
    params.image_sample_size = 256    # patch side in pixels (paper: 288)
    params.search_area_scale = 5.0    # patch covers 5 * sqrt(w h) image pixels
    params.classifier_layer = "layer3"                  # stride 16
    params.estimator_layers = ("layer2", "layer3")      # stride 8 and 16
    params.scale_factors = (1.0,)

    # online classifier
    params.projection_dim = 64
    params.filter_size = 4
    params.projection_init = "pca"    # 'pca' | 'randn'
    params.filter_reg = 0.1
    params.projection_reg = 1e-4
    params.output_sigma_factor = 0.25  # label sigma = 1/4 of the target size in feature cells
    params.init_GN_iter = 6
    params.init_CG_iter = 60           # total over the GN iterations
    params.CG_iter = 5
    params.train_skipping = 10
    params.learning_rate = 0.01
    params.sample_memory_size = 100
    params.init_samples_minimum_weight = 0.25
    params.augmentation_shifts = (0.0625,)          # fraction of the patch: (+-s, 0), (0, +-s)
    params.augmentation_flip = True
    params.augmentation_rotations = (-10.0, 10.0)   # degrees
    params.augmentation_blur_sigmas = (1.0, 2.0)    # patch pixels
    params.augmentation_dropout_num = 2
    params.augmentation_dropout_prob = 0.2

    # localisation
    params.target_not_found_threshold = 0.25
    params.distractor_threshold = 0.8
    params.hard_negative_threshold = 0.5
    params.target_neighborhood_scale = 2.2
    params.displacement_scale = 0.8
    params.hard_negative_learning_rate = 0.02
    params.hard_negative_CG_iter = 5

    # state limits
    params.min_scale_factor = 0.2      # x initial size
    params.max_scale_factor = 5.0
    params.min_target_size = 4.0       # pixels
    params.max_target_image_fraction = 1.0
    params.min_inside_fraction = 0.1   # of the box that must stay inside the frame
    return params


def parameters() -> TrackerParams:
    params = base_parameters()
    params.use_box_refinement = True
    params.box_refinement_num_boxes = 10
    params.box_jitter_pos = 0.1
    params.box_jitter_sz = 0.5
    params.box_refinement_iter = 10
    params.box_refinement_step_length = (2e-4, 2e-4, 1e-3, 1e-3)   # (cx/w0, cy/h0, log w, log h)
    params.box_refinement_decay = 0.5
    params.maximal_aspect_ratio = 6.0
    params.box_refinement_topk = 3
    return params
