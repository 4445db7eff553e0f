"""Bounding-box conversions and overlap, on torch tensors ``[..., 4]``.

Conventions:

* ``xywh``   -- ``(x, y, w, h)``: top-left corner and size (the framework default).
* ``xyxy``   -- ``(x1, y1, x2, y2)``: top-left and bottom-right corners, ``x2 = x + w``.
* ``cxcywh`` -- ``(cx, cy, w, h)``: centre ``cx = x + w / 2`` and size.
* ``rel``    -- relative space for proposals and refinement: for a reference size
  ``(w0, h0)``, a box maps to ``(cx / w0, cy / h0, log w, log h)``. The log-size keeps
  every decoded box positive.

All functions broadcast over leading dimensions and keep dtype and device.
"""
from __future__ import annotations

import torch

__all__ = [
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "xywh_to_cxcywh",
    "cxcywh_to_xywh",
    "xyxy_to_cxcywh",
    "cxcywh_to_xyxy",
    "xywh_to_rel",
    "rel_to_xywh",
    "xywh_grad_to_rel",
    "box_iou",
]


def _check_boxes(boxes: torch.Tensor, name: str) -> None:
    if not isinstance(boxes, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dim() < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [..., 4], got {tuple(boxes.shape)}")


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(x, y, w, h) -> (x, y, x + w, y + h)``."""
    _check_boxes(boxes, "boxes")
    xy, wh = boxes[..., :2], boxes[..., 2:]
    return torch.cat([xy, xy + wh], dim=-1)


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(x1, y1, x2, y2) -> (x1, y1, x2 - x1, y2 - y1)``."""
    _check_boxes(boxes, "boxes")
    p1, p2 = boxes[..., :2], boxes[..., 2:]
    return torch.cat([p1, p2 - p1], dim=-1)


def xywh_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(x, y, w, h) -> (x + w / 2, y + h / 2, w, h)``."""
    _check_boxes(boxes, "boxes")
    xy, wh = boxes[..., :2], boxes[..., 2:]
    return torch.cat([xy + 0.5 * wh, wh], dim=-1)


def cxcywh_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h) -> (cx - w / 2, cy - h / 2, w, h)``."""
    _check_boxes(boxes, "boxes")
    c, wh = boxes[..., :2], boxes[..., 2:]
    return torch.cat([c - 0.5 * wh, wh], dim=-1)


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(x1, y1, x2, y2) -> ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)``."""
    _check_boxes(boxes, "boxes")
    p1, p2 = boxes[..., :2], boxes[..., 2:]
    return torch.cat([0.5 * (p1 + p2), p2 - p1], dim=-1)


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h) -> (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)``."""
    _check_boxes(boxes, "boxes")
    c, wh = boxes[..., :2], boxes[..., 2:]
    return torch.cat([c - 0.5 * wh, c + 0.5 * wh], dim=-1)


def _check_ref_wh(ref_wh: torch.Tensor) -> None:
    if not isinstance(ref_wh, torch.Tensor):
        raise ValueError(f"ref_wh must be a torch.Tensor, got {type(ref_wh).__name__}")
    if ref_wh.dim() < 1 or ref_wh.shape[-1] != 2:
        raise ValueError(f"ref_wh must have shape [..., 2], got {tuple(ref_wh.shape)}")


def xywh_to_rel(boxes: torch.Tensor, ref_wh: torch.Tensor) -> torch.Tensor:
    """xywh boxes to relative space ``(cx / w0, cy / h0, log w, log h)``.

    ``ref_wh`` ``[..., 2]`` holds the reference size ``(w0, h0)`` and broadcasts against
    ``boxes[..., :2]``. Sizes must be positive (``log`` of a non-positive size is not finite).
    """
    _check_boxes(boxes, "boxes")
    _check_ref_wh(ref_wh)
    ref_wh = ref_wh.to(dtype=boxes.dtype, device=boxes.device)
    centre = boxes[..., :2] + 0.5 * boxes[..., 2:]
    return torch.cat([centre / ref_wh, torch.log(boxes[..., 2:])], dim=-1)


def rel_to_xywh(rel: torch.Tensor, ref_wh: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`xywh_to_rel`: ``cx = r0 * w0``, ``cy = r1 * h0``, ``w = exp r2``, ``h = exp r3``."""
    _check_boxes(rel, "rel")
    _check_ref_wh(ref_wh)
    ref_wh = ref_wh.to(dtype=rel.dtype, device=rel.device)
    wh = torch.exp(rel[..., 2:])
    # ``add(c, wh, alpha=-0.5)`` = ``c - 0.5 wh`` with the same single rounding (the halving is exact)
    return torch.cat([torch.add(rel[..., :2] * ref_wh, wh, alpha=-0.5), wh], dim=-1)


def xywh_grad_to_rel(rel: torch.Tensor, ref_wh: torch.Tensor, grad_xywh: torch.Tensor) -> torch.Tensor:
    """Chain rule through :func:`rel_to_xywh`: a gradient w.r.t. ``(x, y, w, h)`` at ``rel_to_xywh(rel)`` as a
    gradient w.r.t. ``rel``. With ``x = r0 w0 - e^r2 / 2`` and ``w = e^r2`` (same in y):
    ``d/dr0 = w0 g_x``, ``d/dr2 = e^r2 (g_w - g_x / 2)``."""
    _check_boxes(rel, "rel")
    _check_boxes(grad_xywh, "grad_xywh")
    _check_ref_wh(ref_wh)
    ref_wh = ref_wh.to(dtype=rel.dtype, device=rel.device)
    grad_xy, grad_wh = grad_xywh.to(rel.dtype).split(2, dim=-1)
    return torch.cat([grad_xy * ref_wh, torch.exp(rel[..., 2:]) * torch.add(grad_wh, grad_xy, alpha=-0.5)], dim=-1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise intersection-over-union of xywh boxes, broadcasting ``a`` against ``b``.

    ``IoU = |a ∩ b| / (|a| + |b| - |a ∩ b|)``; 0 for disjoint boxes and for a zero union
    (two empty boxes). Negative widths/heights count as zero area. Returns ``[...]``.
    """
    _check_boxes(a, "a")
    _check_boxes(b, "b")
    a_wh = a[..., 2:].clamp(min=0)
    b_wh = b[..., 2:].clamp(min=0)
    a1, a2 = a[..., :2], a[..., :2] + a_wh
    b1, b2 = b[..., :2], b[..., :2] + b_wh
    inter_wh = (torch.minimum(a2, b2) - torch.maximum(a1, b1)).clamp(min=0)
    area_a = a_wh[..., 0] * a_wh[..., 1]
    area_b = b_wh[..., 0] * b_wh[..., 1]
    # (x + w) - x is not exactly w in floating point: the intersection may round above an area
    inter = torch.minimum(inter_wh[..., 0] * inter_wh[..., 1], torch.minimum(area_a, area_b))
    union = area_a + area_b - inter
    positive = union > 0
    return torch.where(positive, inter / torch.where(positive, union, torch.ones_like(union)), torch.zeros_like(union))
