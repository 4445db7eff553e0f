"""First-frame calibration of the box estimator: its bias on this target, measured where the true box is known and
removed from every later refinement.

A head can be consistently wrong on one target: on a small, thin target it may add the same 3 px to the height in
every frame. No check of one frame sees that (the box moved little and scores well), and the tracker takes the bias
into its size state. The first frame gives the true box ``b``, so the tracker refines from ``b`` exactly as on any
later frame (same jitter, steps and top-k; ``draws`` times, from the tracker's seeded generator) and keeps the mean
offset of the refined boxes ``r_k`` from ``b`` in relative space (:func:`ebm.boxes.xywh_to_rel` with ``b``'s size as
the reference)::

    bias = mean_k ((cx_k - cx_b) / w_b, (cy_k - cy_b) / h_b, log(w_k / w_b), log(h_k / h_b))

A later refined box ``r``, refined from a start box of size ``s``, becomes ``rel_to_xywh(rel(r; s) - bias, s)``: its
centre moves back by ``bias[:2] * s`` and its size is divided by ``exp(bias[2:])``.
"""
from __future__ import annotations

import torch

from ebm.boxes import rel_to_xywh, xywh_to_rel

__all__ = ["estimator_bias", "remove_bias"]


def estimator_bias(refined_xywh: torch.Tensor, truth_xywh: torch.Tensor) -> torch.Tensor:
    """``[4]`` float64: the mean relative offset of ``refined_xywh`` ``[K, 4]`` from ``truth_xywh`` ``[4]``
    (module docstring). Raises ``ValueError`` for an empty set or non-finite boxes."""
    refined = torch.as_tensor(refined_xywh, dtype=torch.float64).reshape(-1, 4)
    truth = torch.as_tensor(truth_xywh, dtype=torch.float64).reshape(4)
    if refined.shape[0] == 0:
        raise ValueError("estimator_bias: no refined boxes")
    if not (torch.isfinite(refined).all() and (refined[:, 2:] > 0).all() and (truth[2:] > 0).all()):
        raise ValueError("estimator_bias: boxes must be finite with positive sizes")
    ref = truth[2:]
    return (xywh_to_rel(refined, ref) - xywh_to_rel(truth, ref)).mean(dim=0)


def remove_bias(box_xywh: torch.Tensor, bias: torch.Tensor, start_wh: torch.Tensor) -> torch.Tensor:
    """``box_xywh`` ``[4]`` with ``bias`` (:func:`estimator_bias`) taken out, relative to the start box's size
    ``start_wh`` ``[2]``; same dtype as ``box_xywh``."""
    box = torch.as_tensor(box_xywh)
    ref = torch.as_tensor(start_wh, dtype=torch.float64).reshape(2)
    rel = xywh_to_rel(box.to(torch.float64).reshape(4), ref) - torch.as_tensor(bias, dtype=torch.float64)
    return rel_to_xywh(rel, ref).to(box.dtype)
