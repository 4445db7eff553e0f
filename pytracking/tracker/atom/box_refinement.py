"""Box refinement by gradient ascent on an estimator's score (Algorithm S1, ``ebm.refinement``).

Given the current estimate ``b = (cx, cy, w, h)`` in patch pixels:

1. candidates: ``b`` plus ``num_boxes - 1`` jittered boxes, ``(cx, cy, w, h) + (u - 0.5) * sqrt(w h)
   * (jitter_pos, jitter_pos, jitter_sz, jitter_sz)`` with ``u ~ U[0, 1)^4``, sizes clamped to
   ``>= min(w, h) / 3``;
2. every candidate goes to relative space ``y = (cx / w, cy / h, log w, log h)`` (reference size =
   the current estimate's size) and is refined with ``ebm.refinement.refine`` (per-dimension step
   lengths, ``num_iter`` steps, step decay on rejection);
3. candidates with aspect ratio ``w / h`` outside ``(1 / max_aspect, max_aspect)``, non-finite
   values, a size changed by more than ``max_scale_change`` (either way) or a centre moved by more
   than ``max_shift * sqrt(w h)`` from the current estimate are dropped (guards against a broken
   estimator); the result is the mean ``(cx, cy, w, h)`` of the ``top_k`` best-scoring ones
   (the current estimate if none survives).

:func:`regress_box` is the regression-head counterpart (Gaussian-NLL baseline): one forward pass
from the current estimate, the predicted mean box, the same plausibility guards (the current
estimate if the prediction fails them).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ebm.boxes import cxcywh_to_xywh, rel_to_xywh, xywh_to_cxcywh, xywh_to_rel
from ebm.refinement import RefinementResult, refine
from pytracking.tracker.atom.box_estimator import BoxEstimator, RegressionBoxEstimator

__all__ = ["RefinedBox", "RefinementSettings", "jitter_boxes", "plausible_boxes", "refine_box", "refine_fused",
           "regress_box"]


@dataclass
class RefinementSettings:
    """Numbers of the refinement (all from the parameter file)."""

    num_boxes: int = 10
    jitter_pos: float = 0.1
    jitter_sz: float = 0.5
    num_iter: int = 10
    step_length: Sequence[float] = (2e-4, 2e-4, 1e-3, 1e-3)
    decay: float = 0.5
    max_aspect: float = 6.0
    top_k: int = 3
    max_scale_change: float = 4.0
    max_shift: float = 2.0

    @classmethod
    def from_params(cls, params: Any) -> "RefinementSettings":
        return cls(
            num_boxes=int(params.get("box_refinement_num_boxes", 10)),
            jitter_pos=float(params.get("box_jitter_pos", 0.1)),
            jitter_sz=float(params.get("box_jitter_sz", 0.5)),
            num_iter=int(params.get("box_refinement_iter", 10)),
            step_length=tuple(float(v) for v in params.get("box_refinement_step_length", (2e-4, 2e-4, 1e-3, 1e-3))),
            decay=float(params.get("box_refinement_decay", 0.5)),
            max_aspect=float(params.get("maximal_aspect_ratio", 6.0)),
            top_k=int(params.get("box_refinement_topk", 3)),
            max_scale_change=float(params.get("box_refinement_max_scale_change", 4.0)),
            max_shift=float(params.get("box_refinement_max_shift", 2.0)),
        )


@dataclass
class RefinedBox:
    """Refined box ``[4]`` xywh (patch pixels), every refined candidate ``[N, 4]``, their scores
    ``[N]``, accepted-step counts ``[N]`` and the starting boxes ``[N, 4]`` they came from."""

    box: torch.Tensor
    candidates: torch.Tensor
    scores: torch.Tensor
    num_accepted: torch.Tensor
    initial: torch.Tensor | None = None


def jitter_boxes(box_xywh: torch.Tensor, num_boxes: int, jitter_pos: float, jitter_sz: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``[num_boxes, 4]`` xywh: ``box_xywh`` first, then jittered copies (see the module docstring)."""
    if num_boxes < 1:
        raise ValueError(f"num_boxes must be >= 1, got {num_boxes}")
    c = xywh_to_cxcywh(box_xywh.reshape(1, 4))
    side = torch.sqrt(c[0, 2] * c[0, 3])
    factor = side * torch.tensor([jitter_pos, jitter_pos, jitter_sz, jitter_sz], dtype=c.dtype, device=c.device)
    u = torch.rand(num_boxes - 1, 4, generator=generator, dtype=c.dtype, device="cpu").to(c.device)
    jittered = c + (u - 0.5) * factor
    min_side = torch.minimum(c[0, 2], c[0, 3]) / 3
    jittered = torch.cat([jittered[:, :2], jittered[:, 2:].clamp_min(min_side)], dim=1)
    return cxcywh_to_xywh(torch.cat([c, jittered], dim=0))


