"""Eval-mode BatchNorm folded into the convolution or linear layer before it (inference copies).

For ``y = W x + b`` followed by eval-mode BatchNorm ``z = gamma (y - mean) / sqrt(var + eps) + beta``,
the pair is one layer with ``W' = W g`` and ``b' = (b - mean) g + beta``, ``g = gamma / sqrt(var + eps)``
per output channel (``b = 0`` for a bias-free layer). The arithmetic is torch's
(:func:`torch.nn.utils.fusion.fuse_conv_bn_weights`, :func:`~torch.nn.utils.fusion.fuse_linear_bn_weights`).
Used by the backbone's inference copy (``pytracking.features.fusion``) and the estimator's inference
path (:class:`ltr.models.bbreg.atom_iou_net.AtomIoUNetInference`).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

__all__ = ["fold_batchnorm_weights", "foldable_batchnorm"]


def foldable_batchnorm(bn: nn.Module) -> bool:
    """True for a BatchNorm with running statistics (the ones eval mode uses)."""
    return (isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.running_mean is not None
            and bn.running_var is not None)


def fold_batchnorm_weights(weight: Tensor, bias: Tensor | None, bn: nn.Module) -> tuple[Tensor, Tensor]:
    """``(W', b')`` of a conv (``weight.dim() > 2``) or linear (``weight.dim() == 2``) layer with ``bn`` folded
    in (see the module docstring): detached copies; the layer and ``bn`` are not modified."""
    if not foldable_batchnorm(bn):
        raise ValueError(f"bn must be a BatchNorm with running statistics, got {type(bn).__name__}")
    if weight.shape[0] != bn.running_mean.numel():
        raise ValueError(f"weight has {weight.shape[0]} output channels, bn has {bn.running_mean.numel()}")
    with torch.no_grad():
        if weight.dim() == 2:
            bias = bias if bias is not None else torch.zeros_like(bn.running_mean)
            fused_w, fused_b = fuse_linear_bn_weights(weight, bias, bn.running_mean, bn.running_var, bn.eps,
                                                      bn.weight, bn.bias)
        else:
            fused_w, fused_b = fuse_conv_bn_weights(weight, bias, bn.running_mean, bn.running_var, bn.eps,
                                                    bn.weight, bn.bias)
    return fused_w.detach().clone(), fused_b.detach().clone()
