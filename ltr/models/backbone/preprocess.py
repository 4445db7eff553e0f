"""ImageNet normalisation shared by all backbones.

Backbones take ``im [B, 3, H, W]`` normalised as ``(rgb / 255 - mean) / std`` with the ImageNet constants below
(RGB, values in [0, 1] before normalisation).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
mean = IMAGENET_MEAN
std = IMAGENET_STD


def preprocess(images: np.ndarray | Tensor, value_range: float = 255.0) -> Tensor:
    """Normalise images for a backbone: ``(images / value_range - IMAGENET_MEAN) / IMAGENET_STD``.

    Args:
        images: RGB, either channels-last ``[H, W, 3]`` / ``[B, H, W, 3]`` (numpy or tensor, typically uint8) or
            channels-first float tensor ``[B, 3, H, W]``.
        value_range: value of full intensity in ``images`` (255 for uint8 and pytracking-style float images,
            1.0 for images already in [0, 1]).

    Returns:
        float32 ``[B, 3, H, W]`` on the input tensor's device.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    if not isinstance(tensor, Tensor):
        raise ValueError(f"images must be a numpy array or a tensor, got {type(images).__name__}")
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4:
        raise ValueError(f"images must be [H, W, 3], [B, H, W, 3] or [B, 3, H, W], got shape {tuple(tensor.shape)}")
    if tensor.shape[-1] == 3 and tensor.shape[1] != 3:
        tensor = tensor.permute(0, 3, 1, 2)
    elif tensor.shape[1] != 3:
        raise ValueError(f"images must have 3 (RGB) channels, got shape {tuple(tensor.shape)}")
    tensor = tensor.float() / value_range
    mean_t = torch.tensor(IMAGENET_MEAN, device=tensor.device).view(1, 3, 1, 1)
    std_t = torch.tensor(IMAGENET_STD, device=tensor.device).view(1, 3, 1, 1)
    return (tensor - mean_t) / std_t
