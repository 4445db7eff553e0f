"""Backbones: ``forward(im [B,3,H,W] ImageNet-normalised) -> {'layer2': stride 8, 'layer3': stride 16}``,
attribute ``out_channels = {'layer2': c2, 'layer3': c3}``."""
from ltr.models.backbone.efficientnet_lite import EfficientNetLite0, efficientnet_lite0
from ltr.models.backbone.preprocess import IMAGENET_MEAN, IMAGENET_STD, mean, preprocess, std
from ltr.models.backbone.resnet import ResNet, resnet18, resnet50
from ltr.models.backbone.tiny import TinyBackbone

__all__ = ["EfficientNetLite0", "efficientnet_lite0", "ResNet", "resnet18", "resnet50", "TinyBackbone",
           "IMAGENET_MEAN", "IMAGENET_STD", "mean", "std", "preprocess"]
