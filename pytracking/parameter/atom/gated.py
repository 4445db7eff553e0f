"""ATOM + EBM with the refinement gate on (``pytracking.tracker.atom.refinement_gate``).

A refined box is taken only if its score is not below the start box's, its centre stays within half the target
size of the classifier's, and its width, height and aspect change by at most 2x in one frame; no refinement while
the target is lost, and after a re-detection the estimator's size only after 3 gated frames in a row. On the demo's
train split this was the best gate setting, but not better than no gate (mean AUC 64.1 against 64.3), so
``default`` leaves the gate off; the same held with the re-trained weights of 2026-12-05 (off 65.3, steps 2.0 65.2
on 20 train sequences) and with the wide-cache heads (off 72.53, ``gated`` 72.47 on 40 train-side sequences at
T = 10; three seeds at T = 3: off 72.74, ``gated`` 72.45; ``python -m pytracking.tune_parameters``,
docs/tuning_on_train.md). The 2x per-frame limits rarely bind: a slowly drifting estimator passes them frame by
frame (``tests/test_refinement_gate.py`` uses 1.25 for that reason).
"""
from __future__ import annotations

from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.refinement_gate = True
    return params
