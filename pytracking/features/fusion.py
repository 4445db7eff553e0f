"""Inference copies of backbones with eval-mode BatchNorm folded into the preceding convolution.

For a bias-free or biased convolution ``y = W x + b`` followed by eval-mode BatchNorm
``z = gamma (y - mean) / sqrt(var + eps) + beta``, the pair equals one convolution with

    W' = W * g,    b' = (b - mean) * g + beta,    g = gamma / sqrt(var + eps)   (per output channel),

computed by :func:`ltr.models.layers.batchnorm_folding.fold_batchnorm_weights` (shared with the
estimator's inference path).

:func:`fold_batchnorm` returns a deep copy in which every such pair is replaced by the folded
convolution and an ``nn.Identity``; the original module (its parameters and ``state_dict``) is not
touched, so checkpoints keep loading into it. Pairs are found by the naming conventions of the
backbones here: consecutive ``Conv2d`` -> ``BatchNorm2d`` children of an ``nn.Sequential``, and
sibling attributes ``conv``/``bn``, ``convN``/``bnN`` (torchvision style, ``bn(conv(x))``).
:func:`folded_backbone` checks the copy against the original on a random input and falls back to
the original if they differ (a module whose forward does not follow the convention).
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping

import torch
from torch import nn

from ltr.models.layers.batchnorm_folding import fold_batchnorm_weights, foldable_batchnorm

__all__ = ["fold_batchnorm", "folded_backbone", "layer_selector"]


def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    weight, bias = fold_batchnorm_weights(conv.weight, conv.bias, bn)
    conv.weight = nn.Parameter(weight, requires_grad=False)
    conv.bias = nn.Parameter(bias, requires_grad=False)


def _foldable(bn: nn.Module) -> bool:
    return isinstance(bn, nn.BatchNorm2d) and foldable_batchnorm(bn)


def fold_batchnorm(module: nn.Module) -> tuple[nn.Module, int]:
    """An eval-mode deep copy of ``module`` with conv -> BatchNorm pairs folded (see the module docstring),
    and the number of pairs folded. ``module`` itself is unchanged."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be an nn.Module, got {type(module).__name__}")
    fused = copy.deepcopy(module).eval()
    count = 0
    for parent in list(fused.modules()):
        children = list(parent._modules.items())
        if isinstance(parent, nn.Sequential):
            for (_, first), (second_name, second) in itertools.pairwise(children):
                if isinstance(first, nn.Conv2d) and _foldable(second):
                    _fold_pair(first, second)
                    parent._modules[second_name] = nn.Identity()
                    count += 1
            continue
        for name, child in children:
            if not (name.startswith("bn") and _foldable(child)):
                continue
            conv = parent._modules.get("conv" + name[2:])
            if isinstance(conv, nn.Conv2d) and conv.out_channels == child.num_features:
                _fold_pair(conv, child)
                parent._modules[name] = nn.Identity()
                count += 1
    return fused, count


def folded_backbone(backbone: nn.Module, device: torch.device | str = "cpu", check_size: int = 64,
                    rtol: float = 1e-3) -> nn.Module:
    """:func:`fold_batchnorm` of ``backbone`` on ``device`` if its outputs on a random ``check_size`` image
    match the original's (max abs difference <= ``rtol`` x max abs value per output), else the original."""
    backbone = backbone.to(device).eval()
    fused, count = fold_batchnorm(backbone)
    if count == 0:
        return backbone
    fused = fused.to(device)
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(1, 3, check_size, check_size, generator=generator).to(device)
    with torch.inference_mode():
        expected, got = backbone(probe), fused(probe)
    if isinstance(expected, Mapping):
        pairs = [(expected[k], got.get(k)) for k in expected] if isinstance(got, Mapping) else [(None, None)]
    else:
        pairs = [(expected, got)]
    for ref, out in pairs:
        if not (isinstance(ref, torch.Tensor) and isinstance(out, torch.Tensor) and ref.shape == out.shape):
            return backbone
        if float((ref - out).abs().max()) > rtol * max(float(ref.abs().max()), 1e-6):
            return backbone
    return fused


def layer_selector(backbone: Callable[[torch.Tensor], Mapping[str, torch.Tensor]],
                   layers: tuple[str, ...]) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """``im -> {name: backbone(im)[name] for name in layers}`` (a ValueError names missing layers)."""
    def run(im: torch.Tensor) -> dict[str, torch.Tensor]:
        out = backbone(im)
        missing = [name for name in layers if name not in out]
        if missing:
            raise ValueError(f"backbone does not output {missing}; it gives {sorted(out)}")
        return {name: out[name] for name in layers}
    return run
