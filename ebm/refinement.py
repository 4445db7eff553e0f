"""Prediction by gradient ascent on the score (Algorithm S1 of Gustafsson et al., ECCV 2020).

For every candidate ``y`` (independently, batched):

    repeat num_iter times:
        y' = y + lambda * grad_y f(x, y)          (lambda: per-dimension step lengths)
        if f(x, y') > f(x, y):  y <- y'           (accept)
        else:                   lambda <- decay * lambda   (reject; keep y, shrink this box's step)

One forward and one backward pass per iteration for all candidates at once: the gradient
at an accepted ``y'`` is the one already computed when ``y'`` was scored. The last step's
gradient is never used, so its candidates are scored without one (T + 1 evaluations, T of them
with the gradient). A candidate with a non-finite score or gradient counts as rejected, so the
result never contains NaN.

Early stop (eager path only, ``stop_tol > 0``): after iteration ``t`` (of ``T``) the loop stops when

    (T - 1 - t) * max_{b, n, d} |lambda_{b,n,d} * grad_y f(x, y)_{b,n,d}|  <=  stop_tol,

i.e. when the remaining iterations, each moving a candidate by at most its current step (``lambda`` never grows:
it is kept on acceptance and multiplied by ``decay`` on rejection), could move no coordinate of any candidate
by more than ``stop_tol`` -- exact if the gradient's magnitude does not grow along the remaining path, an
approximation otherwise. A rejected iteration is not a no-op (it shrinks the step), so "no step accepted" is
not by itself a reason to stop. The check reads one number per iteration (a host synchronisation), so a CUDA
graph capture never uses it: ``stop_tol`` is ignored while a stream is capturing or under ``vmap``. ``T`` stays
the upper bound.

This is the one implementation of the loop: the tracker's fused estimators plug in through
``score_and_grad`` (score and gradient from one call, no autograd graph), and a CUDA graph
captures this same function (no host synchronisation inside it while a stream is capturing).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch

__all__ = ["refine", "RefinementResult", "ScoreAndGradFn"]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]
#: ``(y [B, N, D], need_grad) -> (f [B, N], grad_y f [B, N, D] or None when not need_grad)``, detached.
ScoreAndGradFn = Callable[[torch.Tensor, bool], tuple[torch.Tensor, Optional[torch.Tensor]]]


class RefinementResult(NamedTuple):
    """Output of :func:`refine`.

    Attributes:
        y: ``[B, N, D]`` refined candidates (detached).
        score: ``[B, N]`` ``f`` at the refined candidates (detached; never below the initial score).
        num_accepted: ``[B, N]`` int64, how many steps each candidate accepted.
        initial_score: ``[B, N]`` ``f`` at ``y0`` (the starting candidates), or None.
    """

    y: torch.Tensor
    score: torch.Tensor
    num_accepted: torch.Tensor
    initial_score: Optional[torch.Tensor] = None


def _autograd_score_and_grad(score_fn: ScoreFn) -> ScoreAndGradFn:
    """``score_and_grad`` of a differentiable ``score_fn`` by ``torch.autograd.grad`` w.r.t. ``y`` only
    (parameter ``.grad`` untouched); works inside a caller's ``no_grad``/``inference_mode`` block."""

    def score_and_grad(y: torch.Tensor, need_grad: bool) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        with torch.inference_mode(False), torch.enable_grad():
            y_var = y.clone().requires_grad_(need_grad)   # clone: an ordinary tensor even from inference mode
            score = score_fn(y_var)
            if not isinstance(score, torch.Tensor) or score.shape != y.shape[:2]:
                shape = tuple(score.shape) if isinstance(score, torch.Tensor) else type(score).__name__
                raise ValueError(f"score_fn must return a tensor of shape [B, N] = {tuple(y.shape[:2])}, got {shape}")
            if not need_grad:
                return score.detach(), None
            if not score.requires_grad:
                raise ValueError("score_fn output does not depend differentiably on y (no gradient w.r.t. y)")
            (grad,) = torch.autograd.grad(score.sum(), y_var, allow_unused=True)
        return score.detach(), (torch.zeros_like(y) if grad is None else grad.detach())

    return score_and_grad


def _capturing(y0: Optional[torch.Tensor] = None) -> bool:
    """True while a CUDA stream is being captured into a graph, or inside ``torch.func.vmap`` (``y0`` batched):
    no host value read allowed then."""
    if y0 is not None and torch._C._functorch.is_batchedtensor(y0):
        return True
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()


