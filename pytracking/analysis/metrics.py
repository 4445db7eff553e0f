"""Per-frame errors and per-sequence curves of one-pass evaluation (OPE). Pure numpy.

Conventions (all boxes ``[x, y, w, h]`` floats, top-left origin):

* **IoU** treats boxes as continuous regions ``[x, x + w] x [y, y + h]``:
  ``inter = max(0, min(x1 + w1, x2 + w2) - max(x1, x2)) * (same for y)``,
  ``IoU = inter / (w1 h1 + w2 h2 - inter)``. (pytracking's ``x + w - 1`` inclusive-pixel
  form gives the same intersection.)
* **Centre** of a box is ``x + (w - 1) / 2``, ``y + (h - 1) / 2`` (pixel-index convention, as in
  the design). The centre *error* is the Euclidean distance of the two centres. Note that the
  ``-1/2`` cancels in the difference, so the error equals the one with centre ``x + w/2``.
* **Normalised centre error**: the difference of centres divided per axis by the ground-truth
  width and height, then the Euclidean norm: ``|| ((cx_p - cx_g) / w_g, (cy_p - cy_g) / h_g) ||``.
* **Invalid predictions** (any NaN/inf, or ``w <= 0`` or ``h <= 0``) give IoU 0 and errors ``inf``.
* **Scored frames**: every frame whose ground truth is valid (finite, ``w, h > 0``) and, where
  the dataset gives visibility, visible — *including frame 0* (pytracking's analysis scores all
  valid frames; frame 0 holds the given box, so it counts as a hit). Absent frames are removed
  from both numerator and denominator.
* **Success curve**: for thresholds ``t = 0, 0.05, ..., 1`` (21 values), the fraction of scored
  frames with ``IoU > t`` (strict). AUC = mean of the curve (equivalently: mean over thresholds
  of the mean over sequences). OP50 / OP75 = the curve at t = 0.5 / 0.75.
* **Precision curve**: thresholds ``0, 1, ..., 50`` px, fraction with ``error <= t``;
  "precision" = the curve at 20 px.
* **Normalised precision curve**: thresholds ``0, 0.01, ..., 0.5`` (51 values), fraction with
  ``normalised error <= t``; "normalised precision" = mean of this curve (its AUC).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# k / 20 and k / 100 are the correctly rounded doubles, so "IoU > t" agrees with exact arithmetic.
SUCCESS_THRESHOLDS = np.arange(21) / 20.0
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.arange(51) / 100.0
OP50_INDEX, OP75_INDEX, PRECISION_INDEX = 10, 15, 20


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must be an [N, 4] array of x, y, w, h, got shape {arr.shape}")
    return arr


def valid_boxes(boxes: np.ndarray) -> np.ndarray:
    """``[N]`` bool: all four values finite and ``w > 0``, ``h > 0``."""
    boxes = _as_boxes(boxes, "boxes")
    finite = np.all(np.isfinite(boxes), axis=1)
    with np.errstate(invalid="ignore"):
        return finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def iou_xywh(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame IoU of ``[N, 4]`` boxes as continuous regions; 0 where either box is invalid."""
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt must have the same shape, got {pred.shape} and {gt.shape}")
    ok = valid_boxes(pred) & valid_boxes(gt)
    p, g = np.where(ok[:, None], pred, 1.0), np.where(ok[:, None], gt, 1.0)
    iw = np.clip(np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2]) - np.maximum(p[:, 0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3]) - np.maximum(p[:, 1], g[:, 1]), 0, None)
    inter = iw * ih
    union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
    return np.where(ok, inter / union, 0.0)


def box_centres(boxes: np.ndarray) -> np.ndarray:
    """``[N, 2]`` centres ``(x + (w - 1) / 2, y + (h - 1) / 2)``."""
    boxes = _as_boxes(boxes, "boxes")
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def centre_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame Euclidean centre distance in pixels; ``inf`` where either box is invalid."""
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    ok = valid_boxes(pred) & valid_boxes(gt)
    with np.errstate(invalid="ignore"):
        err = np.linalg.norm(box_centres(pred) - box_centres(gt), axis=1)
    return np.where(ok, err, np.inf)


def normalised_centre_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame centre distance with each axis divided by the ground-truth w, h; ``inf`` if invalid."""
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    ok = valid_boxes(pred) & valid_boxes(gt)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = (box_centres(pred) - box_centres(gt)) / gt[:, 2:]
        err = np.linalg.norm(diff, axis=1)
    return np.where(ok, err, np.inf)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with ``IoU > t`` for each threshold (NaN curve if there are no frames)."""
    ious = np.asarray(ious, dtype=np.float64).reshape(-1)
    if ious.size == 0:
        return np.full(len(thresholds), np.nan)
    return (ious[:, None] > np.asarray(thresholds)[None, :]).mean(axis=0)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with ``error <= t`` for each threshold (NaN curve if there are no frames)."""
    errors = np.asarray(errors, dtype=np.float64).reshape(-1)
    if errors.size == 0:
        return np.full(len(thresholds), np.nan)
    return (errors[:, None] <= np.asarray(thresholds)[None, :]).mean(axis=0)


@dataclass
class SequenceCurves:
    """Curves of one sequence (fractions in [0, 1]) and the number of scored frames."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    num_scored: int


def sequence_curves(pred: np.ndarray, gt: np.ndarray, scored: np.ndarray | None = None) -> SequenceCurves:
    """Success, precision and normalised precision curves over the scored frames of one sequence.

    ``scored`` (``[N]`` bool) selects the frames; frames with invalid ground truth are always dropped.
    """
    pred, gt = _as_boxes(pred, "pred"), _as_boxes(gt, "gt")
    keep = valid_boxes(gt)
    if scored is not None:
        keep &= np.asarray(scored, dtype=bool).reshape(-1)
    p, g = pred[keep], gt[keep]
    return SequenceCurves(success=success_curve(iou_xywh(p, g)), precision=precision_curve(centre_error(p, g)),
                          norm_precision=precision_curve(normalised_centre_error(p, g), NORM_PRECISION_THRESHOLDS),
                          num_scored=int(keep.sum()))


def summary_scores(success: np.ndarray, precision: np.ndarray, norm_precision: np.ndarray) -> dict[str, float]:
    """Headline numbers in percent from (dataset-averaged) curves: AUC, P (20 px), NP (AUC), OP50, OP75."""
    return {"AUC": 100.0 * float(np.mean(success)), "P": 100.0 * float(precision[PRECISION_INDEX]),
            "NP": 100.0 * float(np.mean(norm_precision)), "OP50": 100.0 * float(success[OP50_INDEX]),
            "OP75": 100.0 * float(success[OP75_INDEX])}
