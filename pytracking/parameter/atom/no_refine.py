"""Classifier only: position from the classifier, size fixed at the first frame's (ablation).

Needs only the backbone (ImageNet EfficientNet-Lite0 from its package): ``net_path`` is None, so
the network is always built from ``fallback_net_constructor`` and the trained estimator files are
never read (the backbone is frozen in estimator training, so the features are the same).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import base_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = base_parameters()
    params.use_box_refinement = False
    params.net_path = None
    params.use_registry_fallback = True
    return params
