"""ATOM + EBM trained with NCE+ (Gustafsson et al., BMVC 2020), shipped weights
``pytracking/networks/atom_nce_effnet.pth``.

Same refinement as ``default`` (Algorithm S1, the EBM step lengths): NCE+ learns the same
unnormalised log-density ``f`` as ML-IS (up to a per-input constant), so its score has the same
scale and the same steps apply.
"""
from __future__ import annotations

from pytracking.parameter.atom.default import NCE_NETWORK, network_path
from pytracking.parameter.atom.default import parameters as ebm_parameters
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    params = ebm_parameters()
    params.net_path = network_path(NCE_NETWORK)
    return params
