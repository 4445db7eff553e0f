"""Where one tracker helps and harms against a reference: per-sequence AUC, its difference, harm rate.

    python -m pytracking.analysis --dataset_name D --trackers atom/default atom/iou --compare_to atom/no_refine

For each sequence and each tracker ``A`` compared with the reference ``C``:

* ``AUC``: the sequence's AUC (percent, :mod:`pytracking.analysis.metrics`; mean over ``A``'s runs);
* ``dAUC``: ``AUC(A) - AUC(C)`` (percentage points);
* ``harm``: the harm rate in percent, the fraction of *scored* frames (valid, visible ground truth:
  ``Sequence.valid_mask()``, frame 0 included) where ``IoU(A, GT) < IoU(C, GT) - HARM_TOLERANCE``.
  Ties, i.e. IoUs equal to within :data:`HARM_TOLERANCE` = 1e-6, do not count as harm. Invalid
  boxes (NaN, ``w <= 0`` or ``h <= 0``) have IoU 0, as in the scores.

Several runs: the per-sequence AUC is the mean over runs; the harm counts are summed over every
pair (run of ``A``, run of ``C``), i.e. the harm rate is averaged over all pairs.

The summary row ``mean``: AUC and dAUC are means over the sequences (the AUC mean equals the
dataset's AUC); ``harm`` is pooled over all scored frames of all sequences (frame-weighted, the
"fraction of frames" of the whole dataset), not the mean of the per-sequence rates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence as TypingSequence

import numpy as np
import pandas as pd

from pytracking.analysis.evaluate import find_run_dirs
from pytracking.analysis.metrics import SUCCESS_THRESHOLDS, iou_xywh
from pytracking.evaluation.results_io import read_boxes, results_paths
from pytracking.evaluation.sequence import Sequence

#: IoU differences up to this are ties (not harm).
HARM_TOLERANCE = 1e-6
MEAN_ROW = "mean"


def harmed_frames(pred: np.ndarray, reference: np.ndarray, gt: np.ndarray, scored: np.ndarray,
                  tolerance: float = HARM_TOLERANCE) -> tuple[int, int]:
    """``(harmed, scored)``: scored frames where ``IoU(pred, gt) < IoU(reference, gt) - tolerance``."""
    scored = np.asarray(scored, dtype=bool)
    worse = iou_xywh(pred, gt) < iou_xywh(reference, gt) - tolerance
    return int(np.count_nonzero(worse & scored)), int(np.count_nonzero(scored))


def sequence_auc(pred: np.ndarray, gt: np.ndarray, scored: np.ndarray) -> float:
    """AUC in percent of one sequence: mean over thresholds ``k/20`` of the fraction of scored frames with IoU > t."""
    scored = np.asarray(scored, dtype=bool)
    if not scored.any():
        return math.nan
    iou = iou_xywh(pred, gt)[scored]
    return 100.0 * float(np.mean([(iou > t).mean() for t in SUCCESS_THRESHOLDS]))


@dataclass
class _Runs:
    spec: str
    boxes: list[dict[str, np.ndarray]]   # one dict per run: sequence -> [N, 4]


def _load_runs(results_root: str | Path, spec: str, sequences: TypingSequence[Sequence],
               run_dirs: TypingSequence[Path] | None = None) -> _Runs:
    run_dirs = find_run_dirs(results_root, spec) if run_dirs is None else list(run_dirs)
    if not run_dirs:
        raise ValueError(f"--trackers/--compare_to: no results for {spec!r} in {results_root}")
    runs = []
    for run_dir in run_dirs:
        boxes = {}
        for seq in sequences:
            box_file, _ = results_paths(run_dir, seq.name)
            if not box_file.exists():
                raise ValueError(f"{box_file}: result file missing (--compare_to needs complete results)")
            pred = read_boxes(box_file)
            if pred.shape[0] < len(seq):
                raise ValueError(f"{box_file}: {pred.shape[0]} rows, the sequence has {len(seq)} frames")
            boxes[seq.name] = pred[:len(seq)]
        runs.append(boxes)
    return _Runs(spec, runs)


def compare_to_reference(results_root: str | Path, trackers: TypingSequence[str], reference: str,
                         sequences: TypingSequence[Sequence],
                         run_dirs: Mapping[str, TypingSequence[Path]] | None = None) -> pd.DataFrame:
    """The comparison table (module docstring): index = sequence names + ``mean``; columns
    ``AUC <C>``, then per tracker ``AUC <A>``, ``dAUC <A>``, ``harm% <A>``. A spec's runs are its run folders
    under ``results_root`` (``find_run_dirs``), or exactly ``run_dirs[spec]`` where given."""
    if not sequences:
        raise ValueError("sequences: empty dataset")
    if not trackers:
        raise ValueError("--trackers: nothing to compare with the reference")
    run_dirs = run_dirs or {}
    ref = _load_runs(results_root, reference, sequences, run_dirs.get(reference))
    others = [_load_runs(results_root, t, sequences, run_dirs.get(t)) for t in trackers]
    names = [s.name for s in sequences]
    table = pd.DataFrame(index=pd.Index([*names, MEAN_ROW], name="sequence"))

    def aucs(runs: _Runs) -> list[float]:
        out = []
        for seq in sequences:
            gt, scored = seq.ground_truth_rect, seq.valid_mask()
            out.append(float(np.mean([sequence_auc(r[seq.name], gt, scored) for r in runs.boxes])))
        return out

    def with_mean(values: list[float]) -> list[float]:
        finite = [v for v in values if np.isfinite(v)]
        return [*values, float(np.mean(finite)) if finite else math.nan]

    ref_auc = aucs(ref)
    table[f"AUC {reference}"] = with_mean(ref_auc)
    for runs in others:
        auc = aucs(runs)
        table[f"AUC {runs.spec}"] = with_mean(auc)
        table[f"dAUC {runs.spec}"] = with_mean([a - r for a, r in zip(auc, ref_auc)])
        rates, total_harmed, total_scored = [], 0, 0
        for seq in sequences:
            harmed = scored = 0
            for run in runs.boxes:
                for ref_run in ref.boxes:
                    h, s = harmed_frames(run[seq.name], ref_run[seq.name], seq.ground_truth_rect, seq.valid_mask())
                    harmed, scored = harmed + h, scored + s
            rates.append(100.0 * harmed / scored if scored else math.nan)
            total_harmed, total_scored = total_harmed + harmed, total_scored + scored
        table[f"harm% {runs.spec}"] = [*rates, 100.0 * total_harmed / total_scored if total_scored else math.nan]
    return table
