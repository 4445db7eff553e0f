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
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from ebm.boxes import cxcywh_to_xywh, rel_to_xywh, xywh_grad_to_rel, xywh_to_cxcywh, xywh_to_rel
from ebm.refinement import refine
from pytracking.tracker.atom.settings import RefinementSettings

__all__ = ["BoxScoreAndGrad", "RefinedBox", "RefinementSettings", "SHARPNESS_STEP", "draw_jitter", "jitter_boxes",
           "jittered_boxes", "plausible_boxes", "check_box", "refine_box", "refine_candidates", "refinement_constants",
           "held_size_box", "regress_box", "select_box", "size_probes", "size_sharpness"]

#: the log-size step of the sharpness probes (:func:`size_probes`): 0.1 = about 10 % wider / narrower
SHARPNESS_STEP = 0.1

#: ``(boxes [N, 4] xywh patch px, need_grad) -> (scores [N], d score / d box [N, 4] or None)``, detached
BoxScoreAndGrad = Callable[[torch.Tensor, bool], tuple[torch.Tensor, Optional[torch.Tensor]]]
#: ``boxes [N, 4] xywh patch px -> scores [N]``, differentiable in the boxes
BoxScore = Callable[[torch.Tensor], torch.Tensor]


def refinement_constants(settings: RefinementSettings, device: torch.device | str,
                         dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(step_length [4], jitter [4])`` of ``settings`` as tensors on ``device``: made once, outside a CUDA graph
    capture (a host-to-device copy cannot be captured)."""
    step = torch.tensor(tuple(settings.step_length), dtype=dtype, device=device)
    jitter = torch.tensor([settings.jitter_pos, settings.jitter_pos, settings.jitter_sz, settings.jitter_sz],
                          dtype=dtype, device=device)
    return step, jitter


@dataclass
class RefinedBox:
    """Refined box ``[4]`` xywh (patch pixels), every refined candidate ``[N, 4]``, their scores
    ``[N]``, accepted-step counts ``[N]`` and the starting boxes ``[N, 4]`` they came from; for a scoring
    estimator also the score of the refined box and of the starting box (scalars), which the tracker's
    refinement gate compares (``pytracking.tracker.atom.refinement_gate``)."""

    box: torch.Tensor
    candidates: torch.Tensor
    scores: torch.Tensor
    num_accepted: torch.Tensor
    initial: torch.Tensor | None = None
    score: torch.Tensor | None = None
    start_score: torch.Tensor | None = None
    size_sharpness: torch.Tensor | None = None    # [2] (width, height): see size_sharpness(); NaN: not measured
    held_size_score: torch.Tensor | None = None   # score of the refined centre with the start's size; NaN: not measured


def draw_jitter(num_boxes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``u ~ U[0, 1)^4`` for the ``num_boxes - 1`` jittered candidates: ``[num_boxes - 1, 4]`` float32 on the CPU
    (drawn on the CPU whatever the device, so that a seed gives the same boxes everywhere)."""
    if num_boxes < 1:
        raise ValueError(f"num_boxes must be >= 1, got {num_boxes}")
    return torch.rand(num_boxes - 1, 4, generator=generator, dtype=torch.float32, device="cpu")


def jittered_boxes(box_xywh: torch.Tensor, u: torch.Tensor, jitter: torch.Tensor) -> torch.Tensor:
    """``[1 + len(u), 4]`` xywh: ``box_xywh`` first, then ``(cx, cy, w, h) + (u - 0.5) * sqrt(w h) * jitter`` with
    ``jitter = (jitter_pos, jitter_pos, jitter_sz, jitter_sz)`` ``[4]`` and sizes clamped to ``>= min(w, h) / 3``.
    No host synchronisation (``u`` and ``jitter`` already on the box's device)."""
    c = xywh_to_cxcywh(box_xywh.reshape(1, 4))
    side = torch.sqrt(c[0, 2] * c[0, 3])
    factor = side * jitter
    jittered = c + (u.to(c.device) - 0.5) * factor
    min_side = torch.minimum(c[0, 2], c[0, 3]) / 3
    jittered = torch.cat([jittered[:, :2], jittered[:, 2:].clamp_min(min_side)], dim=1)
    return cxcywh_to_xywh(torch.cat([c, jittered], dim=0))


def jitter_boxes(box_xywh: torch.Tensor, num_boxes: int, jitter_pos: float, jitter_sz: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``[num_boxes, 4]`` xywh: ``box_xywh`` first, then jittered copies (see the module docstring)."""
    jitter = torch.tensor([jitter_pos, jitter_pos, jitter_sz, jitter_sz], dtype=box_xywh.dtype, device=box_xywh.device)
    return jittered_boxes(box_xywh, draw_jitter(num_boxes, generator), jitter)


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


def regress_box(estimator: Any, frame_state: Any, box_xywh: torch.Tensor,
                settings: RefinementSettings) -> RefinedBox:
    """The regression head's predicted mean box from ``box_xywh`` ``[4]`` (patch pixels), one forward
    pass; ``scores`` = ``-sum(log_var) / 2`` (log-density of the predicted Gaussian at its mean, up to
    a constant: higher = more confident). ``box_xywh`` itself if the prediction is implausible."""
    box_xywh = check_box(box_xywh)
    boxes, log_var = estimator.regress(frame_state, box_xywh[None])
    boxes = boxes.to(box_xywh)
    scores = -0.5 * log_var.to(box_xywh).sum(dim=1)
    valid = plausible_boxes(boxes, box_xywh, settings)
    final = boxes[0] if bool(valid[0]) else box_xywh
    return RefinedBox(box=final.detach(), candidates=boxes.detach(), scores=scores.detach(),
                      num_accepted=valid.to(torch.int64), initial=box_xywh[None].detach())


def size_probes(box_xywh: torch.Tensor, step: float = SHARPNESS_STEP) -> torch.Tensor:
    """``[5, 4]`` xywh: ``box_xywh`` ``[4]``, then the same centre with ``w e^step``, ``w e^-step``, ``h e^step``,
    ``h e^-step`` (no host synchronisation)."""
    cx, cy, w, h = xywh_to_cxcywh(box_xywh.reshape(1, 4))[0]
    up, down = math.exp(step), math.exp(-step)    # Python scalars: no host-to-device copy (a CUDA graph holds this)
    widths = torch.stack([w, w * up, w * down, w, w])
    heights = torch.stack([h, h, h, h * up, h * down])
    return cxcywh_to_xywh(torch.stack([cx.expand(5), cy.expand(5), widths, heights], dim=1))


def held_size_box(box_xywh: torch.Tensor, start_xywh: torch.Tensor) -> torch.Tensor:
    """``[1, 4]`` xywh: the centre of ``box_xywh`` with the size of ``start_xywh`` (the tracker's previous size), the
    box whose score the size-evidence check compares the refined box's with (no host synchronisation)."""
    box = box_xywh.reshape(4)
    start = start_xywh.reshape(4)
    centre = box[:2] + box[2:] / 2
    return torch.cat([centre - start[2:] / 2, start[2:]])[None]


def size_sharpness(probe_scores: torch.Tensor) -> torch.Tensor:
    """``[2]``: how much the score of the box (``probe_scores[0]``, :func:`size_probes`) exceeds its best neighbour
    along log w and along log h, ``f(b) - max(f(b, w e^+-step))`` and the same for h. In log-density units for an
    EBM: a small or negative value is a flat density along that side, a size the estimator does not know."""
    s = probe_scores.reshape(5)
    return torch.stack([s[0] - torch.maximum(s[1], s[2]), s[0] - torch.maximum(s[3], s[4])])


def select_box(boxes: torch.Tensor, scores: torch.Tensor, box_xywh: torch.Tensor,
               settings: RefinementSettings) -> torch.Tensor:
    """The mean ``(cx, cy, w, h)`` (as xywh) of the ``top_k`` best-scoring plausible candidates (finite score,
    :func:`plausible_boxes`); ``box_xywh`` when none is. Written without host synchronisation (a masked mean
    over the ``top_k`` best: an implausible one adds an exact zero), so that a CUDA graph can hold it."""
    valid = plausible_boxes(boxes, box_xywh, settings) & torch.isfinite(scores)
    k = min(settings.top_k, boxes.shape[0])
    order = torch.argsort(torch.where(valid, scores, torch.full_like(scores, -math.inf)), descending=True)[:k]
    chosen = valid[order]
    centred = torch.where(chosen[:, None], xywh_to_cxcywh(boxes[order]), boxes.new_zeros(()))
    count = chosen.sum().to(boxes.dtype)
    mean = cxcywh_to_xywh(centred.sum(dim=0) / count.clamp_min(1.0))
    return torch.where(count > 0, mean, box_xywh)


def refine_candidates(score_and_grad: BoxScoreAndGrad | None, score: BoxScore | None, box_xywh: torch.Tensor,
                      u: torch.Tensor, settings: RefinementSettings,
                      constants: tuple[torch.Tensor, torch.Tensor] | None = None,
                      stop_tol: float | None = None) -> RefinedBox:
    """Steps 1-3 of the module docstring for jitter draws ``u`` ``[num_boxes - 1, 4]`` (:func:`draw_jitter`),
    on a fused ``score_and_grad`` or (if None) a differentiable ``score``. The relative-space gradient is
    :func:`ebm.boxes.xywh_grad_to_rel`. ``constants``: :func:`refinement_constants` (made here if None).
    No host synchronisation given ``constants`` and ``stop_tol=0``: this is what a CUDA graph captures.
    ``stop_tol``: the early stop of :func:`ebm.refinement.refine` (None: ``settings.stop_tol``)."""
    stop_tol = settings.stop_tol if stop_tol is None else stop_tol
    step, jitter = refinement_constants(settings, box_xywh.device, box_xywh.dtype) if constants is None else constants
    init = jittered_boxes(box_xywh, u, jitter)
    ref_wh = box_xywh[2:].clone()
    y0 = xywh_to_rel(init, ref_wh)[None]
    if score_and_grad is not None:
        def rel_score_and_grad(y: torch.Tensor, need_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
            value, grad = score_and_grad(rel_to_xywh(y[0], ref_wh), need_grad)
            return value.to(y.dtype)[None], (None if grad is None else xywh_grad_to_rel(y[0], ref_wh, grad)[None])

        def score_only(boxes: torch.Tensor) -> torch.Tensor:
            return score_and_grad(boxes, False)[0]

        result = refine(None, y0, step, settings.num_iter, settings.decay, score_and_grad=rel_score_and_grad,
                        stop_tol=stop_tol)
    elif score is not None:
        def score_only(boxes: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return score(boxes)

        result = refine(lambda y: score(rel_to_xywh(y[0], ref_wh))[None], y0, step, settings.num_iter,
                        settings.decay, stop_tol=stop_tol)
    else:
        raise ValueError("refine_candidates needs score_and_grad or score")
    boxes = rel_to_xywh(result.y[0], ref_wh)
    scores = result.score[0]
    box = select_box(boxes, scores, box_xywh, settings)
    # the selected box is a mean of candidates: one more evaluation without gradient scores it and, when the tracker
    # uses them, its size probes (sharpness) and its centre with the start's size (size evidence); NaN = not measured
    probed, held = settings.size_min_sharpness > 0, settings.size_min_gain > 0
    final_boxes = [size_probes(box) if probed else box[None]] + ([held_size_box(box, box_xywh)] if held else [])
    final_scores = score_only(torch.cat(final_boxes)).reshape(-1).to(scores.dtype)
    unmeasured = torch.full((2,), math.nan, dtype=scores.dtype, device=scores.device)
    sharpness = size_sharpness(final_scores[:5]) if probed else unmeasured
    held_score = final_scores[-1] if held else unmeasured[0]
    return RefinedBox(box=box, candidates=boxes, scores=scores, num_accepted=result.num_accepted[0], initial=init,
                      score=final_scores[0], start_score=result.initial_score[0, 0], size_sharpness=sharpness,
                      held_size_score=held_score)


def check_box(box_xywh: torch.Tensor) -> torch.Tensor:
    """``box_xywh`` as a float32 ``[4]``; ``ValueError`` unless finite with ``w, h > 0``."""
    box_xywh = box_xywh.reshape(4).to(torch.float32)
    if not torch.isfinite(box_xywh).all() or (box_xywh[2:] <= 0).any():
        raise ValueError(f"box_xywh must be finite with w, h > 0, got {box_xywh.tolist()}")
    return box_xywh


def refine_box(estimator: Any, frame_state: Any, box_xywh: torch.Tensor, settings: RefinementSettings,
               generator: torch.Generator | None = None) -> RefinedBox:
    """Refine ``box_xywh`` ``[4]`` (patch pixels, w, h > 0) on a :class:`BoxEstimator`'s differentiable
    ``score(frame_state, boxes)`` (see module; gradients by autograd). Estimators with a fused score and gradient
    call :func:`refine_candidates` themselves (``NetworkBoxEstimator.estimate``)."""
    box_xywh = check_box(box_xywh)
    return refine_candidates(None, lambda boxes: estimator.score(frame_state, boxes), box_xywh,
                             draw_jitter(settings.num_boxes, generator), settings)
