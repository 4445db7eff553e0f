"""ResNet-18 / ResNet-50 (He et al. 2016) feature extractors, truncated after ``layer3``.

Parameter names follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv1`` ...), so a torchvision ImageNet
state dict loads directly from a user file (``fc.*`` and ``layer4.*`` are ignored). No download happens.
``forward(im [B, 3, H, W] ImageNet-normalised) -> {'layer2': stride 8, 'layer3': stride 16}`` (plus
``layer1`` stride 4 / ``conv1`` stride 2 if requested).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

LAYER_STRIDE = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16}
_LAYER_ORDER = ("conv1", "layer1", "layer2", "layer3")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34)."""
    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, channels * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (stride here, as torchvision v1.5) -> 1x1 expand (x4), residual (ResNet-50+)."""
    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, channels * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _downsample(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


class ResNet(nn.Module):
    """ResNet trunk up to ``layer3``; ``out_channels`` / ``strides`` give each output's size."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 output_layers: Sequence[str] = ("layer2", "layer3")) -> None:
        super().__init__()
        output_layers = tuple(output_layers)
        if not output_layers or any(name not in LAYER_STRIDE for name in output_layers):
            raise ValueError(f"output_layers must be a non-empty subset of {list(_LAYER_ORDER)}, "
                             f"got {output_layers!r}")
        if len(layers) < 3:
            raise ValueError(f"layers must give at least 3 block counts, got {layers!r}")
        self.output_layers = output_layers
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._in_channels = 64
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        channels = {"conv1": 64, "layer1": 64 * block.expansion, "layer2": 128 * block.expansion,
                    "layer3": 256 * block.expansion}
        self.out_channels = {name: channels[name] for name in output_layers}
        self.strides = {name: LAYER_STRIDE[name] for name in output_layers}
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, channels: int, num_blocks: int, stride: int) -> nn.Sequential:
        blocks = [block(self._in_channels, channels, stride)]
        self._in_channels = channels * block.expansion
        blocks += [block(self._in_channels, channels) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, im: Tensor) -> dict[str, Tensor]:
        if im.dim() != 4 or im.shape[1] != 3:
            raise ValueError(f"im must be [B, 3, H, W], got shape {tuple(im.shape)}")
        outputs: dict[str, Tensor] = {}
        last = max(_LAYER_ORDER.index(name) for name in self.output_layers)
        x = self.relu(self.bn1(self.conv1(im)))
        if "conv1" in self.output_layers:
            outputs["conv1"] = x
        x = self.maxpool(x)
        for name in _LAYER_ORDER[1:last + 1]:
            x = getattr(self, name)(x)
            if name in self.output_layers:
                outputs[name] = x
        return outputs

    def load_weights(self, weights_path: str) -> None:
        """Load a torchvision-style ResNet state dict from ``weights_path`` (``torch.load(weights_only=True)``).

        Accepts a plain state dict or a dict holding one under ``state_dict``/``model``/``net``; a
        ``module.`` prefix (DataParallel) is stripped; ``fc.*`` and ``layer4.*`` are ignored; every parameter
        of this trunk must be present with the right shape.
        """
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        for wrapper_key in ("state_dict", "model", "net"):
            if isinstance(state, dict) and isinstance(state.get(wrapper_key), dict):
                state = state[wrapper_key]
        if not isinstance(state, dict):
            raise ValueError(f"{weights_path}: expected a state dict, got {type(state).__name__}")
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
        kept = {k: v for k, v in state.items() if not k.startswith(("fc.", "layer4."))}
        own = self.state_dict()
        missing = [k for k in own if k not in kept]
        unexpected = [k for k in kept if k not in own]
        if missing or unexpected:
            raise ValueError(f"{weights_path}: not a matching ResNet state dict; missing {missing[:5]}"
                             f"{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}")
        wrong = [k for k in own if own[k].shape != kept[k].shape]
        if wrong:
            raise ValueError(f"{weights_path}: shape mismatch for {wrong[:5]}")
        self.load_state_dict(kept, strict=True)


def resnet18(weights_path: str | None = None, output_layers: Sequence[str] = ("layer2", "layer3")) -> ResNet:
    """ResNet-18 trunk: layer2 128 ch (stride 8), layer3 256 ch (stride 16)."""
    net = ResNet(BasicBlock, (2, 2, 2), output_layers)
    if weights_path:
        net.load_weights(weights_path)
    return net


def resnet50(weights_path: str | None = None, output_layers: Sequence[str] = ("layer2", "layer3")) -> ResNet:
    """ResNet-50 trunk: layer2 512 ch (stride 8), layer3 1024 ch (stride 16)."""
    net = ResNet(Bottleneck, (3, 4, 6), output_layers)
    if weights_path:
        net.load_weights(weights_path)
    return net
