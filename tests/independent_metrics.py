"""Scores written out independently of ``pytracking.analysis`` (numpy only), for end-to-end tests."""
from __future__ import annotations

import numpy as np


def auc_and_precision(gt_by_seq: dict, pred_by_seq: dict, visible_by_seq: dict | None = None) -> tuple[float, float]:
    """AUC (fraction of frames with IoU > t for t = 0, 0.05, ..., 1; mean over sequences, then over
    thresholds) and precision (centre error <= 20 px, centre ``x + (w - 1) / 2``), in percent. Frames with a
    NaN or invisible ground truth are left out; a NaN or non-positive predicted box has IoU 0."""
    thresholds = np.linspace(0, 1, 21)
    success, precision = [], []
    for name, gt in gt_by_seq.items():
        gt = np.asarray(gt, dtype=float)
        pred = np.asarray(pred_by_seq[name], dtype=float)[:len(gt)]
        keep = np.isfinite(gt).all(1)
        if visible_by_seq is not None and visible_by_seq.get(name) is not None:
            keep &= np.asarray(visible_by_seq[name], dtype=bool)
        gt, pred = gt[keep], pred[keep]
        valid = np.isfinite(pred).all(1) & (pred[:, 2] > 0) & (pred[:, 3] > 0)
        x1, y1 = np.maximum(gt[:, 0], pred[:, 0]), np.maximum(gt[:, 1], pred[:, 1])
        x2 = np.minimum(gt[:, 0] + gt[:, 2], pred[:, 0] + pred[:, 2])
        y2 = np.minimum(gt[:, 1] + gt[:, 3], pred[:, 1] + pred[:, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        with np.errstate(invalid="ignore"):
            iou = np.where(valid, inter / (gt[:, 2] * gt[:, 3] + pred[:, 2] * pred[:, 3] - inter), 0.0)
        success.append([(iou > t).mean() for t in thresholds])
        centre_gt = gt[:, :2] + (gt[:, 2:] - 1) / 2
        centre_pred = pred[:, :2] + (pred[:, 2:] - 1) / 2
        with np.errstate(invalid="ignore"):
            error = np.where(valid, np.linalg.norm(centre_gt - centre_pred, axis=1), np.inf)
        precision.append((error <= 20).mean())
    return 100 * float(np.mean(np.mean(success, axis=0))), 100 * float(np.mean(precision))