def refine(
    score_fn: Optional[ScoreFn],
    y0: torch.Tensor,
    step_length: Union[float, torch.Tensor],
    num_iter: int = 10,
    decay: float = 0.5,
    *,
    score_and_grad: Optional[ScoreAndGradFn] = None,
    stop_tol: float = 0.0,
) -> RefinementResult:
    """Algorithm S1: per-candidate gradient ascent with accept/reject and step decay.

    Args:
        score_fn: ``y [B, N, D] -> f [B, N]``, differentiable in ``y``. May close over network
            features; the network's parameter gradients are never modified (gradients are
            taken w.r.t. ``y`` only with ``torch.autograd.grad``). Ignored when
            ``score_and_grad`` is given (then it may be None).
        y0: ``[B, N, D]`` initial candidates (e.g. boxes in relative space).
        step_length: ``lambda``: a float or a ``[D]`` tensor of per-dimension step lengths (>= 0);
            anything broadcastable to ``[B, N, D]`` is accepted.
        num_iter: number of steps T (>= 0); costs T + 1 evaluations, T + 1 - 1 with a gradient.
        decay: factor ``eta`` in ``[0, 1]`` applied to a candidate's step after a rejection.
        score_and_grad: ``(y, need_grad) -> (f, grad or None)``, a fused evaluation of the score
            and its gradient (e.g. a network's written-out backward); detached tensors.
        stop_tol: ``> 0``: stop early once the remaining iterations cannot move any coordinate of any candidate
            by more than this (in ``y``'s units; see the module docstring); ``0``: always ``num_iter`` steps.
            Ignored while a CUDA stream is capturing or under ``torch.func.vmap``.

    Works inside a caller's ``torch.no_grad()``/``inference_mode()`` block. No graph is kept between
    iterations. The value checks of ``y0`` and ``step_length`` are skipped while a CUDA stream is
    capturing (they would synchronise); the loop itself never synchronises.
    """
    if not isinstance(y0, torch.Tensor) or y0.dim() != 3:
        shape = tuple(y0.shape) if isinstance(y0, torch.Tensor) else type(y0).__name__
        raise ValueError(f"y0 must be a tensor of shape [B, N, D], got {shape}")
    if not y0.is_floating_point():
        raise ValueError(f"y0 must be a floating-point tensor, got {y0.dtype}")
    if isinstance(num_iter, bool) or int(num_iter) != num_iter or num_iter < 0:
        raise ValueError(f"num_iter must be an integer >= 0, got {num_iter}")
    decay = float(decay)
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    if score_and_grad is None:
        if score_fn is None:
            raise ValueError("refine needs score_fn or score_and_grad")
        score_and_grad = _autograd_score_and_grad(score_fn)
    step = torch.as_tensor(step_length, dtype=y0.dtype, device=y0.device)
    try:
        step = step.expand_as(y0).clone()
    except RuntimeError as err:
        raise ValueError(
            f"step_length of shape {tuple(step.shape)} does not broadcast to y0 {tuple(y0.shape)}"
        ) from err
    stop_tol = float(stop_tol)
    if not stop_tol >= 0.0:
        raise ValueError(f"stop_tol must be >= 0, got {stop_tol}")
    capturing = _capturing(y0)
    if capturing:
        stop_tol = 0.0   # reading the stop criterion would synchronise: the graph runs all num_iter steps
    else:
        if not torch.isfinite(y0).all():
            raise ValueError("y0 contains non-finite values")
        if not torch.isfinite(step).all() or (step < 0).any():
            raise ValueError("step_length must be finite and >= 0")

    with torch.inference_mode():
        y = y0.detach().clone()
        score, grad = score_and_grad(y, True)
        initial_score = score.clone()
        grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        num_accepted = torch.zeros_like(score, dtype=torch.int64)   # zeros_like: batched under vmap too
        for iteration in range(int(num_iter)):
            candidate = y + step * grad
            last = iteration == int(num_iter) - 1
            cand_score, cand_grad = score_and_grad(candidate, not last)
            checked = [candidate, cand_score[..., None]] if cand_grad is None else [candidate, cand_grad,
                                                                                    cand_score[..., None]]
            accept = (cand_score > score) & torch.isfinite(torch.cat(checked, dim=-1)).all(dim=-1)
            accept_d = accept[..., None]
            y = torch.where(accept_d, candidate, y)
            if cand_grad is not None:
                grad = torch.where(accept_d, cand_grad, grad)
            score = torch.where(accept, cand_score, score)
            step = torch.where(accept_d, step, step * decay)
            num_accepted += accept.to(torch.int64)
            remaining = int(num_iter) - 1 - iteration
            if stop_tol > 0.0 and remaining > 0 and float((step * grad).abs().amax()) * remaining <= stop_tol:
                break
    # clones: ordinary tensors (not inference tensors) for callers outside inference mode
    return RefinementResult(y=y.clone(), score=score.clone(), num_accepted=num_accepted.clone(),
                            initial_score=initial_score)
