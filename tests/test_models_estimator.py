"""ATOM IoU-Net estimator and the regression head: shapes, finiteness, per-image independence, box gradients."""
import pytest
import torch

from ltr.models.bbreg import AtomIoUNet, BoxRegressionNet, apply_offset


def make_inputs(batch=2, num_boxes=6, channels=(6, 10), size=64):
    feat_ref = [torch.randn(batch, channels[0], size // 8, size // 8), torch.randn(batch, channels[1], size // 16, size // 16)]
    feat_test = [torch.randn_like(f) for f in feat_ref]
    bb_ref = torch.tensor([[12.0, 14.0, 24.0, 20.0]]).repeat(batch, 1)
    proposals = bb_ref[:, None, :] + torch.randn(batch, num_boxes, 4) * torch.tensor([3.0, 3.0, 2.0, 2.0])
    return feat_ref, feat_test, bb_ref, proposals


def small_net(cls=AtomIoUNet):
    return cls(input_dim=(6, 10), pred_input_dim=(8, 8), pred_inter_dim=(8, 12), hidden_dim=8)


def test_shapes_and_finite_scores():
    net = small_net().eval()
    feat_ref, feat_test, bb_ref, proposals = make_inputs()
    modulation = net.get_modulation(feat_ref, bb_ref)
    assert [m.shape for m in modulation] == [(2, 8, 1, 1), (2, 8, 1, 1)]
    iou_feat = net.get_iou_feat(feat_test)
    assert [f.shape for f in iou_feat] == [(2, 8, 8, 8), (2, 8, 4, 4)]
    scores = net.predict_iou(modulation, iou_feat, proposals)
    assert scores.shape == (2, 6) and torch.isfinite(scores).all()
    torch.testing.assert_close(net(feat_ref, feat_test, bb_ref, proposals), scores)
    assert scores.std() > 0  # different boxes, different scores


def test_score_of_an_image_depends_only_on_its_own_features():
    net = small_net().eval()
    feat_ref, feat_test, bb_ref, proposals = make_inputs()
    with torch.no_grad():
        before = net(feat_ref, feat_test, bb_ref, proposals)
        feat_test[1] = feat_test[1].clone()
        feat_test[1][1] += 5.0
        after = net(feat_ref, feat_test, bb_ref, proposals)
    torch.testing.assert_close(after[0], before[0])
    assert (after[1] - before[1]).abs().max() > 1e-4


def test_gradient_wrt_proposals_exists_and_is_finite():
    net = small_net().eval()
    feat_ref, feat_test, bb_ref, proposals = make_inputs()
    modulation = net.get_modulation(feat_ref, bb_ref)
    iou_feat = net.get_iou_feat(feat_test)
    boxes = proposals.clone().requires_grad_(True)
    net.predict_iou(modulation, iou_feat, boxes).sum().backward()
    assert torch.isfinite(boxes.grad).all()
    assert (boxes.grad.abs().sum(-1) > 0).all()  # every box gets a gradient


def test_gradient_matches_finite_differences_in_float64():
    net = small_net().double().eval()
    feat_ref, feat_test, bb_ref, proposals = (x if torch.is_tensor(x) else [f.double() for f in x]
                                              for x in make_inputs(batch=1, num_boxes=2))
    bb_ref, proposals = bb_ref.double(), proposals.double().requires_grad_(True)
    with torch.no_grad():
        modulation, iou_feat = net.get_modulation(feat_ref, bb_ref), net.get_iou_feat(feat_test)
    assert torch.autograd.gradcheck(lambda b: net.predict_iou(modulation, iou_feat, b), (proposals,))


def test_bad_shapes_raise():
    net = small_net()
    feat_ref, feat_test, bb_ref, proposals = make_inputs()
    with pytest.raises(ValueError, match="proposals"):
        net(feat_ref, feat_test, bb_ref, proposals[0])
    with pytest.raises(ValueError, match="bb_ref"):
        net(feat_ref, feat_test, bb_ref[:1], proposals)
    with pytest.raises(ValueError, match="feat_test"):
        net(feat_ref, feat_test[:1], bb_ref, proposals)
    with pytest.raises(ValueError, match="pred_input_dim"):
        AtomIoUNet(input_dim=(6, 10), pred_input_dim=(8, 8, 8))


def test_regression_head_outputs_and_offset_inverse():
    net = small_net(BoxRegressionNet).eval()
    feat_ref, feat_test, bb_ref, proposals = make_inputs()
    mean, log_var = net(feat_ref, feat_test, bb_ref, proposals)
    assert mean.shape == (2, 6, 4) and log_var.shape == (2, 6, 4)
    assert torch.isfinite(mean).all() and torch.isfinite(log_var).all()
    with pytest.raises(ValueError, match="predict"):
        net.predict_iou(None, None, proposals)
    # offset definition: ((cx_t - cx_0) / w0, (cy_t - cy_0) / h0, log(w_t / w0), log(h_t / h0))
    init = torch.tensor([10.0, 20.0, 40.0, 10.0])
    target = torch.tensor([14.0, 19.0, 20.0, 30.0])
    offset = torch.tensor([(24.0 - 30.0) / 40.0, (34.0 - 25.0) / 10.0, torch.log(torch.tensor(0.5)),
                           torch.log(torch.tensor(3.0))])
    torch.testing.assert_close(apply_offset(init, offset), target)