def plausible_boxes(boxes: torch.Tensor, box_xywh: torch.Tensor, settings: RefinementSettings) -> torch.Tensor:
    """``[N]`` bool: finite, ``w, h > 0``, aspect ``w / h`` in ``(1 / max_aspect, max_aspect)``, size
    within ``max_scale_change`` (either way) of ``box_xywh``'s and centre within ``max_shift * sqrt(w h)``."""
    ref_wh = box_xywh[2:]
    aspect = boxes[:, 2] / boxes[:, 3]
    change = boxes[:, 2:] / ref_wh
    shift = (xywh_to_cxcywh(boxes)[:, :2] - xywh_to_cxcywh(box_xywh)[:2]).norm(dim=1)
    return (torch.isfinite(boxes).all(dim=1)
            & (aspect > 1.0 / settings.max_aspect) & (aspect < settings.max_aspect) & (boxes[:, 2:] > 0).all(dim=1)
            & (change > 1.0 / settings.max_scale_change).all(dim=1) & (change < settings.max_scale_change).all(dim=1)
            & (shift <= settings.max_shift * torch.sqrt(ref_wh[0] * ref_wh[1])))


def regress_box(estimator: RegressionBoxEstimator, frame_state: Any, box_xywh: torch.Tensor,
                settings: RefinementSettings) -> RefinedBox:
    """The regression head's predicted mean box from ``box_xywh`` ``[4]`` (patch pixels), one forward
    pass; ``scores`` = ``-sum(log_var) / 2`` (log-density of the predicted Gaussian at its mean, up to
    a constant: higher = more confident). ``box_xywh`` itself if the prediction is implausible."""
    box_xywh = box_xywh.reshape(4).to(torch.float32)
    if not torch.isfinite(box_xywh).all() or (box_xywh[2:] <= 0).any():
        raise ValueError(f"box_xywh must be finite with w, h > 0, got {box_xywh.tolist()}")
    boxes, log_var = estimator.regress(frame_state, box_xywh[None])
    boxes = boxes.to(box_xywh)
    scores = -0.5 * log_var.to(box_xywh).sum(dim=1)
    valid = plausible_boxes(boxes, box_xywh, settings)
    final = boxes[0] if bool(valid[0]) else box_xywh
    return RefinedBox(box=final.detach(), candidates=boxes.detach(), scores=scores.detach(),
                      num_accepted=valid.to(torch.int64), initial=box_xywh[None].detach())


