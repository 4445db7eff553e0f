"""Box estimators for the refinement step: anything that scores candidate boxes in a patch.

The protocol (the tracker only uses these three calls, so a network can be swapped for an
analytic function in tests):

* ``initialize(features, box, geometry)`` -- once, on the first frame: ``features`` the shared
  backbone maps of the first patch (batch 1), ``box`` the target ``[4]`` xywh in patch pixels,
  ``geometry`` the patch's :class:`~pytracking.features.preprocessing.PatchGeometry`.
* ``prepare(features, geometry) -> frame state`` -- once per frame (test-branch features).
* ``score(frame_state, boxes [N, 4] xywh patch pixels) -> [N]`` -- differentiable in ``boxes``;
  higher is better; compared only within one frame.

The tracker asks every estimator for one thing per frame, ``estimate(frame_state, box, settings, generator)
-> RefinedBox``: the network classes below own theirs (gradient ascent on a fused score and gradient, or
one regression pass); an estimator with only the three calls above is wrapped in :class:`ScoredBoxEstimator`
(gradient ascent with autograd gradients).

A *regression* estimator (:class:`RegressionBoxEstimator`, Gaussian-NLL / L2 heads) has the same
``initialize``/``prepare`` but, instead of ``score``, ``regress(frame_state, boxes [N, 4]) ->
(boxes [N, 4], log_var [N, 4])``: one forward pass maps initial boxes to predicted boxes
(no gradient ascent).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ltr.models.bbreg.atom_iou_net import AtomIoUNet, AtomIoUNetInference
from pytracking.features.extractor import to_autograd
from pytracking.features.preprocessing import PatchGeometry
from pytracking.tracker.atom.box_refinement import (
    RefinedBox,
    RefinementSettings,
    check_box,
    draw_jitter,
    refine_box,
    refine_candidates,
    refinement_constants,
    regress_box,
)
from pytracking.tracker.atom.estimator_adaptation import adapt_modulation
from pytracking.tracker.atom.graphed_refinement import GraphedRefinement

__all__ = ["BoxEstimator", "NetworkBoxEstimator", "RegressionBoxEstimator", "ScoredBoxEstimator",
           "as_tracker_estimator", "is_regression_head"]


@runtime_checkable
class BoxEstimator(Protocol):
    """Scores candidate boxes of the current patch (see the module docstring)."""

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None: ...

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> Any: ...

    def score(self, frame_state: Any, boxes: torch.Tensor) -> torch.Tensor: ...


class ScoredBoxEstimator:
    """A :class:`BoxEstimator` (``initialize``/``prepare``/``score`` only) with the tracker's ``estimate``:
    :func:`~pytracking.tracker.atom.box_refinement.refine_box` (autograd gradients)."""

    def __init__(self, estimator: BoxEstimator, device: torch.device | str = "cpu") -> None:
        self.estimator = estimator
        self.device = torch.device(device)

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        self.estimator.initialize(features, box, geometry)

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> Any:
        return self.estimator.prepare(features, geometry)

    def score(self, frame_state: Any, boxes: torch.Tensor) -> torch.Tensor:
        return self.estimator.score(frame_state, boxes)

    def estimate(self, frame_state: Any, box_xywh: torch.Tensor, settings: RefinementSettings,
                 generator: torch.Generator | None = None) -> RefinedBox:
        return refine_box(self.estimator, frame_state, box_xywh.to(self.device), settings, generator)


def as_tracker_estimator(estimator: Any, device: torch.device | str = "cpu") -> Any:
    """``estimator`` itself if it has ``estimate`` (the classes of this module), a :class:`BoxEstimator` wrapped
    in :class:`ScoredBoxEstimator` (its boxes on ``device``); ``ValueError`` for anything else."""
    if callable(getattr(estimator, "estimate", None)):
        return estimator
    if isinstance(estimator, BoxEstimator):
        return ScoredBoxEstimator(estimator, device)
    raise ValueError("params.box_estimator must implement initialize/prepare/score (BoxEstimator), got "
                     f"{type(estimator).__name__}")


def is_regression_head(bb_regressor: nn.Module) -> bool:
    """True for a direct regression head (``BoxRegressionNet``-like: ``predict`` and a ``regressor``
    layer) rather than a box-scoring one (``AtomIoUNet``: ``predict_iou``)."""
    return callable(getattr(bb_regressor, "predict", None)) and hasattr(bb_regressor, "regressor")


class _FastScore(torch.autograd.Function):
    """Scores of :class:`AtomIoUNetInference` as an autograd node: the gradient w.r.t. the boxes is
    computed in the forward pass (written-out backward, no graph) and applied in ``backward``."""

    @staticmethod
    def forward(ctx, boxes: torch.Tensor, head: AtomIoUNetInference, state: dict) -> torch.Tensor:  # type: ignore[override]
        score, grad = head.score_and_grad(state, boxes, need_grad=ctx.needs_input_grad[0])
        ctx.save_for_backward(grad if grad is not None else torch.zeros_like(boxes))
        return score

    @staticmethod
    def backward(ctx, grad_score: torch.Tensor):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_score[:, None] * grad, None, None


class _HeadOnLayers:
    """What both network estimators share: a head with ``get_modulation``/``get_iou_feat`` and
    ``required`` other methods, fed the batch-1 maps of ``layers`` from the shared backbone pass."""

    required: tuple[str, ...] = ()

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str]) -> None:
        for name in ("get_modulation", "get_iou_feat", *self.required):
            if not callable(getattr(bb_regressor, name, None)):
                raise ValueError(f"bb_regressor must provide {name}(), got {type(bb_regressor).__name__}")
        self.net = bb_regressor
        self.layers = tuple(layers)
        self.modulation: list[torch.Tensor] | None = None

    def _levels(self, features: Mapping[str, torch.Tensor], batch: bool = False) -> list[torch.Tensor]:
        """The estimator layers' maps: their first item (batch 1), or the whole batch with ``batch``."""
        missing = [name for name in self.layers if name not in features]
        if missing:
            raise ValueError(f"features lack estimator layers {missing}")
        return [features[name] if batch else features[name][:1] for name in self.layers]

    def _modulation(self, features: Mapping[str, torch.Tensor], box: torch.Tensor) -> list[torch.Tensor]:
        levels = self._levels(features)
        with torch.inference_mode():
            bb = box.reshape(1, 4).to(levels[0].device, levels[0].dtype)
            return list(self.net.get_modulation(levels, bb))


