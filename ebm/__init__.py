"""Task-agnostic energy-based regression: p(y|x) = exp f(x, y) / Z(x) (torch only).

Modules: :mod:`ebm.boxes` (box conversions, relative space, IoU), :mod:`ebm.proposals`
(Gaussian-mixture proposals), :mod:`ebm.losses` (ML-IS, KL-IS, NCE/NCE+, regression
baselines), :mod:`ebm.refinement` (Algorithm S1), :mod:`ebm.density` (grid densities, KL).
"""
from ebm.boxes import (
    box_iou,
    cxcywh_to_xywh,
    cxcywh_to_xyxy,
    rel_to_xywh,
    xywh_to_cxcywh,
    xywh_to_rel,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
    xyxy_to_xywh,
)
from ebm.density import grid_1d, grid_2d, kl_divergence, normalised_density
from ebm.losses import (
    gaussian_label_log_density,
    gaussian_nll,
    kl_is_loss,
    l1_regression_loss,
    l2_regression_loss,
    laplace_nll,
    log_partition_is,
    ml_is_loss,
    nce_loss,
    nce_plus_true_sample,
    nce_true_sample,
)
from ebm.proposals import BOX_NCE_PLUS_BETA, BOX_PROPOSAL_SIGMAS, GaussianMixtureProposal
from ebm.refinement import RefinementResult, refine

__all__ = [
    "box_iou",
    "cxcywh_to_xywh",
    "cxcywh_to_xyxy",
    "rel_to_xywh",
    "xywh_to_cxcywh",
    "xywh_to_rel",
    "xywh_to_xyxy",
    "xyxy_to_cxcywh",
    "xyxy_to_xywh",
    "grid_1d",
    "grid_2d",
    "kl_divergence",
    "normalised_density",
    "gaussian_label_log_density",
    "gaussian_nll",
    "kl_is_loss",
    "l1_regression_loss",
    "l2_regression_loss",
    "laplace_nll",
    "log_partition_is",
    "ml_is_loss",
    "nce_loss",
    "nce_plus_true_sample",
    "nce_true_sample",
    "BOX_NCE_PLUS_BETA",
    "BOX_PROPOSAL_SIGMAS",
    "GaussianMixtureProposal",
    "RefinementResult",
    "refine",
]