def refine_fused(estimator: Any, frame_state: Any, y0: torch.Tensor, ref_wh: torch.Tensor, step_length: torch.Tensor,
                 num_iter: int, decay: float) -> RefinementResult:
    """:func:`ebm.refinement.refine` (Algorithm S1, same accept/reject and decay rules, same result) for one
    image's ``y0 [N, 4]`` in relative space, on an estimator's ``score_and_grad(frame_state, boxes_xywh)``:
    no autograd graph, one fused score+gradient evaluation per step. Returns ``[1, N, ...]`` like ``refine``.

    The relative-space gradient is the chain rule through :func:`ebm.boxes.rel_to_xywh`
    (``x = r0 w0 - e^r2 / 2``, ``w = e^r2``, same in y): ``d/dr0 = w0 g_x``, ``d/dr2 = e^r2 (g_w - g_x / 2)``.

    The last step's gradient is never used, so its evaluation asks for the score only (``need_grad=False``,
    about half the work of a pass); its candidates are then checked for a finite score and position only
    (``refine`` would also reject a candidate whose gradient alone is non-finite)."""
    if not 0.0 <= float(decay) <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    if int(num_iter) != num_iter or num_iter < 0:
        raise ValueError(f"num_iter must be an integer >= 0, got {num_iter}")
    ref_wh = ref_wh.to(y0)

    def score_and_grad(y: torch.Tensor, need_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        wh = torch.exp(y[:, 2:])
        # rel_to_xywh without re-validation; ``add(a, b, alpha=-0.5)`` = ``a - 0.5 b`` (exact halving, same rounding)
        boxes = torch.cat([torch.add(y[:, :2] * ref_wh, wh, alpha=-0.5), wh], dim=1)
        score, grad = estimator.score_and_grad(frame_state, boxes, need_grad=need_grad)
        if grad is None:
            return score.to(y.dtype), None
        grad_xy, grad_wh = grad.to(y.dtype).split(2, dim=1)
        return score.to(y.dtype), torch.cat([grad_xy * ref_wh, wh * torch.add(grad_wh, grad_xy, alpha=-0.5)], dim=1)

    with torch.inference_mode():
        y = y0.clone()
        step = step_length.to(y).expand_as(y).clone()
        score, grad = score_and_grad(y)
        grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        num_accepted = torch.zeros(y.shape[0], dtype=torch.int64, device=y.device)
        for iteration in range(int(num_iter)):
            candidate = y + step * grad
            last = iteration == int(num_iter) - 1
            cand_score, cand_grad = score_and_grad(candidate, need_grad=not last)
            checked = [candidate, cand_score[:, None]] if cand_grad is None else [candidate, cand_grad, cand_score[:, None]]
            finite = torch.isfinite(torch.cat(checked, dim=1)).all(dim=1)
            accept = (cand_score > score) & finite
            accept_d = accept[:, None]
            y = torch.where(accept_d, candidate, y)
            if cand_grad is not None:
                grad = torch.where(accept_d, cand_grad, grad)
            score = torch.where(accept, cand_score, score)
            step = torch.where(accept_d, step, step * decay)
            num_accepted += accept.to(torch.int64)
    return RefinementResult(y=y[None].clone(), score=score[None].clone(), num_accepted=num_accepted[None].clone())


def refine_box(estimator: BoxEstimator, frame_state: Any, box_xywh: torch.Tensor, settings: RefinementSettings,
               generator: torch.Generator | None = None) -> RefinedBox:
    """Refine ``box_xywh`` ``[4]`` (patch pixels, w, h > 0) on ``estimator``'s score (see module)."""
    box_xywh = box_xywh.reshape(4).to(torch.float32)
    if not torch.isfinite(box_xywh).all() or (box_xywh[2:] <= 0).any():
        raise ValueError(f"box_xywh must be finite with w, h > 0, got {box_xywh.tolist()}")
    init = jitter_boxes(box_xywh, settings.num_boxes, settings.jitter_pos, settings.jitter_sz, generator)
    ref_wh = box_xywh[2:].clone()
    y0 = xywh_to_rel(init, ref_wh)[None]

    def score_fn(y: torch.Tensor) -> torch.Tensor:
        return estimator.score(frame_state, rel_to_xywh(y[0], ref_wh))[None]

    step = torch.tensor(settings.step_length, dtype=y0.dtype, device=y0.device)
    if callable(getattr(estimator, "score_and_grad", None)):
        result = refine_fused(estimator, frame_state, y0[0], ref_wh, step, settings.num_iter, settings.decay)
    else:
        with torch.inference_mode(False):
            result = refine(score_fn, y0, step, num_iter=settings.num_iter, decay=settings.decay)
    boxes = rel_to_xywh(result.y[0], ref_wh)
    scores = result.score[0]
    valid = plausible_boxes(boxes, box_xywh, settings) & torch.isfinite(scores)
    if not bool(valid.any()):
        final = box_xywh
    else:
        k = min(settings.top_k, int(valid.sum()))
        order = torch.argsort(torch.where(valid, scores, torch.full_like(scores, -math.inf)), descending=True)[:k]
        final = cxcywh_to_xywh(xywh_to_cxcywh(boxes[order]).mean(dim=0))
    return RefinedBox(box=final.detach(), candidates=boxes.detach(), scores=scores.detach(),
                      num_accepted=result.num_accepted[0], initial=init.detach())
