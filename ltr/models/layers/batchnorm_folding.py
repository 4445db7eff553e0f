"""Eval-mode BatchNorm folded into the convolution or linear layer before it (inference copies).

For ``y = W x + b`` followed by eval-mode BatchNorm ``z = gamma (y - mean) / sqrt(var + eps) + beta``,
the pair is one layer with ``W' = W g`` and ``b' = (b - mean) g + beta``, ``g = gamma / sqrt(var + eps)``
per output channel (``b = 0`` for a bias-free layer). The arithmetic is torch's
(:func:`torch.nn.utils.fusion.fuse_conv_bn_weights`, :func:`~torch.nn.utils.fusion.fuse_linear_bn_weights`).
Used by the backbone's inference copy (``pytracking.features.fusion``) and the estimator's inference
path (:class:`ltr.models.bbreg.atom_iou_net.AtomIoUNetInference`).
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

__all__ = ["fold_batchnorm_weights", "foldable_batchnorm"]


def foldable_batchnorm(bn: nn.Module) -> bool:
    """True for a BatchNorm with running statistics (the ones eval mode uses)."""
    return (isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.running_mean is not None
            and bn.running_var is not None)


def fold_batchnorm_weights(weight: Tensor, bias: Tensor | None, bn: nn.Module,
                           arithmetic: Literal["torch", "divide"] = "torch") -> tuple[Tensor, Tensor]:
    """``(W', b')`` of a conv (``weight.dim() > 2``) or linear (``weight.dim() == 2``) layer with ``bn`` folded
    in (see the module docstring): detached copies; the layer and ``bn`` are not modified.

    ``arithmetic``: ``'torch'`` (default) is torch's fusion (``g = gamma * rsqrt(var + eps)``,
    ``b' = (b - mean) g + beta``). ``'divide'`` computes ``g = gamma / sqrt(var + eps)`` and ``b' = beta - mean g``
    (bias-free layers only): the same numbers up to the last float bit, kept for the estimator's inference path
    (:class:`ltr.models.bbreg.atom_iou_net.AtomIoUNetInference`) because the shipped results were produced with it
    -- torch's rounding moves the demo's boxes (by up to 0.65 px on the demo benchmark, AUC 81.8 -> 81.9)."""
    if not foldable_batchnorm(bn):
        raise ValueError(f"bn must be a BatchNorm with running statistics, got {type(bn).__name__}")
    if weight.shape[0] != bn.running_mean.numel():
        raise ValueError(f"weight has {weight.shape[0]} output channels, bn has {bn.running_mean.numel()}")
    if arithmetic not in ("torch", "divide"):
        raise ValueError(f"arithmetic must be 'torch' or 'divide', got {arithmetic!r}")
    with torch.no_grad():
        if arithmetic == "divide":
            if bias is not None:
                raise ValueError("arithmetic='divide' folds bias-free layers only")
            gain = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            shape = (-1,) + (1,) * (weight.dim() - 1)
            fused_w, fused_b = weight * gain.view(shape), bn.bias - bn.running_mean * gain
        elif weight.dim() == 2:
            bias = bias if bias is not None else torch.zeros_like(bn.running_mean)
            fused_w, fused_b = fuse_linear_bn_weights(weight, bias, bn.running_mean, bn.running_var, bn.eps,
                                                      bn.weight, bn.bias)
        else:
            fused_w, fused_b = fuse_conv_bn_weights(weight, bias, bn.running_mean, bn.running_var, bn.eps,
                                                    bn.weight, bn.bias)
    return fused_w.detach().clone(), fused_b.detach().clone()
