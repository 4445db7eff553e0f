"""Densities on regular grids: grids, normalisation of ``exp f`` and KL divergence.

Grids are cell-centred (midpoint rule): ``n`` cells of width ``(hi - lo) / n`` with points at
the cell centres, so ``sum_g p(y_g) * cell_volume`` approximates ``integral p(y) dy``.
Densities live on the last dimension ``[..., G]``.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch

__all__ = ["grid_1d", "grid_2d", "normalised_density", "kl_divergence"]

Pair = Union[float, Sequence[float]]


def _check_range(lo: float, hi: float, n: int, what: str) -> None:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n{what} must be an integer >= 1, got {n}")
    if not float(hi) > float(lo):
        raise ValueError(f"hi{what} must be > lo{what}, got lo={lo}, hi={hi}")


def _axis(lo: float, hi: float, n: int, dtype: torch.dtype, device: Union[str, torch.device, None]) -> torch.Tensor:
    width = (float(hi) - float(lo)) / int(n)
    return float(lo) + width * (torch.arange(int(n), dtype=dtype, device=device) + 0.5)


def grid_1d(
    lo: float, hi: float, n: int, dtype: torch.dtype = torch.float32, device: Union[str, torch.device, None] = None
) -> tuple[torch.Tensor, float]:
    """Cell-centred 1D grid on ``[lo, hi]``: points ``lo + (i + 0.5) (hi - lo) / n``.

    Returns ``(points [n, 1], cell_volume = (hi - lo) / n)``.
    """
    _check_range(lo, hi, n, "")
    return _axis(lo, hi, n, dtype, device)[:, None], (float(hi) - float(lo)) / int(n)


def _pair(value: Pair, name: str) -> tuple:
    if isinstance(value, (int, float)):
        return (value, value)
    values = tuple(value)
    if len(values) != 2:
        raise ValueError(f"{name} must be a scalar or a pair, got {value}")
    return values


def grid_2d(
    lo: Pair,
    hi: Pair,
    n: Union[int, Sequence[int]],
    dtype: torch.dtype = torch.float32,
    device: Union[str, torch.device, None] = None,
) -> tuple[torch.Tensor, float]:
    """Cell-centred 2D grid on ``[lo0, hi0] x [lo1, hi1]`` (scalars apply to both axes).

    Returns ``(points [n0 * n1, 2], cell_volume = (hi0 - lo0) / n0 * (hi1 - lo1) / n1)``.
    Points are in row-major order: the first coordinate varies slowest, so
    ``points.reshape(n0, n1, 2)[i, j] = (a_i, b_j)``.
    """
    lo2, hi2, n2 = _pair(lo, "lo"), _pair(hi, "hi"), _pair(n, "n")
    axes = []
    volume = 1.0
    for k in range(2):
        _check_range(lo2[k], hi2[k], n2[k], f"[{k}]")
        axes.append(_axis(lo2[k], hi2[k], n2[k], dtype, device))
        volume *= (float(hi2[k]) - float(lo2[k])) / int(n2[k])
    first, second = torch.meshgrid(axes[0], axes[1], indexing="ij")
    return torch.stack([first.reshape(-1), second.reshape(-1)], dim=-1), volume


def normalised_density(log_unnormalised: torch.Tensor, cell_volume: float) -> torch.Tensor:
    """Normalise ``exp(log_unnormalised)`` over the grid (last dimension) into a density.

    ``p_g = exp(l_g) / (sum_h exp(l_h) * cell_volume) = softmax(l)_g / cell_volume``, so
    ``sum_g p_g * cell_volume = 1``. Stable for any magnitude of ``l`` (e.g. EBM scores f).
    """
    if not isinstance(log_unnormalised, torch.Tensor) or log_unnormalised.dim() < 1:
        raise ValueError("log_unnormalised must be a tensor [..., G]")
    if not float(cell_volume) > 0:
        raise ValueError(f"cell_volume must be > 0, got {cell_volume}")
    return torch.softmax(log_unnormalised, dim=-1) / float(cell_volume)


def kl_divergence(p: torch.Tensor, q: torch.Tensor, cell_volume: float, eps: float = 1e-12) -> torch.Tensor:
    """``KL(p || q) = sum_g p_g (log p_g - log q_g) * cell_volume`` over the last dimension.

    ``p`` and ``q`` are densities on the same grid ``[..., G]``. Terms with ``p_g = 0`` count 0;
    ``q`` is floored at ``eps`` so a zero of the model density gives a large but finite KL.
    Returns ``[...]``.
    """
    if not isinstance(p, torch.Tensor) or not isinstance(q, torch.Tensor):
        raise ValueError("p and q must be torch tensors")
    if p.shape != q.shape:
        raise ValueError(f"p {tuple(p.shape)} and q {tuple(q.shape)} must have the same shape")
    if not float(cell_volume) > 0:
        raise ValueError(f"cell_volume must be > 0, got {cell_volume}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("p and q must be non-negative densities")
    log_ratio = torch.log(p.clamp(min=eps)) - torch.log(q.clamp(min=eps))
    terms = torch.where(p > 0, p * log_ratio, torch.zeros_like(p))
    return terms.sum(dim=-1) * float(cell_volume)
