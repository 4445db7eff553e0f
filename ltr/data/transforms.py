"""Image and box transforms for training: box jitter, search-region crops, photometric augmentation.

Coordinates are continuous pixel coordinates: pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``,
so its centre is at ``(j + 0.5, i + 0.5)`` and an image of width W spans ``[0, W]``. Boxes are
``[x, y, w, h]`` in these coordinates.

Search-region crop (ATOM convention, square region): for a box with centre ``c`` and size
``(w, h)``, the crop is the square of side ``S = sqrt(w * h) * search_area_factor`` centred on ``c``,
resampled to ``output_sz x output_sz``. Image points map to crop points by
``p' = (p - (c - S / 2)) * output_sz / S``; outside the image the border pixels are replicated.

Two implementations of that crop:

- :func:`crop_search_region` (the reference): the whole decoded frame; when the scale ``s = output_sz / S``
  is below 0.5, the whole frame is first shrunk to ``2 s`` with area averaging, then one bilinear warp;
- :func:`crop_search_region_fast` (the training loader's): decodes a JPEG at ``1 / k`` of its size in the
  DCT domain, ``k`` the largest of 1, 2, 4, 8 with ``k <= 1 / s`` (the crop is downsampled by at least k
  anyway), then works on the region of interest only: the crop's source rectangle plus a margin, area-shrunk
  when ``k s < 0.5`` as the reference does, and one bilinear ``warpAffine`` with border replication. The
  geometry (the transform and the boxes) is the same; the pixels differ by resampling only (mean absolute
  difference a few grey levels of 255, see ``tests/test_fast_crop.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CropTransform",
    "jitter_box",
    "crop_search_region",
    "crop_search_region_fast",
    "decode_reduction",
    "to_grayscale",
    "image_to_tensor",
    "normalised_pixels",
]

#: ImageNet normalisation (RGB in [0, 1]); the backbones expect ``(rgb / 255 - mean) / std``.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CropTransform:
    """Similarity transform image -> crop: ``p' = (p - origin) * scale`` (same scale on x and y)."""

    origin_x: float
    origin_y: float
    scale: float

    def box_to_crop(self, box: np.ndarray) -> np.ndarray:
        """Map ``[..., 4]`` xywh boxes from image to crop coordinates."""
        box = np.asarray(box, dtype=np.float64)
        out = box.copy()
        out[..., 0] = (box[..., 0] - self.origin_x) * self.scale
        out[..., 1] = (box[..., 1] - self.origin_y) * self.scale
        out[..., 2:] = box[..., 2:] * self.scale
        return out

    def box_to_image(self, box: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`box_to_crop`."""
        box = np.asarray(box, dtype=np.float64)
        out = box.copy()
        out[..., 0] = box[..., 0] / self.scale + self.origin_x
        out[..., 1] = box[..., 1] / self.scale + self.origin_y
        out[..., 2:] = box[..., 2:] / self.scale
        return out


def _check_box(box: np.ndarray, name: str = "box") -> np.ndarray:
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"{name} must be a finite [x, y, w, h] with w, h > 0, got {box.tolist()}")
    return box


def jitter_box(box: np.ndarray, center_jitter_factor: float, scale_jitter_factor: float,
               rng: np.random.Generator) -> np.ndarray:
    """ATOM-style box jitter, used to place the search region off-centre.

    ``size' = size * exp(N(0, 1) * scale_jitter_factor)`` (per dimension);
    ``centre' = centre + (U(0, 1) - 0.5) * sqrt(w' * h') * center_jitter_factor`` (per dimension).
    Returns the jittered ``[x, y, w, h]``.
    """
    box = _check_box(box)
    size = box[2:] * np.exp(rng.standard_normal(2) * scale_jitter_factor)
    max_offset = math.sqrt(size[0] * size[1]) * center_jitter_factor
    centre = box[:2] + 0.5 * box[2:] + (rng.random(2) - 0.5) * max_offset
    return np.concatenate([centre - 0.5 * size, size])


def search_region_transform(box: np.ndarray, search_area_factor: float,
                            output_sz: int) -> tuple[int, float, CropTransform]:
    """``(output_sz, side, transform)`` of the search region: a square of side ``sqrt(w h) * search_area_factor``
    image pixels centred on ``box``, mapped onto ``output_sz`` pixels (arguments checked here)."""
    if search_area_factor <= 0:
        raise ValueError(f"search_area_factor must be > 0, got {search_area_factor}")
    if int(output_sz) != output_sz or output_sz < 1:
        raise ValueError(f"output_sz must be a positive integer, got {output_sz}")
    box = _check_box(box)
    output_sz = int(output_sz)
    side = math.sqrt(box[2] * box[3]) * search_area_factor
    centre = box[:2] + 0.5 * box[2:]
    return output_sz, side, CropTransform(float(centre[0] - side / 2), float(centre[1] - side / 2), output_sz / side)


def crop_search_region(image: np.ndarray, box: np.ndarray, search_area_factor: float,
                       output_sz: int) -> tuple[np.ndarray, CropTransform]:
    """Square crop of side ``sqrt(w * h) * search_area_factor`` around ``box``'s centre, resized to
    ``output_sz`` (bilinear, border replication outside the image). Returns (crop, transform)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an RGB array [H, W, 3], got {getattr(image, 'shape', type(image))}")
    output_sz, _, transform = search_region_transform(box, search_area_factor, output_sz)
    # warpAffine with WARP_INVERSE_MAP maps destination pixel indices to source pixel indices;
    # with pixel centres at index + 0.5: src_idx = (dst_idx + 0.5) / s + origin - 0.5.
    inv = 1.0 / transform.scale
    matrix = np.array([[inv, 0.0, 0.5 * inv + transform.origin_x - 0.5],
                       [0.0, inv, 0.5 * inv + transform.origin_y - 0.5]], dtype=np.float64)
    interpolation = cv2.INTER_LINEAR
    source = image
    if transform.scale < 0.5:
        # Strong downsampling: pre-shrink with area averaging to limit aliasing, then warp.
        shrink = min(1.0, 2.0 * transform.scale)
        small_w = max(1, int(round(image.shape[1] * shrink)))
        small_h = max(1, int(round(image.shape[0] * shrink)))
        source = cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA)
        fx, fy = small_w / image.shape[1], small_h / image.shape[0]
        matrix = np.array([[inv * fx, 0.0, (0.5 * inv + transform.origin_x) * fx - 0.5],
                           [0.0, inv * fy, (0.5 * inv + transform.origin_y) * fy - 0.5]], dtype=np.float64)
    crop = cv2.warpAffine(source, matrix, (output_sz, output_sz), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, transform


def decode_reduction(scale: float, max_reduction: int = 8) -> int:
    """The largest ``k`` of 1, 2, 4, 8 (``<= max_reduction``) with ``k * scale <= 1``: a crop resampled at
    ``scale`` (crop pixels per image pixel) is downsampled by at least ``k``, so decoding at ``1 / k`` loses
    nothing it would keep."""
    k = 1
    while 2 * k <= max_reduction and 2 * k * scale <= 1.0:
        k *= 2
    return k


def crop_search_region_fast(source, box: np.ndarray, search_area_factor: float, output_sz: int,
                            max_reduction: int = 8) -> tuple[np.ndarray, CropTransform]:
    """:func:`crop_search_region` of ``source`` (an RGB array, or an :class:`ltr.data.image_loader.EncodedImage`
    decoded here at ``1 / k`` of its size, :func:`decode_reduction`) on the region of interest only
    (see module docstring). Same transform as the reference; pixels equal up to resampling."""
    output_sz, side, transform = search_region_transform(box, search_area_factor, output_sz)
    if isinstance(source, np.ndarray):
        image, k = source, 1
    else:
        image, k = source.decode(decode_reduction(transform.scale, max_reduction))
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an RGB array [H, W, 3], got {getattr(image, 'shape', type(image))}")
    height, width = image.shape[:2]
    scale = transform.scale * k  # crop pixels per pixel of the decoded image
    shrink = min(1.0, 2.0 * scale)  # area pre-shrink of the reference when scale < 0.5
    # source rectangle in decoded-image coordinates, with a margin that covers the bilinear footprint
    x0, y0 = transform.origin_x / k, transform.origin_y / k
    extent = side / k
    margin = 2 + int(math.ceil(2.0 / shrink))
    left = min(max(int(math.floor(x0)) - margin, 0), width - 1)
    top = min(max(int(math.floor(y0)) - margin, 0), height - 1)
    right = max(min(int(math.ceil(x0 + extent)) + margin, width), left + 1)
    bottom = max(min(int(math.ceil(y0 + extent)) + margin, height), top + 1)
    roi = image[top:bottom, left:right]
    # ROI index = image coordinate / k - (left, top) - 0.5, image coordinate = (dst + 0.5) / s + origin
    inv = 1.0 / scale
    fx = fy = 1.0
    if shrink < 1.0:
        small_w = max(1, int(round(roi.shape[1] * shrink)))
        small_h = max(1, int(round(roi.shape[0] * shrink)))
        roi = cv2.resize(roi, (small_w, small_h), interpolation=cv2.INTER_AREA)
        fx, fy = small_w / (right - left), small_h / (bottom - top)
    matrix = np.array([[inv * fx, 0.0, (0.5 * inv + x0 - left) * fx - 0.5],
                       [0.0, inv * fy, (0.5 * inv + y0 - top) * fy - 0.5]], dtype=np.float64)
    crop = cv2.warpAffine(roi, matrix, (output_sz, output_sz), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, transform


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """RGB -> gray (ITU-R 601 luma), replicated to 3 channels so the shape stays ``[H, W, 3]``."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


def _pixel_table(brightness_factor: float, normalize: bool) -> np.ndarray:
    """``[1, 256, 3]`` float32: the value of grey level v in channel c, by the very float32 operations of
    :func:`image_to_tensor` (so a lookup gives the same bits)."""
    levels = torch.arange(256, dtype=torch.float32).view(1, 256, 1).expand(3, 256, 1).contiguous()
    levels = levels.div_(255.0)
    if brightness_factor != 1.0:
        levels.mul_(float(brightness_factor)).clamp_(0.0, 1.0)
    if normalize:
        levels.sub_(torch.tensor(IMAGENET_MEAN).view(3, 1, 1)).div_(torch.tensor(IMAGENET_STD).view(3, 1, 1))
    return levels.permute(2, 1, 0).contiguous().numpy()  # [1, 256, 3]


def normalised_pixels(image: np.ndarray, brightness_factor: float = 1.0, normalize: bool = True) -> torch.Tensor:
    """:func:`image_to_tensor` as an ``[H, W, 3]`` float32 tensor (channels last), in one pass: a per-channel
    256-entry lookup table (``cv2.LUT``) holding ``image_to_tensor``'s value of each grey level; equal to it."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
    table = _pixel_table(float(brightness_factor), bool(normalize))
    return torch.from_numpy(cv2.LUT(np.ascontiguousarray(image), table))


def image_to_tensor(image: np.ndarray, brightness_factor: float = 1.0, normalize: bool = True) -> torch.Tensor:
    """RGB uint8 ``[H, W, 3]`` -> float ``[3, H, W]``: ``clamp(rgb / 255 * brightness, 0, 1)``, then
    ImageNet normalisation ``(v - mean) / std`` when ``normalize``."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    if brightness_factor != 1.0:
        tensor.mul_(float(brightness_factor)).clamp_(0.0, 1.0)
    if normalize:
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
        tensor.sub_(mean).div_(std)
    return tensor
