"""First-frame adaptation of a box-scoring head's reference modulation (`default`: 10 steps, lr 0.02, 32 proposals).

An ``AtomIoUNet``-like head scores a box as ``f(x, y; m)``, where the modulation vectors ``m = g(z, y_0)`` are
computed once from the first frame ``z`` and its box ``y_0``. The head was trained on many targets; on a given one
it can be biased (a box that is too tall in every frame). The first frame is the one frame whose box is known, so the
tracker can fit ``m`` to it: on ``S`` samples of the first frame with known boxes ``y_s`` (the classifier's
augmentations that keep the box's shape: shifts, flip, blur), minimise the ML-IS objective of training plus a pull
towards the network's own vectors ``m0``,

``L(m) = 1/S sum_s [ log (1/M) sum_k exp(f(x_s, y_k; m)) / q(y_k | y_s) - f(x_s, y_s; m) ]
         + reg * sum_l ||m_l - m0_l||^2 / ||m0_l||^2``,

with ``y_k ~ q(. | y_s)`` the training proposal mixture (:data:`ebm.proposals.BOX_PROPOSAL_SIGMAS`), for ``steps``
Adam steps of length ``lr`` (relative to each vector's RMS). Only ``m`` changes; the network's weights do not.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ebm.losses import ml_is_loss
from ebm.proposals import BOX_PROPOSAL_SIGMAS, GaussianMixtureProposal
from ltr.data.processing import draw_ebm_proposals

__all__ = ["adapt_modulation", "modulation_objective"]


def modulation_objective(net: nn.Module, modulation: Sequence[torch.Tensor], pooled: Sequence[torch.Tensor],
                         log_q: torch.Tensor) -> torch.Tensor:
    """ML-IS loss of ``modulation`` ``[[1, C, 1, 1], ...]`` on ``S`` samples: ``pooled`` the samples' boxes pooled by
    the head's ``pool_boxes`` (``[S, M + 1, ...]``, the true box first), ``log_q [S, M + 1]`` their proposal log
    density (:func:`ltr.data.processing.draw_ebm_proposals`)."""
    scores = net.predict_iou_pooled(modulation, pooled)   # [S, M + 1]
    return ml_is_loss(scores[:, 0], scores[:, 1:], log_q[:, 1:].to(scores.dtype))


def adapt_modulation(net: nn.Module, modulation: Sequence[torch.Tensor], iou_feat: Sequence[torch.Tensor],
                     boxes: torch.Tensor, steps: int, lr: float, reg: float, num_proposals: int = 64,
                     generator: torch.Generator | None = None) -> tuple[list[torch.Tensor], list[float]]:
    """The adapted vectors (module docstring) and the objective before every step and after the last
    (``steps + 1`` values, the pull term included).

    ``modulation``: the network's vectors ``m0`` ``[[1, C, 1, 1], ...]``; ``iou_feat``: test-branch maps of the
    ``S`` samples; ``boxes [S, 4]``: their true boxes (xywh, patch pixels). The proposals are drawn once from
    ``generator`` (CPU) and pooled once; every step then only runs the head's fully connected layers.
    ``steps = 0`` returns copies of ``modulation``."""
    if steps < 0 or lr <= 0 or reg < 0 or num_proposals < 1:
        raise ValueError(f"adapt_modulation: steps >= 0, lr > 0, reg >= 0, num_proposals >= 1; got {steps}, {lr}, "
                         f"{reg}, {num_proposals}")
    if boxes.dim() != 2 or boxes.shape[1] != 4 or boxes.shape[0] != iou_feat[0].shape[0]:
        raise ValueError(f"boxes must be [S, 4] with S = {iou_feat[0].shape[0]} samples, got {tuple(boxes.shape)}")
    device, dtype = iou_feat[0].device, iou_feat[0].dtype
    drawn, log_q = draw_ebm_proposals(boxes.detach().cpu(), GaussianMixtureProposal(BOX_PROPOSAL_SIGMAS),
                                      num_proposals, generator)
    initial = [m.detach().clone() for m in modulation]
    norms = [float(m.pow(2).sum()) + 1e-12 for m in initial]
    with torch.inference_mode(False), torch.no_grad():
        # the maps are inference tensors (made under inference mode): clone them so the pooled boxes can take part
        # in the graph of the steps below
        pooled = net.pool_boxes([f.clone() for f in iou_feat], drawn.to(device, dtype))
    log_q = log_q.to(device)
    with torch.inference_mode(False), torch.enable_grad():
        params = [m.clone().requires_grad_(True) for m in initial]
        # Adam's step is ~lr per coordinate: scale it by each vector's RMS so that lr is a relative change
        optimiser = torch.optim.Adam([{"params": [p], "lr": lr * float(m.pow(2).mean().sqrt()) + 1e-12}
                                      for p, m in zip(params, initial)])
        history = []
        for step in range(steps + 1):
            loss = modulation_objective(net, params, pooled, log_q)
            pull = sum(((p - m).pow(2).sum() / n) for p, m, n in zip(params, initial, norms))
            total = loss + reg * pull
            history.append(float(total.detach()))
            if step == steps:
                break
            grads = torch.autograd.grad(total, params)
            for p, g in zip(params, grads):
                p.grad = g
            optimiser.step()
    return [p.detach().clone() for p in params], history
