"""A tiny random-init convolutional backbone for fast tests (not for tracking quality).

``TinyBackbone(channels=(8, 16))``: stride-2 conv -> stride-2 conv -> stride-2 conv (= ``layer2``, stride 8)
-> stride-2 conv (= ``layer3``, stride 16), each Conv-BN-ReLU. Same interface as the real backbones.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class TinyBackbone(nn.Module):
    """``forward(im [B,3,H,W]) -> {'layer2': [B,c2,H/8,W/8], 'layer3': [B,c3,H/16,W/16]}``."""

    def __init__(self, channels: Sequence[int] = (8, 16)) -> None:
        super().__init__()
        c2, c3 = (int(c) for c in channels)
        self.stem = nn.Sequential(_conv_bn_relu(3, c2 // 2), _conv_bn_relu(c2 // 2, c2 // 2))
        self.layer2 = _conv_bn_relu(c2 // 2, c2)
        self.layer3 = _conv_bn_relu(c2, c3)
        self.output_layers = ("layer2", "layer3")
        self.out_channels = {"layer2": c2, "layer3": c3}
        self.strides = {"layer2": 8, "layer3": 16}

    def forward(self, im: Tensor) -> dict[str, Tensor]:
        if im.dim() != 4 or im.shape[1] != 3:
            raise ValueError(f"im must be [B, 3, H, W], got shape {tuple(im.shape)}")
        layer2 = self.layer2(self.stem(im))
        return {"layer2": layer2, "layer3": self.layer3(layer2)}
