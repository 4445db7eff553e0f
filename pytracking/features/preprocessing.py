"""Sampling search patches from a frame, and turning patches into normalised network input.

Coordinates are continuous pixel coordinates: pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``,
so a box ``[x, y, w, h]`` covers ``x <= u < x + w``. A patch is the similarity transform

    p = s * R(angle) * F * (q - center) + (out_w / 2, out_h / 2)

of image points ``q`` (``s`` = patch pixels per image pixel, ``F`` a horizontal flip if
requested). Parts of the patch outside the image replicate the image border. A strong
reduction (more than 2 image pixels per patch pixel) first shrinks the covered image part by an
integer factor with area averaging, so huge frames neither alias nor cost more than their crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

from ltr.models.backbone.preprocess import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["PatchGeometry", "sample_patch", "patches_to_tensor"]


def _pair(value: float | Sequence[float], name: str) -> tuple[float, float]:
    if isinstance(value, (int, float, np.floating, np.integer)):
        pair = (float(value), float(value))
    else:
        seq = [float(v) for v in value]
        if len(seq) != 2:
            raise ValueError(f"{name} must be a number or a pair, got {value!r}")
        pair = (seq[0], seq[1])
    if not all(math.isfinite(v) and v > 0 for v in pair):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return pair


@dataclass(frozen=True)
class PatchGeometry:
    """An axis-aligned patch: ``center`` (cx, cy) in the image, ``scale`` patch px per image px,
    ``output_size`` (w, h) in patch pixels. ``p = scale * (q - center) + output_size / 2``."""

    center: tuple[float, float]
    scale: float
    output_size: tuple[int, int]

    def to_patch(self, points: np.ndarray) -> np.ndarray:
        """Image points ``[..., 2]`` (x, y) -> patch points."""
        half = np.asarray(self.output_size, dtype=np.float64) / 2
        return (np.asarray(points, dtype=np.float64) - np.asarray(self.center)) * self.scale + half

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Patch points ``[..., 2]`` (x, y) -> image points."""
        half = np.asarray(self.output_size, dtype=np.float64) / 2
        return (np.asarray(points, dtype=np.float64) - half) / self.scale + np.asarray(self.center)

    def box_to_patch(self, box: Sequence[float]) -> np.ndarray:
        """Image box ``[x, y, w, h]`` -> patch box ``[x, y, w, h]``."""
        b = np.asarray(box, dtype=np.float64)
        return np.concatenate([self.to_patch(b[..., :2]), b[..., 2:] * self.scale], axis=-1)

    def box_to_image(self, box: Sequence[float]) -> np.ndarray:
        """Patch box ``[x, y, w, h]`` -> image box ``[x, y, w, h]``."""
        b = np.asarray(box, dtype=np.float64)
        return np.concatenate([self.to_image(b[..., :2]), b[..., 2:] / self.scale], axis=-1)


def _affine(center: tuple[float, float], scale: tuple[float, float], out_wh: tuple[int, int],
            angle_deg: float, flip: bool) -> np.ndarray:
    """2x3 continuous-coordinate affine image -> patch."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    lin = rot @ np.diag([(-1.0 if flip else 1.0) * scale[0], scale[1]])
    trans = np.array([out_wh[0] / 2, out_wh[1] / 2]) - lin @ np.asarray(center)
    return np.concatenate([lin, trans[:, None]], axis=1)


def sample_patch(
    image: np.ndarray,
    center: Sequence[float],
    sample_size: float | Sequence[float],
    output_size: int | Sequence[int],
    angle_deg: float = 0.0,
    flip: bool = False,
    shift: Sequence[float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Resample the square (or ``(w, h)``) region of ``sample_size`` image pixels around ``center``
    to ``output_size`` patch pixels, rotated by ``angle_deg`` about the centre and optionally
    flipped, and translated by ``shift`` patch pixels (the image centre lands on
    ``output_size / 2 + shift``); border replication outside the image.

    Returns ``(patch uint8 [out_h, out_w, 3], affine [2, 3])`` where ``affine`` maps continuous
    image points (x, y, 1) to continuous patch points.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an RGB uint8 array [H, W, 3], got {getattr(image, 'shape', None)}")
    c = [float(v) for v in center]
    if len(c) != 2 or not all(math.isfinite(v) for v in c):
        raise ValueError(f"center must be two finite numbers, got {center!r}")
    sw, sh = _pair(sample_size, "sample_size")
    ow, oh = (int(round(v)) for v in _pair(output_size, "output_size"))
    scale = (ow / sw, oh / sh)
    affine = _affine((c[0], c[1]), scale, (ow, oh), angle_deg, flip)
    affine[:, 2] += np.asarray([float(v) for v in shift], dtype=np.float64)

    src = image
    src_affine = affine
    reduction = int(math.floor(1.0 / max(scale)))
    if reduction >= 2:
        # image part covered by the patch (+ margin), shrunk by an integer factor (area average)
        inv = np.linalg.inv(np.vstack([affine, [0, 0, 1]]))
        corners = np.array([[0, 0, 1], [ow, 0, 1], [0, oh, 1], [ow, oh, 1]], dtype=np.float64) @ inv.T
        h_img, w_img = image.shape[:2]
        x0 = int(np.clip(math.floor(corners[:, 0].min()) - 2 * reduction, 0, w_img - 1))
        y0 = int(np.clip(math.floor(corners[:, 1].min()) - 2 * reduction, 0, h_img - 1))
        x1 = int(np.clip(math.ceil(corners[:, 0].max()) + 2 * reduction, x0 + 1, w_img))
        y1 = int(np.clip(math.ceil(corners[:, 1].max()) + 2 * reduction, y0 + 1, h_img))
        nx, ny = max(1, (x1 - x0) // reduction), max(1, (y1 - y0) // reduction)
        x1, y1 = min(w_img, x0 + nx * reduction), min(h_img, y0 + ny * reduction)
        sub = image[y0:y1, x0:x1]
        src = cv2.resize(sub, (nx, ny), interpolation=cv2.INTER_AREA)
        # reduced point q' = (q - origin) * (n / extent): patch = affine(q) = affine(q' * extent / n + origin)
        fx, fy = (x1 - x0) / nx, (y1 - y0) / ny
        to_image = np.array([[fx, 0, x0], [0, fy, y0], [0, 0, 1]], dtype=np.float64)
        src_affine = affine @ to_image

    # OpenCV works in pixel-centre coordinates: index = continuous - 0.5
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
    unshift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)
    matrix = (unshift @ np.vstack([src_affine, [0, 0, 1]]) @ shift)[:2]
    patch = cv2.warpAffine(np.ascontiguousarray(src), matrix, (ow, oh), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    return patch, affine


def patches_to_tensor(patches: np.ndarray | Sequence[np.ndarray], device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB uint8 patches ``[B, H, W, 3]`` (or a list of ``[H, W, 3]``) -> float32 ``[B, 3, H, W]``
    on ``device``, normalised as ``(rgb / 255 - mean) / std`` with the ImageNet constants."""
    batch = np.stack(list(patches)) if not isinstance(patches, np.ndarray) else patches
    if batch.ndim == 3:
        batch = batch[None]
    if batch.ndim != 4 or batch.shape[3] != 3:
        raise ValueError(f"patches must be [B, H, W, 3] RGB, got shape {batch.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2).float()
    mean = torch.tensor(IMAGENET_MEAN, device=tensor.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD, device=tensor.device).view(1, 3, 1, 1) * 255.0
    return (tensor - mean) / std
