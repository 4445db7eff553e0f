"""Every estimator's refinement runs the one Algorithm S1 loop, ``ebm.refinement.refine``.

A spy wraps that function; the tracker then runs with the fused network estimator (the default path every
user runs) and with a plain ``BoxEstimator`` (autograd path). Each refined frame must call the spy once, with
the fused ``score_and_grad`` for the network and without it for the plain estimator."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ebm.refinement
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from pytracking.parameter.atom import default as default_params
from pytracking.tracker.atom import box_refinement
from pytracking.tracker.atom.atom import ATOM
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator, ScoredBoxEstimator
from test_atom_tracker import OracleEstimator, RandomConvFeatures, _small_params, synthetic_sequence


@pytest.fixture
def spy(monkeypatch):
    calls: list[bool] = []   # per call: was a fused score_and_grad given?
    real = ebm.refinement.refine

    def spying(*args, **kwargs):
        calls.append(kwargs.get("score_and_grad") is not None)
        return real(*args, **kwargs)

    assert box_refinement.refine is real   # the tracker's module uses the ebm loop itself, not a copy
    monkeypatch.setattr(box_refinement, "refine", spying)
    return calls


def _track(params, frames, boxes, oracle=None) -> list[dict]:
    tracker = ATOM(params)
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    outs = []
    for frame, box in zip(frames[1:], boxes[1:]):
        if oracle is not None:
            oracle.true_box = box
        outs.append(tracker.track(frame))
    return outs


def test_network_estimator_refines_through_ebm_refine(spy):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = AtomIoUNet(input_dim=(24, 24), pred_input_dim=(16, 16), pred_inter_dim=(8, 8), hidden_dim=16).eval()
    estimator = NetworkBoxEstimator(net)
    frames, boxes = synthetic_sequence(num_frames=6)
    outs = _track(_small_params(default_params, box_estimator=estimator), frames, boxes)
    refined = [o for o in outs if o["flag"] != "not_found"]
    assert refined and len(spy) == len(refined)
    assert all(spy)          # fused score and gradient
    assert all(np.all(np.isfinite(o["target_bbox"])) for o in outs)


def test_plain_estimator_refines_through_ebm_refine(spy):
    oracle = OracleEstimator()
    frames, boxes = synthetic_sequence(num_frames=6)
    params = _small_params(default_params, box_estimator=oracle)
    tracker = ATOM(params)
    assert isinstance(tracker.estimator, ScoredBoxEstimator)
    outs = _track(params, frames, boxes, oracle)
    refined = [o for o in outs if o["flag"] != "not_found"]
    assert refined and len(spy) == len(refined)
    assert not any(spy)      # autograd gradients
