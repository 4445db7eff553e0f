"""First-frame adaptation of the estimator's modulation (``pytracking.tracker.atom.estimator_adaptation``): the ML-IS
objective on the first frame's samples falls, the pull keeps the vectors near the network's, the network's weights do
not change, and the tracker adapts only when asked and only a network estimator (others are left as they are)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ebm.proposals import BOX_PROPOSAL_SIGMAS, GaussianMixtureProposal
from ltr.data.processing import draw_ebm_proposals
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from pytracking.parameter.atom import default as default_params
from pytracking.tracker.atom.atom import ATOM
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator
from pytracking.tracker.atom.estimator_adaptation import adapt_modulation, modulation_objective
from pytracking.tracker.atom.settings import RefinementSettings
from test_atom_tracker import OracleEstimator, _small_params, synthetic_sequence


def _problem(samples: int = 4):
    torch.manual_seed(0)
    net = AtomIoUNet(input_dim=(24, 24), pred_input_dim=(16, 16), pred_inter_dim=(8, 8), hidden_dim=16).eval()
    feat8, feat16 = torch.randn(samples, 24, 32, 32), torch.randn(samples, 24, 16, 16)
    boxes = torch.tensor([[100.0, 110.0, 60.0, 30.0]]).repeat(samples, 1) + torch.arange(samples)[:, None] * 4.0
    with torch.no_grad():
        modulation = net.get_modulation([feat8[:1], feat16[:1]], boxes[:1])
        iou_feat = net.get_iou_feat([feat8, feat16])
    return net, modulation, iou_feat, boxes


def _objective(net, modulation, iou_feat, boxes, seed: int = 7) -> float:
    drawn, log_q = draw_ebm_proposals(boxes, GaussianMixtureProposal(BOX_PROPOSAL_SIGMAS), 256,
                                      torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return float(modulation_objective(net, modulation, net.pool_boxes(iou_feat, drawn.float()), log_q))


def test_adaptation_lowers_the_first_frame_objective_and_leaves_the_network_alone():
    net, m0, iou_feat, boxes = _problem()
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    adapted, history = adapt_modulation(net, m0, iou_feat, boxes, steps=30, lr=1.0, reg=0.0, num_proposals=64,
                                        generator=torch.Generator().manual_seed(1))
    assert len(history) == 31 and all(np.isfinite(history))
    # on the same fixed proposals (not those of the steps) the adapted vectors fit the true boxes better
    assert _objective(net, adapted, iou_feat, boxes) < _objective(net, m0, iou_feat, boxes) - 0.4
    assert [a.shape for a in adapted] == [m.shape for m in m0]
    assert all(torch.equal(v, weights[k]) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_the_pull_keeps_the_vectors_near_the_networks():
    net, m0, iou_feat, boxes = _problem()
    change = {}
    for reg in (0.0, 1000.0):
        adapted, _ = adapt_modulation(net, m0, iou_feat, boxes, steps=30, lr=1.0, reg=reg, num_proposals=64,
                                      generator=torch.Generator().manual_seed(1))
        change[reg] = sum(float((a - m).pow(2).sum() / m.pow(2).sum()) for a, m in zip(adapted, m0))
    assert change[1000.0] < 0.2 * change[0.0]
    same, history = adapt_modulation(net, m0, iou_feat, boxes, steps=0, lr=0.1, reg=1.0)
    assert len(history) == 1 and all(torch.equal(a, m) for a, m in zip(same, m0))


def test_boxes_pooled_once_score_as_the_head_does():
    net, m0, iou_feat, boxes = _problem()
    proposals = boxes[:, None, :] + torch.randn(boxes.shape[0], 5, 4)
    with torch.no_grad():
        direct = net.predict_iou([m.expand(boxes.shape[0], -1, -1, -1) for m in m0], iou_feat, proposals)
        pooled = net.predict_iou_pooled(m0, net.pool_boxes(iou_feat, proposals))
    torch.testing.assert_close(pooled, direct, rtol=1e-4, atol=1e-4)


def test_bad_arguments_are_refused():
    net, m0, iou_feat, boxes = _problem()
    with pytest.raises(ValueError, match="lr > 0"):
        adapt_modulation(net, m0, iou_feat, boxes, steps=3, lr=0.0, reg=1.0)
    with pytest.raises(ValueError, match="boxes must be"):
        adapt_modulation(net, m0, iou_feat, boxes[:2], steps=3, lr=0.1, reg=1.0)
    with pytest.raises(ValueError, match="box_refinement_adapt_lr"):
        RefinementSettings(adapt_lr=0.0)
    with pytest.raises(ValueError, match="box_refinement_adapt_steps"):
        RefinementSettings(adapt_steps=-1)


def test_shipped_parameter_files_adapt_only_the_ml_is_head():
    from pytracking.parameter.atom import iou, nce, poe
    from pytracking.tracker.atom.settings import ATOMSettings
    steps = {name: ATOMSettings.from_params(module.parameters()).refinement.adapt_steps
             for name, module in (("default", default_params), ("nce", nce), ("iou", iou), ("poe", poe))}
    assert steps.pop("default") > 0 and steps == {"nce": 0, "iou": 0, "poe": 0}


def _first_frame(params):
    frames, boxes = synthetic_sequence(num_frames=3)
    tracker = ATOM(params)
    tracker.initialize(frames[0], {"init_bbox": boxes[0].tolist()})
    return tracker, frames, boxes


def test_the_tracker_adapts_a_network_estimator_only_when_asked():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = AtomIoUNet(input_dim=(24, 24), pred_input_dim=(16, 16), pred_inter_dim=(8, 8), hidden_dim=16).eval()
    vectors = {}
    for steps in (0, 5):
        estimator = NetworkBoxEstimator(net)
        tracker, frames, _ = _first_frame(_small_params(default_params, box_estimator=estimator,
                                                        box_refinement_adapt_steps=steps))
        vectors[steps] = [m.clone() for m in estimator.modulation]
        out = tracker.track(frames[1])
        assert np.all(np.isfinite(out["target_bbox"]))
        # the fast head scores with the adapted vectors (it is rebuilt from them)
        assert torch.allclose(estimator.head.modulation[0].flatten(), estimator.modulation[0].flatten())
    assert not torch.allclose(vectors[0][0], vectors[5][0])


def test_other_estimators_are_left_as_they_are():
    oracle = OracleEstimator()
    tracker, frames, boxes = _first_frame(_small_params(default_params, box_estimator=oracle,
                                                        box_refinement_adapt_steps=3))
    oracle.true_box = boxes[1]
    assert np.all(np.isfinite(tracker.track(frames[1])["target_bbox"]))


def test_scaled_crops_add_samples_with_their_boxes(monkeypatch):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = AtomIoUNet(input_dim=(24, 24), pred_input_dim=(16, 16), pred_inter_dim=(8, 8), hidden_dim=16).eval()
    seen = {}
    for scales in ((), (0.8, 1.25)):
        estimator = NetworkBoxEstimator(net)
        calls = []
        real = estimator.adapt
        monkeypatch.setattr(estimator, "adapt", lambda f, b, *a, **k: calls.append(b) or real(f, b, *a, **k))
        _first_frame(_small_params(default_params, box_estimator=estimator, box_refinement_adapt_scales=scales))
        seen[scales] = calls[0]
    plain, scaled = seen[()], seen[(0.8, 1.25)]
    assert scaled.shape[0] == plain.shape[0] + 2
    # the identity sample first; a crop x f shows the target 1 / f as large, centred where the identity shows it
    torch.testing.assert_close(scaled[-2:, 2:], plain[:1, 2:] / torch.tensor([[0.8], [1.25]]))
    centre = plain[0, :2] + plain[0, 2:] / 2
    torch.testing.assert_close(scaled[-2:, :2] + scaled[-2:, 2:] / 2, centre.expand(2, 2), atol=1e-3, rtol=0)
