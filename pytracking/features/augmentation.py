"""First-frame augmentations for training the online classifier.

Each :class:`Augmentation` is applied while sampling the patch (one affine warp from the frame,
so shifted/rotated patches see real image content instead of padding): rotation ``angle_deg`` about
the target centre, horizontal ``flip``, translation ``shift`` (patch pixels), then an optional
Gaussian ``blur_sigma`` (patch pixels). Feature dropout is applied later on the features.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from pytracking.features.preprocessing import sample_patch

__all__ = ["Augmentation", "first_frame_augmentations", "augmented_patches"]


@dataclass(frozen=True)
class Augmentation:
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False
    angle_deg: float = 0.0
    blur_sigma: float = 0.0


def first_frame_augmentations(patch_size: int, shifts: Sequence[float] = (0.0625,), flip: bool = True,
                              rotations: Sequence[float] = (-10.0, 10.0),
                              blur_sigmas: Sequence[float] = (1.0, 2.0)) -> list[Augmentation]:
    """Identity first, then: ``shifts`` (fraction of ``patch_size``, each as (+-s, 0) and (0, +-s)),
    a horizontal flip if ``flip``, ``rotations`` (degrees), ``blur_sigmas`` (patch pixels)."""
    augs = [Augmentation()]
    for frac in shifts:
        s = float(frac) * patch_size
        augs += [Augmentation(shift=(s, 0.0)), Augmentation(shift=(-s, 0.0)),
                 Augmentation(shift=(0.0, s)), Augmentation(shift=(0.0, -s))]
    if flip:
        augs.append(Augmentation(flip=True))
    augs += [Augmentation(angle_deg=float(a)) for a in rotations]
    augs += [Augmentation(blur_sigma=float(b)) for b in blur_sigmas]
    return augs


def augmented_patches(image: np.ndarray, center: Sequence[float], sample_size: float, output_size: int,
                      augmentations: Sequence[Augmentation]) -> tuple[np.ndarray, np.ndarray]:
    """Patches ``[N, S, S, 3]`` (uint8) and the target centre in each patch ``[N, 2]`` (x, y)."""
    patches, centres = [], []
    for aug in augmentations:
        patch, affine = sample_patch(image, center, sample_size, output_size, angle_deg=aug.angle_deg,
                                     flip=aug.flip, shift=aug.shift)
        if aug.blur_sigma > 0:
            patch = cv2.GaussianBlur(patch, (0, 0), aug.blur_sigma, borderType=cv2.BORDER_REPLICATE)
        patches.append(patch)
        centres.append(affine @ np.array([center[0], center[1], 1.0]))
    return np.stack(patches), np.stack(centres)
