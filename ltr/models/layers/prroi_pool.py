"""Precise RoI Pooling (Jiang et al., "Acquisition of Localization Confidence", ECCV 2018) in pure PyTorch.

Definition. The feature map ``F[c, h, w]`` is a set of samples at the integer points ``(w, h)`` of feature
space, extended by zero outside the map, and turned into a continuous function by bilinear interpolation::

    f_c(x, y) = sum_{h, w} F[c, h, w] * k(x - w) * k(y - h),     k(t) = max(0, 1 - |t|)  (hat kernel).

A RoI ``(x1, y1, x2, y2)`` in input-image pixels is mapped to feature space by ``spatial_scale`` and split
into ``ph x pw`` equal bins. Each bin's value is the mean of ``f_c`` over the bin::

    out[c, p, q] = 1 / |bin| * integral_{bin_pq} f_c(x, y) dx dy.

Because ``f_c`` is a sum of separable products, the integral factorises into two 1D hat-kernel integrals::

    out[c, p, q] = (1 / |bin|) * sum_{h, w} B[p, h] * F[c, h, w] * A[q, w],
    A[q, w] = K(x_{q+1} - w) - K(x_q - w),    B[p, h] = K(y_{p+1} - h) - K(y_p - h),

with ``x_q``, ``y_p`` the bin edges and ``K`` the antiderivative of the hat kernel (piecewise quadratic)::

    K(t) = 0 (t <= -1),  (1 + t)^2 / 2 (-1 < t <= 0),  1 - (1 - t)^2 / 2 (0 < t <= 1),  1 (t > 1).

The result is exact, and differentiable in the features and in the box coordinates (``dK/dt = k(t)``), which
is what makes the gradient of a box score w.r.t. the box exist. Bins of zero area give 0 (no NaN).
No compiled extension: runs on any device and dtype torch supports.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def _hat_antiderivative(t: Tensor) -> Tensor:
    """K(t) = integral_{-inf}^{t} max(0, 1 - |s|) ds, piecewise quadratic, C^1."""
    t = t.clamp(-1.0, 1.0)
    return torch.where(t <= 0, 0.5 * (1.0 + t) ** 2, 1.0 - 0.5 * (1.0 - t) ** 2)


def _axis_weights(lo: Tensor, hi: Tensor, num_bins: int, size: int) -> Tensor:
    """Integral weights of one axis.

    Args:
        lo, hi: ``[...]`` RoI start / end in feature coordinates (``hi < lo`` is treated as an empty RoI).
        num_bins: number of bins along the axis.
        size: number of feature samples along the axis.

    Returns:
        ``[..., num_bins, size]``: ``W[b, i] = integral over bin b of k(t - i) dt``.
    """
    extent = (hi - lo).clamp(min=0.0)
    steps = torch.arange(num_bins + 1, device=lo.device, dtype=lo.dtype) / num_bins
    edges = lo.unsqueeze(-1) + extent.unsqueeze(-1) * steps  # [..., num_bins + 1]
    grid = torch.arange(size, device=lo.device, dtype=lo.dtype)
    cumulative = _hat_antiderivative(edges.unsqueeze(-1) - grid)  # [..., num_bins + 1, size]
    return cumulative[..., 1:, :] - cumulative[..., :-1, :]


def _bin_normaliser(x1: Tensor, y1: Tensor, x2: Tensor, y2: Tensor, output_size: tuple[int, int]) -> Tensor:
    """1 / bin area (feature space), and 0 where the bin area is 0. Shape as the inputs."""
    ph, pw = output_size
    area = (x2 - x1).clamp(min=0.0) * (y2 - y1).clamp(min=0.0) / (ph * pw)
    positive = area > 0
    return torch.where(positive, 1.0 / torch.where(positive, area, torch.ones_like(area)), torch.zeros_like(area))


def _check_output_size(output_size: tuple[int, int] | int) -> tuple[int, int]:
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if (not isinstance(output_size, (tuple, list)) or len(output_size) != 2
            or any(not isinstance(s, int) or s < 1 for s in output_size)):
        raise ValueError(f"output_size must be a positive int or a pair of positive ints, got {output_size!r}")
    return int(output_size[0]), int(output_size[1])


def prroi_pool2d(features: Tensor, rois: Tensor, output_size: tuple[int, int] | int,
                 spatial_scale: float) -> Tensor:
    """Precise RoI pooling of arbitrary RoIs (see the module docstring for the formula).

    Args:
        features: ``[B, C, H, W]`` feature maps.
        rois: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` in input-image pixels.
        output_size: ``(ph, pw)`` (or one int for both).
        spatial_scale: feature coordinates = image coordinates * spatial_scale (1 / stride).

    Returns:
        ``[K, C, ph, pw]``.

    Memory: gathers one feature map per RoI (``K*C*H*W``); when every image has the same number of boxes,
    :func:`prroi_pool2d_batched` avoids the gather.
    """
    ph, pw = _check_output_size(output_size)
    if features.dim() != 4:
        raise ValueError(f"features must be [B, C, H, W], got shape {tuple(features.shape)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"rois must be [K, 5] (batch_index, x1, y1, x2, y2), got shape {tuple(rois.shape)}")
    rois = rois.to(features.dtype)
    batch_index = rois[:, 0].detach().round().long()
    if rois.shape[0] > 0 and (batch_index.min() < 0 or batch_index.max() >= features.shape[0]):
        raise ValueError(f"rois batch_index must lie in [0, {features.shape[0] - 1}]")
    height, width = features.shape[-2:]
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale for i in range(1, 5))
    col_weights = _axis_weights(x1, x2, pw, width)   # [K, pw, W]
    row_weights = _axis_weights(y1, y2, ph, height)  # [K, ph, H]
    per_roi = features.index_select(0, batch_index)  # [K, C, H, W]
    pooled = torch.einsum("kph,kchw->kcpw", row_weights, per_roi)
    pooled = torch.einsum("kcpw,kqw->kcpq", pooled, col_weights)
    return pooled * _bin_normaliser(x1, y1, x2, y2, (ph, pw)).view(-1, 1, 1, 1)


def prroi_pool2d_batched(features: Tensor, boxes_xyxy: Tensor, output_size: tuple[int, int] | int,
                         spatial_scale: float) -> Tensor:
    """Precise RoI pooling of ``N`` boxes per image, without gathering feature maps.

    Args:
        features: ``[B, C, H, W]``.
        boxes_xyxy: ``[B, N, 4]`` boxes ``(x1, y1, x2, y2)`` in input-image pixels; box ``n`` of row ``b``
            is pooled from image ``b``.
        output_size: ``(ph, pw)``.
        spatial_scale: 1 / stride.

    Returns:
        ``[B, N, C, ph, pw]``; equal to :func:`prroi_pool2d` on the flattened RoIs.
    """
    ph, pw = _check_output_size(output_size)
    if features.dim() != 4:
        raise ValueError(f"features must be [B, C, H, W], got shape {tuple(features.shape)}")
    if boxes_xyxy.dim() != 3 or boxes_xyxy.shape[-1] != 4 or boxes_xyxy.shape[0] != features.shape[0]:
        raise ValueError(f"boxes_xyxy must be [B, N, 4] with B = {features.shape[0]}, "
                         f"got shape {tuple(boxes_xyxy.shape)}")
    boxes = boxes_xyxy.to(features.dtype) * spatial_scale
    x1, y1, x2, y2 = boxes.unbind(-1)
    height, width = features.shape[-2:]
    col_weights = _axis_weights(x1, x2, pw, width)   # [B, N, pw, W]
    row_weights = _axis_weights(y1, y2, ph, height)  # [B, N, ph, H]
    # Two batched matrix products whose operands and results are all views of contiguous tensors, so
    # no intermediate of size B*N*C*H*pw is ever permuted/copied (only the features, B*C*H*W, are):
    #   rows:    [B, N*ph, H] @ [B, H, C*W]          -> [B, N*ph, C*W]   (layout b, n, p, c, w)
    #   columns: [B*N, ph*C, W] @ [B*N, W, pw]       -> [B*N, ph*C, pw]  (layout b, n, p, c, q)
    batch, channels = features.shape[:2]
    num_boxes = boxes_xyxy.shape[1]
    feat_rows = features.permute(0, 2, 1, 3).reshape(batch, height, channels * width)
    partial = torch.bmm(row_weights.reshape(batch, num_boxes * ph, height), feat_rows)
    partial = partial.view(batch * num_boxes, ph * channels, width)
    pooled = torch.bmm(partial, col_weights.reshape(batch * num_boxes, pw, width).transpose(1, 2))
    pooled = pooled.view(batch, num_boxes, ph, channels, pw).permute(0, 1, 3, 2, 4)
    norm = _bin_normaliser(x1, y1, x2, y2, (ph, pw))
    return pooled * norm[..., None, None, None]


class PrRoIPool2D(nn.Module):
    """Module wrapper of :func:`prroi_pool2d`: ``forward(features [B,C,H,W], rois [K,5]) -> [K,C,ph,pw]``."""

    def __init__(self, pooled_height: int, pooled_width: int, spatial_scale: float) -> None:
        super().__init__()
        self.output_size = _check_output_size((pooled_height, pooled_width))
        if not spatial_scale > 0:
            raise ValueError(f"spatial_scale must be > 0, got {spatial_scale!r}")
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: Tensor, rois: Tensor) -> Tensor:
        return prroi_pool2d(features, rois, self.output_size, self.spatial_scale)

    def forward_batched(self, features: Tensor, boxes_xyxy: Tensor) -> Tensor:
        """``[B,C,H,W]``, ``[B,N,4]`` xyxy image pixels ``-> [B,N,C,ph,pw]`` (see :func:`prroi_pool2d_batched`)."""
        return prroi_pool2d_batched(features, boxes_xyxy, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"


# --- inference fast path: integral tables --------------------------------------------------------------------
#
# Summation by parts turns the hat-kernel integral into an interpolation of prefix sums. With
# ``P[w] = sum_{w' <= w} F[w']`` (0 for w < 0, the total for w >= W - 1),
#
#     S(x) = sum_w K(x - w) F[w] = sum_w (K(x - w) - K(x - w - 1)) P[w] = sum_{j=0}^{W} A_j(x) T[j],
#     T[j] = P[j - 1],  A_j(x) = K(x - j + 1) - K(x - j)  (j < W),  A_W(x) = K(x - W + 1)
#
# (``K(x - j + 1) - K(x - j)`` is the quadratic B-spline: three non-zero weights per x). In 2D,
# ``S(x, y) = sum_{h,w} K(x - w) K(y - h) F[h, w] = sum_{i,j} B_i(y) A_j(x) T[i, j]`` with the 2D prefix table
# ``T``, and a bin's integral is ``S(x2, y2) - S(x1, y2) - S(x2, y1) + S(x1, y1)``: the per-frame work (the
# table) is shared by all boxes, and a box costs two small matrix products over the table instead of an einsum
# over the whole map. ``dS/dx`` uses ``dA_j/dx = k(x - j + 1) - k(x - j)``. Tables are float64 by default: the
# differences of prefix sums would lose precision in float32. Results equal :func:`prroi_pool2d_batched`.


def integral_table(features: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
    """2D prefix sums of ``features [B, C, H, W]`` -> ``[B, W + 1, H + 1, C]`` (x-major, channels last,
    ``dtype``): ``T[b, j, i, c] = sum_{h < i, w < j} F[b, c, h, w]`` (first row and column zero)."""
    if features.dim() != 4:
        raise ValueError(f"features must be [B, C, H, W], got shape {tuple(features.shape)}")
    batch, channels, height, width = features.shape
    table = features.new_zeros((batch, width + 1, height + 1, channels), dtype=dtype)
    table[:, 1:, 1:] = features.permute(0, 3, 2, 1).to(dtype).cumsum(1).cumsum(2)
    return table


def _hat(t: Tensor) -> Tensor:
    """k(t) = max(0, 1 - |t|)."""
    return (1.0 - t.abs()).clamp_(min=0.0)


def axis_interpolation(coords: Tensor, size: int, with_slopes: bool = True) -> Tensor:
    """Weights ``A_j(x)`` (and ``dA_j/dx``) of the prefix-table interpolation along one axis (module comment).

    Args:
        coords: ``[..., E]`` coordinates in feature cells.
        size: number of feature cells ``W`` along the axis (the table has ``W + 1`` entries).

    Returns:
        ``[..., K * E, W + 1]``: the ``E`` weight rows, then (``with_slopes``) their ``E`` derivative rows.
    """
    grid = torch.arange(size + 2, device=coords.device, dtype=coords.dtype) - 1.0   # j - 1, j = 0..W+1
    offset = coords.contiguous().unsqueeze(-1) - grid                               # [..., E, W + 2]
    cumulative = _hat_antiderivative(offset)
    cumulative[..., -1] = 0.0
    parts = [cumulative[..., :-1] - cumulative[..., 1:]]
    if with_slopes:
        slope = _hat(offset)
        slope[..., -1] = 0.0
        parts.append(slope[..., :-1] - slope[..., 1:])
    return torch.cat(parts, dim=-2) if with_slopes else parts[0]


def edge_kernels(edges: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """``K(x_e - i)`` and ``k(x_e - i)`` for edges ``[..., E]`` and cells ``i = 0..size-1`` -> two ``[..., E, size]``
    tensors. Bin ``b``'s axis weights (:func:`_axis_weights`) are ``K[..., b + 1, :] - K[..., b, :]`` and their
    derivative w.r.t. edge ``e`` is ``+-k[..., e, :]``."""
    offset = edges.contiguous().unsqueeze(-1) - torch.arange(size, device=edges.device, dtype=edges.dtype)
    offset = offset.clamp_(-1.0, 1.0)
    magnitude = offset.abs()
    # K(t) = 0.5 + t - t |t| / 2 on [-1, 1] (the two quadratic pieces in one expression), k(t) = 1 - |t|
    return (1.0 - 0.5 * magnitude).mul_(offset).add_(0.5), magnitude.neg_().add_(1.0)


def edge_integrals(table: Tensor, xs: Tensor, ys: Tensor, with_slopes: bool = True) -> Tensor:
    """``S(x, y)`` (and ``dS/dx``, ``dS/dy``) at every pair of RoI edges.

    Args:
        table: ``[B, W + 1, H + 1, C]`` from :func:`integral_table`.
        xs: ``[B, N, Ex]`` edge x coordinates in feature cells (box ``n`` of image ``b``).
        ys: ``[B, N, Ey]`` edge y coordinates.
        with_slopes: also return the partial derivatives.

    Returns:
        ``[B, N, Kx * Ex, Ky * Ey, C]`` in the table's dtype: ``[:, :, :Ex, :Ey]`` is ``S`` at ``(x_q, y_p)``
        (x index first); with slopes (``Kx = Ky = 2``) ``[:, :, Ex:, :Ey]`` is ``dS/dx`` and ``[:, :, :Ex, Ey:]``
        ``dS/dy`` (``[:, :, Ex:, Ey:]`` is the mixed derivative).
    """
    batch, cols, rows, channels = table.shape
    num_boxes = xs.shape[1]
    col_weights = axis_interpolation(xs.to(table.dtype), cols - 1, with_slopes)   # [B, N, Kx*Ex, W + 1]
    row_weights = axis_interpolation(ys.to(table.dtype), rows - 1, with_slopes)   # [B, N, Ky*Ey, H + 1]
    kx = col_weights.shape[2]
    # columns: [B, N*Kx*Ex, W+1] @ [B, W+1, (H+1)*C]
    partial = torch.bmm(col_weights.reshape(batch, -1, cols), table.reshape(batch, cols, rows * channels))
    partial = partial.view(batch, num_boxes, kx, rows, channels)
    # rows: [B, N, 1, Ky*Ey, H+1] @ [B, N, Kx*Ex, H+1, C]
    return torch.matmul(row_weights.unsqueeze(2), partial)


def bin_edges(lo: Tensor, hi: Tensor, num_bins: int) -> tuple[Tensor, Tensor]:
    """Edges ``[..., num_bins + 1]`` of ``num_bins`` equal bins of ``[lo, hi]`` (empty if ``hi < lo``) and the
    clamped extent ``[...]`` (as in :func:`prroi_pool2d_batched`)."""
    extent = (hi - lo).clamp(min=0.0)
    steps = torch.arange(num_bins + 1, device=lo.device, dtype=lo.dtype) / num_bins
    return lo.unsqueeze(-1) + extent.unsqueeze(-1) * steps, extent


def corner_differences(values: Tensor) -> Tensor:
    """``[..., Ex, Ey, C]`` values at bin corners -> ``[..., Ex - 1, Ey - 1, C]`` bin integrals
    ``v[q+1, p+1] - v[q, p+1] - v[q+1, p] + v[q, p]``."""
    return values[..., 1:, 1:, :] - values[..., :-1, 1:, :] - values[..., 1:, :-1, :] + values[..., :-1, :-1, :]


class _EdgeIntegral(torch.autograd.Function):
    """``S`` at RoI edges, differentiable w.r.t. the edge coordinates (the table is a constant)."""

    @staticmethod
    def forward(ctx, xs: Tensor, ys: Tensor, table: Tensor) -> Tensor:  # type: ignore[override]
        ex, ey = xs.shape[-1], ys.shape[-1]
        out = edge_integrals(table, xs, ys, with_slopes=True)
        ctx.save_for_backward(out[:, :, ex:, :ey], out[:, :, :ex, ey:])
        ctx.dtypes = (xs.dtype, ys.dtype)
        return out[:, :, :ex, :ey]

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        slope_x, slope_y = ctx.saved_tensors
        grad_x = (grad * slope_x).sum(dim=(3, 4)).to(ctx.dtypes[0])
        grad_y = (grad * slope_y).sum(dim=(2, 4)).to(ctx.dtypes[1])
        return grad_x, grad_y, None


def prroi_pool2d_integral(table: Tensor, boxes_xyxy: Tensor, output_size: tuple[int, int] | int,
                          spatial_scale: float, origin: tuple[float, float] = (0.0, 0.0)) -> Tensor:
    """Precise RoI pooling from an :func:`integral_table` (inference fast path; differentiable w.r.t. the boxes
    only, the table being a constant).

    Args:
        table: ``[B, W + 1, H + 1, C]`` prefix table of a feature map, or of a window of it whose top-left cell
            is ``origin = (row, col)`` (exact when the window holds every cell within one cell of the RoIs).
        boxes_xyxy: ``[B, N, 4]`` in input-image pixels.
        output_size: ``(ph, pw)``; spatial_scale: 1 / stride.

    Returns:
        ``[B, N, C, ph, pw]`` in ``boxes_xyxy``'s dtype; equal to :func:`prroi_pool2d_batched` on the map.
    """
    ph, pw = _check_output_size(output_size)
    if table.dim() != 4:
        raise ValueError(f"table must be [B, W + 1, H + 1, C], got shape {tuple(table.shape)}")
    if boxes_xyxy.dim() != 3 or boxes_xyxy.shape[-1] != 4 or boxes_xyxy.shape[0] != table.shape[0]:
        raise ValueError(f"boxes_xyxy must be [B, N, 4] with B = {table.shape[0]}, got shape {tuple(boxes_xyxy.shape)}")
    boxes = boxes_xyxy.to(table.dtype) * spatial_scale
    x1, y1, x2, y2 = boxes.unbind(-1)
    xs, _ = bin_edges(x1 - origin[1], x2 - origin[1], pw)
    ys, _ = bin_edges(y1 - origin[0], y2 - origin[0], ph)
    corners = _EdgeIntegral.apply(xs, ys, table)            # [B, N, pw + 1, ph + 1, C]
    pooled = corner_differences(corners) * _bin_normaliser(x1, y1, x2, y2, (ph, pw))[..., None, None, None]
    return pooled.permute(0, 1, 4, 3, 2).to(boxes_xyxy.dtype)