class NetworkBoxEstimator(_HeadOnLayers):
    """An ``AtomIoUNet``-like network (``get_modulation``, ``get_iou_feat``, ``predict_iou``) as a
    :class:`BoxEstimator`. The reference modulation is computed once from the first frame.

    Fast path (``fast=True``, an eval-mode :class:`AtomIoUNet` itself, not a subclass): scores and
    their box gradients come from :class:`~ltr.models.bbreg.atom_iou_net.AtomIoUNetInference`
    (folded BatchNorm, windowed test-branch convs, prefix-table PrRoIPool, written-out backward),
    equal to the network's ``predict_iou`` + autograd up to float rounding; ``prepare`` then only
    stores the frame's features. Otherwise the test-branch features are computed once per frame
    under inference mode and cloned into ordinary tensors so that the per-box pooling can be
    differentiated w.r.t. the boxes. ``score_and_grad`` serves both paths.

    On a CUDA device the fast path computes the maps over the whole feature map (``full_map``: static shapes) and,
    with ``cuda_graph`` (default), :meth:`estimate` replays the frame's refinement as one CUDA graph
    (:mod:`~pytracking.tracker.atom.graphed_refinement`); ``prepare`` then only hands the features on.
    ``compile_head`` (CUDA only, experimental) also runs the head's pass through ``torch.compile``."""

    required = ("predict_iou",)

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3"), fast: bool = True,
                 cuda_graph: bool = True, compile_head: bool = False) -> None:
        super().__init__(bb_regressor, layers)
        self.fast = bool(fast)
        self.cuda_graph = bool(cuda_graph)
        self.compile_head = bool(compile_head)
        self.head: AtomIoUNetInference | None = None
        self.graphed: GraphedRefinement | None = None

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        self._set_modulation(self._modulation(features, box))

    def adapt(self, features: Mapping[str, torch.Tensor], boxes: torch.Tensor, steps: int, lr: float, reg: float,
              num_proposals: int, generator: torch.Generator | None = None) -> list[float]:
        """Fit the modulation of :meth:`initialize` to first-frame samples with known boxes (``features``: the
        estimator layers' maps, batch ``S``; ``boxes [S, 4]`` xywh patch pixels) by
        :func:`~pytracking.tracker.atom.estimator_adaptation.adapt_modulation`; returns its objective per step."""
        if self.modulation is None:
            raise RuntimeError("NetworkBoxEstimator.initialize must come before adapt")
        with torch.inference_mode():
            iou_feat = self.net.get_iou_feat(self._levels(features, batch=True))
        adapted, history = adapt_modulation(self.net, self.modulation, iou_feat, boxes.to(iou_feat[0].device),
                                            steps, lr, reg, num_proposals, generator)
        self._set_modulation(adapted)
        return history

    def _set_modulation(self, modulation: Sequence[torch.Tensor]) -> None:
        self.modulation = list(to_autograd({str(i): m for i, m in enumerate(modulation)}).values())
        self.head = None
        self.graphed = None
        if self.fast and type(self.net) is AtomIoUNet and not self.net.training:
            on_cuda = self.modulation[0].device.type == "cuda"
            self.head = AtomIoUNetInference(self.net, self.modulation, full_map=on_cuda)
            if self.compile_head and on_cuda:
                # inductor fuses the pass's ~100 small kernels (compiled on the first frame, before graph capture)
                self.head.score_and_grad = torch.compile(self.head.score_and_grad, fullgraph=True, dynamic=False)
            self.graph_settings: RefinementSettings | None = None
            self.use_graph = on_cuda and self.cuda_graph

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[torch.Tensor] | dict:
        if self.head is not None:
            if self.use_graph:   # the graph runs the head's prepare itself
                return {"graph_features": self._levels(features)}
            return self.head.prepare(self._levels(features))
        with torch.inference_mode():
            iou_feat = self.net.get_iou_feat(self._levels(features))
        return list(to_autograd({str(i): f for i, f in enumerate(iou_feat)}).values())

    def _head_state(self, frame_state: list[torch.Tensor] | dict) -> list[torch.Tensor] | dict:
        if isinstance(frame_state, dict) and "graph_features" in frame_state:   # scored outside the graph
            return self.head.prepare(frame_state["graph_features"])
        return frame_state

    def score(self, frame_state: list[torch.Tensor] | dict, boxes: torch.Tensor) -> torch.Tensor:
        if self.modulation is None:
            raise RuntimeError("NetworkBoxEstimator.initialize was not called")
        frame_state = self._head_state(frame_state)
        if isinstance(frame_state, dict):
            if self.head is None:
                raise ValueError("frame_state comes from the fast path but this estimator has none")
            return _FastScore.apply(boxes.reshape(-1, 4), self.head, frame_state)
        return self.net.predict_iou(self.modulation, frame_state, boxes.reshape(1, -1, 4))[0]

    def estimate(self, frame_state: list[torch.Tensor] | dict, box_xywh: torch.Tensor, settings: RefinementSettings,
                 generator: torch.Generator | None = None) -> RefinedBox:
        """Gradient ascent from ``box_xywh`` and jittered copies on :meth:`score_and_grad` (one fused evaluation
        per step, :func:`~pytracking.tracker.atom.box_refinement.refine_candidates`), replayed as a CUDA graph when
        ``prepare`` handed on graph features."""
        if isinstance(frame_state, dict) and "graph_features" in frame_state:
            box_cpu = check_box(box_xywh.cpu())   # the tracker hands a host tensor: no device synchronisation
            if self.graphed is None or self.graph_settings != settings:
                self.graph_settings = dataclasses.replace(settings)
                constants = refinement_constants(settings, self.modulation[0].device)
                self.graphed = GraphedRefinement(self.head, self.graph_settings, constants)
            return self.graphed(frame_state["graph_features"], box_cpu, draw_jitter(settings.num_boxes, generator))
        box_xywh = check_box(box_xywh).to(self.modulation[0].device)
        return refine_candidates(lambda boxes, need_grad: self.score_and_grad(frame_state, boxes, need_grad), None,
                                 box_xywh, draw_jitter(settings.num_boxes, generator), settings)

    def score_and_grad(self, frame_state: list[torch.Tensor] | dict, boxes: torch.Tensor,
                       need_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores ``[N]`` of boxes ``[N, 4]`` xywh (patch pixels) and ``d score / d box`` ``[N, 4]``
        (None unless ``need_grad``), detached; the network's parameter gradients are not touched."""
        boxes = boxes.reshape(-1, 4)
        frame_state = self._head_state(frame_state)
        if isinstance(frame_state, dict) and self.head is not None:
            with torch.inference_mode():
                return self.head.score_and_grad(frame_state, boxes, need_grad)
        with torch.inference_mode(False), torch.enable_grad():
            var = boxes.detach().clone().requires_grad_(need_grad)
            score = self.score(frame_state, var)
            if not need_grad:
                return score.detach(), None
            (grad,) = torch.autograd.grad(score.sum(), var, allow_unused=True)
        return score.detach(), (torch.zeros_like(boxes) if grad is None else grad.detach())


class RegressionBoxEstimator(_HeadOnLayers):
    """A ``BoxRegressionNet``-like head (``get_modulation``, ``get_iou_feat``, ``predict``) used
    for direct box regression: ``predict(modulation, iou_feat, init_boxes [1, N, 4])`` gives the
    relative offset ``(dcx / w0, dcy / h0, log(w / w0), log(h / h0))`` and its log-variance; the
    predicted box is the initial box moved by the mean offset (``apply_offset``). Runs under
    inference mode (no gradients needed)."""

    required = ("predict",)

    def __init__(self, bb_regressor: nn.Module, layers: Sequence[str] = ("layer2", "layer3")) -> None:
        super().__init__(bb_regressor, layers)

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        self.modulation = self._modulation(features, box)

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[torch.Tensor]:
        with torch.inference_mode():
            return list(self.net.get_iou_feat(self._levels(features)))

    def estimate(self, frame_state: list[torch.Tensor], box_xywh: torch.Tensor, settings: RefinementSettings,
                 generator: torch.Generator | None = None) -> RefinedBox:
        """The head's predicted mean box from ``box_xywh`` (one pass; ``generator`` unused), see
        :func:`~pytracking.tracker.atom.box_refinement.regress_box`."""
        return regress_box(self, frame_state, box_xywh, settings)

    def regress(self, frame_state: list[torch.Tensor], boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Initial boxes ``[N, 4]`` xywh (patch pixels) -> (predicted boxes ``[N, 4]`` xywh,
        log-variances ``[N, 4]`` of the relative offset)."""
        if self.modulation is None:
            raise RuntimeError("RegressionBoxEstimator.initialize was not called")
        from ltr.models.bbreg.regression_net import apply_offset
        with torch.inference_mode():
            init = boxes.reshape(1, -1, 4).to(frame_state[0].device, frame_state[0].dtype)
            mean, log_var = self.net.predict(self.modulation, frame_state, init)
            return apply_offset(init, mean)[0].clone(), log_var[0].clone()


class ProductOfExpertsEstimator:
    """Several box-scoring estimators as one EBM: ``f(x, y) = sum_i w_i f_i(x, y)``, i.e. the product of the
    experts' densities ``prod_i p_i(y | x)^{w_i}`` (up to its normaliser). Each expert keeps its own reference
    modulation and frame state; refinement (Algorithm S1) runs on the summed score and gradient, one fused
    evaluation of every expert per step. The experts must provide ``score_and_grad`` (:class:`NetworkBoxEstimator`)."""

    def __init__(self, experts: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        experts = list(experts)
        if not experts:
            raise ValueError("ProductOfExpertsEstimator needs at least one expert")
        for expert in experts:
            if not callable(getattr(expert, "score_and_grad", None)):
                raise ValueError(f"every expert must provide score_and_grad(), got {type(expert).__name__}")
        weights = [1.0] * len(experts) if weights is None else [float(w) for w in weights]
        if len(weights) != len(experts):
            raise ValueError(f"{len(experts)} experts but {len(weights)} weights")
        self.experts = experts
        self.weights = weights

    def initialize(self, features: Mapping[str, torch.Tensor], box: torch.Tensor, geometry: PatchGeometry) -> None:
        for expert in self.experts:
            expert.initialize(features, box, geometry)

    def prepare(self, features: Mapping[str, torch.Tensor], geometry: PatchGeometry) -> list[Any]:
        return [expert.prepare(features, geometry) for expert in self.experts]

    def score_and_grad(self, frame_state: list[Any], boxes: torch.Tensor,
                       need_grad: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``sum_i w_i f_i`` ``[N]`` of boxes ``[N, 4]`` xywh (patch pixels) and its box gradient (None unless
        ``need_grad``)."""
        total, total_grad = None, None
        for expert, state, weight in zip(self.experts, frame_state, self.weights):
            score, grad = expert.score_and_grad(state, boxes, need_grad)
            total = weight * score if total is None else total + weight * score
            if need_grad:
                total_grad = weight * grad if total_grad is None else total_grad + weight * grad
        return total, total_grad

    def estimate(self, frame_state: list[Any], box_xywh: torch.Tensor, settings: RefinementSettings,
                 generator: torch.Generator | None = None) -> RefinedBox:
        """Gradient ascent on the summed score (:func:`~pytracking.tracker.atom.box_refinement.refine_candidates`)."""
        box_xywh = check_box(box_xywh)
        return refine_candidates(lambda boxes, need_grad: self.score_and_grad(frame_state, boxes, need_grad), None,
                                 box_xywh, draw_jitter(settings.num_boxes, generator), settings)
