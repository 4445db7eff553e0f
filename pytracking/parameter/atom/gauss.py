"""ATOM + Gaussian-NLL regression head (baseline of the paper's comparison), shipped weights
``pytracking/networks/atom_gauss_effnet.pth`` (constructor ``regression_efficientnet_lite0``).

No gradient ascent: per frame the head gets ONE initial box -- the classifier's position with
the previous size -- and predicts the relative offset ``(dcx / w0, dcy / h0, log(w / w0),
log(h / h0))`` (and its log-variance); the new box is that box moved by the predicted mean
(:class:`pytracking.tracker.atom.box_estimator.RegressionBoxEstimator`). The same plausibility
guards as the refinement apply (aspect ratio, scale change, shift).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import (
    GAUSS_NETWORK,
    base_parameters,
    network_path,
)
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = base_parameters()
    params.net_path = network_path(GAUSS_NETWORK)
    params.fallback_net_constructor = ("regression_efficientnet_lite0", {"pretrained_backbone": True})
    params.box_estimator_type = "regression"   # 'auto' | 'score' | 'regression'
    return params
