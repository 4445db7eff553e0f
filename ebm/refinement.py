"""Prediction by gradient ascent on the score (Algorithm S1 of Gustafsson et al., ECCV 2020).

For every candidate ``y`` (independently, batched):

    repeat num_iter times:
        y' = y + lambda * grad_y f(x, y)          (lambda: per-dimension step lengths)
        if f(x, y') > f(x, y):  y <- y'           (accept)
        else:                   lambda <- decay * lambda   (reject; keep y, shrink this box's step)

One forward and one backward pass per iteration for all candidates at once: the gradient
at an accepted ``y'`` is the one already computed when ``y'`` was scored. A candidate with a
non-finite score or gradient counts as rejected, so the result never contains NaN.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Union

import torch

__all__ = ["refine", "RefinementResult"]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


class RefinementResult(NamedTuple):
    """Output of :func:`refine`.

    Attributes:
        y: ``[B, N, D]`` refined candidates (detached).
        score: ``[B, N]`` ``f`` at the refined candidates (detached; never below the initial score).
        num_accepted: ``[B, N]`` int64, how many steps each candidate accepted.
    """

    y: torch.Tensor
    score: torch.Tensor
    num_accepted: torch.Tensor


def _score_and_grad(score_fn: ScoreFn, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(y)`` ``[B, N]`` and ``grad_y f`` ``[B, N, D]``, both detached; parameter ``.grad`` untouched."""
    with torch.enable_grad():
        y_var = y.detach().requires_grad_(True)
        score = score_fn(y_var)
        if not isinstance(score, torch.Tensor) or score.shape != y.shape[:2]:
            shape = tuple(score.shape) if isinstance(score, torch.Tensor) else type(score).__name__
            raise ValueError(f"score_fn must return a tensor of shape [B, N] = {tuple(y.shape[:2])}, got {shape}")
        if not score.requires_grad:
            raise ValueError("score_fn output does not depend differentiably on y (no gradient w.r.t. y)")
        (grad,) = torch.autograd.grad(score.sum(), y_var, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(y)
    return score.detach(), grad.detach()


def refine(
    score_fn: ScoreFn,
    y0: torch.Tensor,
    step_length: Union[float, torch.Tensor],
    num_iter: int = 10,
    decay: float = 0.5,
) -> RefinementResult:
    """Algorithm S1: per-candidate gradient ascent with accept/reject and step decay.

    Args:
        score_fn: ``y [B, N, D] -> f [B, N]``, differentiable in ``y``. May close over network
            features; the network's parameter gradients are never modified (gradients are
            taken w.r.t. ``y`` only with ``torch.autograd.grad``).
        y0: ``[B, N, D]`` initial candidates (e.g. boxes in relative space).
        step_length: ``lambda``: a float or a ``[D]`` tensor of per-dimension step lengths (>= 0);
            anything broadcastable to ``[B, N, D]`` is accepted.
        num_iter: number of steps T (>= 0); costs T + 1 forward/backward passes.
        decay: factor ``eta`` in ``[0, 1]`` applied to a candidate's step after a rejection.

    Works inside a caller's ``torch.no_grad()`` block. No graph is kept between iterations.
    """
    if not isinstance(y0, torch.Tensor) or y0.dim() != 3:
        shape = tuple(y0.shape) if isinstance(y0, torch.Tensor) else type(y0).__name__
        raise ValueError(f"y0 must be a tensor of shape [B, N, D], got {shape}")
    if not y0.is_floating_point():
        raise ValueError(f"y0 must be a floating-point tensor, got {y0.dtype}")
    if not torch.isfinite(y0).all():
        raise ValueError("y0 contains non-finite values")
    if isinstance(num_iter, bool) or int(num_iter) != num_iter or num_iter < 0:
        raise ValueError(f"num_iter must be an integer >= 0, got {num_iter}")
    decay = float(decay)
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    step = torch.as_tensor(step_length, dtype=y0.dtype, device=y0.device)
    try:
        step = step.expand_as(y0).clone()
    except RuntimeError as err:
        raise ValueError(
            f"step_length of shape {tuple(step.shape)} does not broadcast to y0 {tuple(y0.shape)}"
        ) from err
    if not torch.isfinite(step).all() or (step < 0).any():
        raise ValueError("step_length must be finite and >= 0")

    y = y0.detach().clone()
    score, grad = _score_and_grad(score_fn, y)
    grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
    num_accepted = torch.zeros(y.shape[:2], dtype=torch.int64, device=y.device)

    for _ in range(int(num_iter)):
        candidate = y + step * grad
        cand_score, cand_grad = _score_and_grad(score_fn, candidate)
        accept = (
            (cand_score > score)
            & torch.isfinite(cand_score)
            & torch.isfinite(cand_grad).all(dim=-1)
            & torch.isfinite(candidate).all(dim=-1)
        )
        accept_d = accept[..., None]
        y = torch.where(accept_d, candidate, y)
        grad = torch.where(accept_d, cand_grad, grad)
        score = torch.where(accept, cand_score, score)
        step = torch.where(accept_d, step, step * decay)
        num_accepted += accept.to(torch.int64)

    return RefinementResult(y=y, score=score, num_accepted=num_accepted)
