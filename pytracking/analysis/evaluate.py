"""Load results of trackers on a dataset and compute their scores (runs merged by mean and std).

A tracker is given as ``tracker/param``; its runs are the folders ``<results>/<tracker>/<param>``
and ``<results>/<tracker>/<param>_NNN`` (``tracker/param_NNN`` selects one run). Each run is
scored on its own (curves averaged over sequences, see :mod:`pytracking.analysis.metrics`);
the tracker's score is the mean over runs, with the population standard deviation (``ddof=0``).

Result files with fewer rows than the sequence has frames count as missing; extra rows are cut
(LaSOT's toolkit cuts results to the ground-truth length). A tracker with any missing result is
*incomplete*: its scores are NaN unless ``allow_incomplete`` is set, and then they are averaged
over the sequences it has (and it stays marked incomplete). FPS = frames / seconds summed over
all ``_time.txt`` files of a run (initialisation frame included), mean over runs.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence as TypingSequence

import numpy as np

from pytracking.analysis.metrics import SequenceCurves, sequence_curves, summary_scores
from pytracking.evaluation.results_io import read_boxes, read_times, results_paths
from pytracking.evaluation.sequence import Sequence

SCORE_NAMES = ("AUC", "P", "NP", "OP50", "OP75")
_RUN_SUFFIX = re.compile(r"^(?P<base>.+)_(?P<id>\d{3})$")


@dataclass
class RunResult:
    """One results folder scored on a dataset."""

    directory: Path
    curves: dict[str, SequenceCurves]
    missing: dict[str, str]        # sequence -> reason
    fps: float


@dataclass
class TrackerResult:
    """A tracker (all its runs) scored on a dataset."""

    name: str
    runs: list[RunResult]
    scores: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    fps: float = float("nan")
    success: np.ndarray | None = None
    precision: np.ndarray | None = None
    norm_precision: np.ndarray | None = None
    per_sequence_auc: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.runs) and all(not r.missing for r in self.runs)

    @property
    def missing(self) -> list[str]:
        return [f"{r.directory.name}/{seq}.txt ({why})" for r in self.runs for seq, why in r.missing.items()]


def find_run_dirs(results_root: str | Path, spec: str) -> list[Path]:
    """Run folders of ``tracker/param``: ``param`` itself and ``param_NNN`` siblings, sorted."""
    parts = spec.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"--trackers: expected 'tracker/param', got {spec!r}")
    tracker_dir = Path(results_root) / parts[0]
    if not tracker_dir.is_dir():
        return []
    base = parts[1]
    return sorted(d for d in tracker_dir.iterdir() if d.is_dir() and (
        d.name == base or (_RUN_SUFFIX.match(d.name) and _RUN_SUFFIX.match(d.name).group("base") == base)))


def discover_trackers(results_root: str | Path) -> list[str]:
    """All ``tracker/param`` found in a results folder (run suffixes ``_NNN`` folded)."""
    root = Path(results_root)
    if not root.is_dir():
        raise ValueError(f"--results_path: {root} is not a folder")
    found = set()
    for tracker_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for run_dir in (p for p in tracker_dir.iterdir() if p.is_dir()):
            m = _RUN_SUFFIX.match(run_dir.name)
            found.add(f"{tracker_dir.name}/{m.group('base') if m else run_dir.name}")
    return sorted(found)


def evaluate_run(run_dir: str | Path, sequences: TypingSequence[Sequence]) -> RunResult:
    """Score one results folder on ``sequences``; missing or short files are listed, not scored."""
    run_dir = Path(run_dir)
    curves: dict[str, SequenceCurves] = {}
    missing: dict[str, str] = {}
    frames, seconds, timed = 0, 0.0, True
    for seq in sequences:
        box_file, time_file = results_paths(run_dir, seq.name)
        if not box_file.exists():
            missing[seq.name] = "missing"
            continue
        try:
            pred = read_boxes(box_file)
        except ValueError as err:
            missing[seq.name] = f"unreadable: {err}"
            continue
        if pred.shape[0] < len(seq):
            missing[seq.name] = f"{pred.shape[0]} of {len(seq)} rows"
            continue
        pred = pred[:len(seq)]
        curves[seq.name] = sequence_curves(pred, seq.ground_truth_rect, seq.valid_mask())
        if time_file.exists():
            times = read_times(time_file)[:len(seq)]
            frames += times.shape[0]
            seconds += float(times.sum())
        else:
            timed = False
    fps = frames / seconds if timed and seconds > 0 else float("nan")
    return RunResult(directory=run_dir, curves=curves, missing=missing, fps=fps)


def _dataset_curves(run: RunResult, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scored = [run.curves[n] for n in names if n in run.curves and run.curves[n].num_scored > 0]
    if not scored:
        raise ValueError(f"{run.directory}: no sequence with scored frames")
    return (np.mean([c.success for c in scored], axis=0), np.mean([c.precision for c in scored], axis=0),
            np.mean([c.norm_precision for c in scored], axis=0))


def evaluate_tracker(results_root: str | Path, spec: str, sequences: TypingSequence[Sequence],
                     allow_incomplete: bool = False) -> TrackerResult:
    """Score all runs of ``tracker/param`` on ``sequences`` (see the module docstring)."""
    if not sequences:
        raise ValueError("sequences: empty dataset")
    if not any(seq.has_full_ground_truth() for seq in sequences):
        raise ValueError(f"dataset '{sequences[0].dataset}' has ground truth for frame 0 only (server-side "
                         "evaluation): pack the results with pytracking.util_scripts instead")
    names = [s.name for s in sequences]
    empty = [s.name for s in sequences if not s.valid_mask().any()]
    if empty:
        warnings.warn(f"{len(empty)} sequences have no scored frame and are left out of the means: {empty[:5]}",
                      stacklevel=2)
    run_dirs = find_run_dirs(results_root, spec)
    result = TrackerResult(name=spec, runs=[evaluate_run(d, sequences) for d in run_dirs])
    if not result.runs:
        result.runs = [RunResult(directory=Path(results_root) / spec, curves={}, missing={n: "missing" for n in names},
                                 fps=float("nan"))]
    nan = float("nan")
    if not result.complete and not allow_incomplete:
        result.scores = {k: nan for k in SCORE_NAMES}
        result.stds = {k: nan for k in SCORE_NAMES}
        return result
    usable = [r for r in result.runs if r.curves]
    if not usable:
        result.scores = {k: nan for k in SCORE_NAMES}
        result.stds = {k: nan for k in SCORE_NAMES}
        return result
    run_curves = [_dataset_curves(r, names) for r in usable]
    run_scores = [summary_scores(*c) for c in run_curves]
    result.scores = {k: float(np.mean([s[k] for s in run_scores])) for k in SCORE_NAMES}
    result.stds = {k: float(np.std([s[k] for s in run_scores])) for k in SCORE_NAMES}
    result.success, result.precision, result.norm_precision = (np.mean([c[i] for c in run_curves], axis=0)
                                                               for i in range(3))
    fps_values = [r.fps for r in usable if np.isfinite(r.fps)]
    result.fps = float(np.mean(fps_values)) if fps_values else nan
    for name in names:
        aucs = [100.0 * float(np.mean(r.curves[name].success)) for r in usable
                if name in r.curves and r.curves[name].num_scored > 0]
        result.per_sequence_auc[name] = float(np.mean(aucs)) if aucs else nan
    return result


def attribute_auc(result: TrackerResult, sequences: TypingSequence[Sequence]) -> dict[str, tuple[float, int]]:
    """AUC (percent) per attribute over the sequences having it: ``{attr: (auc, num_sequences)}``.

    Uses the per-sequence AUCs (mean over runs); AUC is linear in the curves, so this equals the AUC
    of the attribute subset's mean curve.
    """
    out: dict[str, tuple[float, int]] = {}
    attrs: list[str] = []
    for seq in sequences:
        attrs += [a for a in (seq.attributes or {}) if a not in attrs]
    for attr in attrs:
        values = [result.per_sequence_auc.get(s.name, float("nan")) for s in sequences
                  if s.attributes and s.attributes.get(attr) and s.valid_mask().any()]
        finite = [v for v in values if np.isfinite(v)]
        out[attr] = (float(np.mean(finite)) if finite and len(finite) == len(values) else float("nan"), len(values))
    return out
