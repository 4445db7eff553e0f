"""Classifier only: position from the classifier, size fixed at the first frame's (ablation)."""
from __future__ import annotations

from pytracking.parameter.atom.default import base_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = base_parameters()
    params.use_box_refinement = False
    params.scale_factors = (1.0,)
    # only the backbone is needed: without trained weights fall back to the ImageNet backbone
    params.use_registry_fallback = True
    return params
