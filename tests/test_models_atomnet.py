"""ATOMnet wrapper: end-to-end shapes, frozen backbone, registered constructors."""
import torch

from ltr.models import registry
from ltr.models.tracking.atomnet import ATOMnet


def pair_inputs(batch=2, num_boxes=4, size=64):
    train_imgs, test_imgs = torch.randn(batch, 3, size, size), torch.randn(batch, 3, size, size)
    train_bb = torch.tensor([[16.0, 18.0, 24.0, 20.0]]).repeat(batch, 1)
    proposals = train_bb[:, None, :] + torch.randn(batch, num_boxes, 4)
    return train_imgs, test_imgs, train_bb, proposals


def test_tiny_network_scores_and_frozen_backbone():
    net = registry.build("atom_tiny")
    net.train()
    assert not net.feature_extractor.training and net.bb_regressor.training
    assert not any(p.requires_grad for p in net.feature_extractor.parameters())
    running_mean = net.feature_extractor.layer2[1].running_mean.clone()
    train_imgs, test_imgs, train_bb, proposals = pair_inputs()
    proposals.requires_grad_(True)
    scores = net(train_imgs, test_imgs, train_bb, proposals)
    assert scores.shape == (2, 4) and torch.isfinite(scores).all()
    scores.sum().backward()
    torch.testing.assert_close(net.feature_extractor.layer2[1].running_mean, running_mean)  # eval-mode BN
    assert all(p.grad is not None for p in net.bb_regressor.parameters())
    assert torch.isfinite(proposals.grad).all() and proposals.grad.abs().sum() > 0


def test_trainable_backbone_gets_gradients():
    base = registry.build("atom_tiny")
    net = ATOMnet(base.feature_extractor.requires_grad_(True), base.bb_regressor, extractor_grad=True)
    net(*pair_inputs()).sum().backward()
    assert all(p.grad is not None for p in net.feature_extractor.parameters())


def test_extract_backbone_features_strides():
    net = registry.build("atom_tiny", backbone_channels=[4, 8], pred_dim=4)
    features = net.extract_backbone_features(torch.randn(1, 3, 48, 80))
    assert features["layer2"].shape == (1, 4, 6, 10) and features["layer3"].shape == (1, 8, 3, 5)


def test_regression_tiny_returns_mean_and_log_var():
    mean, log_var = registry.build("regression_tiny").eval()(*pair_inputs())
    assert mean.shape == log_var.shape == (2, 4, 4)


def test_efficientnet_lite0_constructor_end_to_end():
    net = registry.build("atom_efficientnet_lite0", pretrained_backbone=True, pred_input_dim=(16, 16),
                         pred_inter_dim=(16, 16), hidden_dim=16).eval()
    assert net.bb_regressor.input_dim == (40, 112)
    with torch.no_grad():
        scores = net(*pair_inputs(batch=1, num_boxes=3))
    assert scores.shape == (1, 3) and torch.isfinite(scores).all()


def test_resnet_constructors_channels():
    assert registry.build("atom_resnet18", hidden_dim=8, pred_input_dim=(8, 8),
                          pred_inter_dim=(8, 8)).bb_regressor.input_dim == (128, 256)
    assert registry.build("atom_resnet50", hidden_dim=8, pred_input_dim=(8, 8),
                          pred_inter_dim=(8, 8)).bb_regressor.input_dim == (512, 1024)
