"""One frame's box refinement as a CUDA graph: the estimator's per-frame convs plus every step of Algorithm S1.

On a GPU the refinement is about 11 sequential score-and-gradient passes of some 100 small kernels each: the time
goes to kernel launches, not arithmetic. All its shapes are fixed (``num_boxes`` candidates, ``num_iter`` steps,
the feature maps' size), so the whole frame is recorded once into a ``torch.cuda.CUDAGraph`` and replayed:

* :func:`frame_refinement` is the captured function. It is the eager path's own code -- the inference head's
  ``prepare`` with ``full_map=True`` (maps over the whole feature map, no host value read) and
  :func:`~pytracking.tracker.atom.box_refinement.refine_candidates` (which runs ``ebm.refinement.refine``) -- so
  graph and eager give the same boxes up to float rounding. On the CPU it runs eagerly (tests compare it there).
* :class:`GraphedRefinement` keeps the static input buffers (the two feature levels, the box, the jitter draws),
  captures on first use (and again when a shape changes), copies each frame's inputs in and replays. The only host
  synchronisation of a frame is the caller's read of the final box.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ltr.models.bbreg.atom_iou_net import AtomIoUNetInference
from pytracking.tracker.atom.box_refinement import RefinedBox, RefinementSettings, refine_candidates

__all__ = ["GraphedRefinement", "REFINED_FIELDS", "batched_frame_refinement", "frame_refinement"]


def frame_refinement(head: AtomIoUNetInference, features: Sequence[torch.Tensor], box_xywh: torch.Tensor,
                     u: torch.Tensor, settings: RefinementSettings,
                     constants: tuple[torch.Tensor, torch.Tensor],
                     modulation: Sequence[torch.Tensor] | None = None) -> RefinedBox:
    """``head.prepare(features, modulation)`` then the refinement of ``box_xywh`` ``[4]`` with jitter draws ``u``
    ``[num_boxes - 1, 4]`` (all on the head's device). ``head.full_map`` must be set (static shapes).
    ``modulation``: the target's vectors (default the head's own). Always ``settings.num_iter`` steps: the early stop
    (``settings.stop_tol``) reads a value per step, which neither a graph nor ``vmap`` can."""
    if not head.full_map:
        raise ValueError("frame_refinement needs an AtomIoUNetInference with full_map=True (static shapes)")
    state = head.prepare(list(features), modulation)
    return refine_candidates(lambda boxes, need_grad: head.score_and_grad(state, boxes, need_grad), None,
                             box_xywh, u, settings, constants, stop_tol=0.0)


#: the fields of :class:`RefinedBox` that :func:`frame_refinement` fills, in the order a batched call returns them
REFINED_FIELDS = ("box", "candidates", "scores", "num_accepted", "initial", "score", "start_score", "size_sharpness",
                  "held_size_score")


def batched_frame_refinement(head: AtomIoUNetInference, features: Sequence[torch.Tensor], boxes_xywh: torch.Tensor,
                             u: torch.Tensor, modulations: Sequence[torch.Tensor], settings: RefinementSettings,
                             constants: tuple[torch.Tensor, torch.Tensor]) -> RefinedBox:
    """:func:`frame_refinement` of ``S`` targets at once: ``torch.func.vmap`` of that same function over the
    targets' features (each level ``[S, 1, C, H, W]``), start boxes ``[S, 4]``, jitter draws ``[S, N - 1, 4]`` and
    modulation vectors (each level ``[S, 1, C, 1, 1]``). Every kernel runs once for the ``S`` targets (``S`` times
    the work, the same kernel count); the weights are shared, so the targets must come from one network. Returns a
    :class:`RefinedBox` whose tensors have a leading ``[S]`` axis; target ``i``'s is what :func:`frame_refinement`
    gives for its inputs, up to float rounding."""
    def one_target(feature8: torch.Tensor, feature16: torch.Tensor, box: torch.Tensor, draws: torch.Tensor,
                   modulation8: torch.Tensor, modulation16: torch.Tensor) -> tuple[torch.Tensor, ...]:
        refined = frame_refinement(head, (feature8, feature16), box, draws, settings, constants,
                                   (modulation8, modulation16))
        return tuple(getattr(refined, name) for name in REFINED_FIELDS)

    out = torch.func.vmap(one_target)(features[0], features[1], boxes_xywh, u, modulations[0], modulations[1])
    return RefinedBox(**dict(zip(REFINED_FIELDS, out)))


class GraphedRefinement:
    """:func:`frame_refinement` (or, with ``batched``, :func:`batched_frame_refinement` for a fixed number of targets)
    captured in a CUDA graph (see the module docstring). ``warmup`` eager runs on a side stream precede the capture
    (cuBLAS workspaces, the allocator's pool)."""

    def __init__(self, head: AtomIoUNetInference, settings: RefinementSettings,
                 constants: tuple[torch.Tensor, torch.Tensor], warmup: int = 2, batched: bool = False) -> None:
        if not head.full_map:
            raise ValueError("GraphedRefinement needs an AtomIoUNetInference with full_map=True")
        self.head, self.settings, self.constants, self.warmup = head, settings, constants, int(warmup)
        self.batched = bool(batched)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.key: tuple | None = None
        self.captures = 0

    def _run(self) -> RefinedBox:
        if self.batched:
            return batched_frame_refinement(self.head, self.static_features, self.static_box, self.static_u,
                                            self.static_modulations, self.settings, self.constants)
        return frame_refinement(self.head, self.static_features, self.static_box, self.static_u, self.settings,
                                self.constants)

    def _capture(self, features: Sequence[torch.Tensor], box_xywh: torch.Tensor, u: torch.Tensor,
                 modulations: Sequence[torch.Tensor] | None) -> None:
        device = features[0].device
        self.static_features = [f.detach().clone() for f in features]
        self.static_box = box_xywh.to(device=device, dtype=torch.float32).clone()
        self.static_u = u.to(device=device, dtype=torch.float32).clone()
        self.static_modulations = None if modulations is None else [m.detach().clone() for m in modulations]
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(self.warmup):
                self._run()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode():
            self.static_out = self._run()
        self.captures += 1

    def __call__(self, features: Sequence[torch.Tensor], box_xywh: torch.Tensor, u: torch.Tensor,
                 modulations: Sequence[torch.Tensor] | None = None) -> RefinedBox:
        """The refined box for this frame's ``features`` (two levels, batch 1, on the GPU), ``box_xywh`` ``[4]``
        and jitter draws ``u`` (either device); the returned tensors are copies (the next replay overwrites).
        ``batched``: the inputs of :func:`batched_frame_refinement` (leading target axis, ``modulations`` given)."""
        if self.batched != (modulations is not None):
            raise ValueError("a batched GraphedRefinement needs modulations; a single one takes none")
        key = tuple((tuple(t.shape), t.dtype, t.device) for t in (*features, *(modulations or ()))) + (tuple(u.shape),)
        if self.graph is None or key != self.key:
            self._capture(features, box_xywh, u, modulations)
            self.key = key
        with torch.inference_mode():
            for static, feature in zip(self.static_features, features):
                static.copy_(feature)
            for static, modulation in zip(self.static_modulations or (), modulations or ()):
                static.copy_(modulation)
            self.static_box.copy_(box_xywh, non_blocking=True)
            self.static_u.copy_(u, non_blocking=True)
            self.graph.replay()
            out = self.static_out
            return RefinedBox(**{name: getattr(out, name).clone() for name in REFINED_FIELDS})
