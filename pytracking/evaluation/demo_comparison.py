"""The comparison on the demo benchmark's test split: the EBM box estimator against the baselines.

CLIs: ``python -m pytracking.compare_demo`` (same as ``python -m pytracking.run_demo --compare``).

Rows (:data:`DEFAULT_ENTRIES`), all with the same online classifier where they are ATOM variants:

=================  ======================  ==========================================================
row                tracker/param           box estimate
=================  ======================  ==========================================================
EBM (ML-IS)        ``atom/default``        EBM trained by ML-IS, gradient ascent (Algorithm S1)
EBM (NCE+)         ``atom/nce``            EBM trained by NCE+, same ascent, its own step lengths
IoU-Net            ``atom/iou``            IoU-Net (MSE to 2 IoU - 1), same accept/reject ascent
Gaussian-NLL       ``atom/gauss``          regression head's mean box (one forward pass)
no refinement      ``atom/no_refine``      first frame's size kept
OpenCV CSRT / KCF  ``opencv/csrt|kcf``     OpenCV's own trackers
=================  ======================  ==========================================================

Every row is run with :func:`pytracking.evaluation.demo.run_on_demo` (resume: finished sequences are
skipped) and scored with :mod:`pytracking.analysis`. A row whose trained weights are missing is
reported as ``weights missing: <file>`` (no crash, no run). A tracker with several run folders
(``<param>`` and ``<param>_NNN`` from ``--runid`` / ``--runs``) is scored as the mean over all of them, noted
``mean of N runs``. The table (``tracker, config, AUC, NP,
OP75, FPS, note``; scores in percent, FPS = the tracker's frames per second) is printed and written as
``compare.md`` and ``compare.csv`` (plus the success/precision plots) to ``--out`` (default
``<settings plots>/demo/compare``).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence as TypingSequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pytracking.analysis.evaluate import evaluate_tracker
from pytracking.analysis.plots import save_plots
from pytracking.analysis.tables import save_table, to_markdown
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.demo import (DATASET_NAME, SPLIT, VALIDATION_NAME, default_out_dir, default_threads,
                                        demo_results_root, prepare_demo_benchmark,
                                        prepare_validation_benchmark, run_on_demo)
from pytracking.evaluation.results_io import atomic_write_text
from pytracking.evaluation.tracker import Tracker

COMPARE_COLUMNS = ["tracker", "config", "AUC", "NP", "OP75", "FPS", "note"]


@dataclass(frozen=True)
class ComparisonEntry:
    """One row: a display label and the ``tracker/param`` that produces it."""

    label: str
    tracker: str
    param: str


DEFAULT_ENTRIES: tuple[ComparisonEntry, ...] = (
    ComparisonEntry("EBM (ML-IS)", "atom", "default"),
    ComparisonEntry("EBM (NCE+)", "atom", "nce"),
    ComparisonEntry("IoU-Net", "atom", "iou"),
    ComparisonEntry("Gaussian-NLL", "atom", "gauss"),
    ComparisonEntry("no refinement", "atom", "no_refine"),
    ComparisonEntry("OpenCV CSRT", "opencv", "csrt"),
    ComparisonEntry("OpenCV KCF", "opencv", "kcf"),
)

#: Rows of the validation benchmark's table (``run_demo --benchmark validation``): the same trackers.
VALIDATION_ENTRIES: tuple[ComparisonEntry, ...] = DEFAULT_ENTRIES

@dataclass
class ComparisonOutcome:
    """The table (columns :data:`COMPARE_COLUMNS`), the files written, failures, wall time (s)."""

    table: pd.DataFrame
    md_path: Path
    csv_path: Path
    plots: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing: dict[str, Path] = field(default_factory=dict)
    wall_seconds: float = 0.0


def comparison_markdown(table: pd.DataFrame, title: str | None = None) -> str:
    """The table as Markdown (one decimal, '-' for missing numbers), with an optional title line."""
    text = to_markdown(table)
    return (f"{title}\n\n{text}" if title else text)


def ebm_margins(table: pd.DataFrame, reference: str = "EBM (ML-IS)") -> dict[str, float]:
    """AUC of ``reference`` minus the AUC of every other row with a score (percentage points)."""
    scores = dict(zip(table["tracker"], table["AUC"]))
    ref = scores.get(reference, math.nan)
    if not isinstance(ref, float) or math.isnan(ref):
        return {}
    return {name: ref - auc for name, auc in scores.items()
            if name != reference and isinstance(auc, float) and not math.isnan(auc)}


def run_comparison(entries: TypingSequence[ComparisonEntry] | None = None, threads: int | None = None,
                   device: str | None = None, dataset_path: str | Path | None = None,
                   results_path: str | Path | None = None, out_dir: str | Path | None = None,
                   skip_existing: bool = True, progress: bool = True, benchmark: str = "demo") -> ComparisonOutcome:
    """Run every entry on the demo test split (missing weights -> a 'weights missing' row), score them,
    print and write the table; see the module docstring. ``entries`` None: :data:`DEFAULT_ENTRIES`.

    ``benchmark`` 'validation': the validation benchmark instead (report only; ``dataset_path`` must
    be None, the root is the settings' ``validation`` entry; ``entries`` None: :data:`VALIDATION_ENTRIES`;
    results under ``<results>/validation``, files in ``<settings plots>/validation/compare``)."""
    start = time.perf_counter()
    if benchmark not in (DATASET_NAME, VALIDATION_NAME):
        raise ValueError(f"benchmark: expected {DATASET_NAME!r} or {VALIDATION_NAME!r}, got {benchmark!r}")
    validation = benchmark == VALIDATION_NAME
    if validation and dataset_path is not None:
        raise ValueError("--dataset_path: applies to the demo benchmark only")
    if entries is None:
        entries = VALIDATION_ENTRIES if validation else DEFAULT_ENTRIES
    entries = tuple(entries)
    if not entries:
        raise ValueError("entries: nothing to compare")
    threads = default_threads() if threads is None else int(threads)
    results_root = demo_results_root(results_path, benchmark)
    trackers = {e.label: Tracker(e.tracker, e.param, results_root=results_root, display_name=e.label)
                for e in entries}
    missing = {}
    for label, tracker in trackers.items():
        absent = tracker.missing_weights()
        if absent is not None:
            missing[label] = absent
            print(f"[compare] {label} ({tracker.run_label}): weights missing ({absent}); row left empty")
    root = prepare_validation_benchmark(progress) if validation else prepare_demo_benchmark(dataset_path, progress)
    sequences = get_dataset(benchmark, root, SPLIT)
    print(f"[compare] benchmark {root}: {len(sequences)} test sequences, {sum(len(s) for s in sequences)} frames")
    runnable = [t for label, t in trackers.items() if label not in missing]
    failed = run_on_demo(runnable, sequences, root, threads, device, skip_existing)

    rows, scored = [], []
    for entry in entries:
        tracker = trackers[entry.label]
        row = {"tracker": entry.label, "config": tracker.run_label, "AUC": math.nan, "NP": math.nan,
               "OP75": math.nan, "FPS": math.nan, "note": ""}
        if entry.label in missing:
            row["note"] = f"weights missing: {missing[entry.label].name}"
        else:
            result = evaluate_tracker(results_root, tracker.run_label, sequences)
            result.name = entry.label
            row.update(AUC=result.scores["AUC"], NP=result.scores["NP"], OP75=result.scores["OP75"], FPS=result.fps)
            if not result.complete:
                row["note"] = f"incomplete: {len(result.missing)} sequences failed"
            else:
                scored.append(result)
                if len(result.runs) > 1:   # the folder and its _NNN siblings (run_demo --runid / --runs)
                    row["note"] = f"mean of {len(result.runs)} runs"
        rows.append(row)
    table = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    out = Path(out_dir) if out_dir is not None else default_out_dir("compare", benchmark=benchmark)
    csv_path = out / "compare.csv"
    save_table(table, csv_path)
    what = ("Validation benchmark (report only: nothing is tuned on it)" if validation
            else "Demo benchmark, test split")
    title = (f"{what} ({len(sequences)} sequences, {sum(len(s) for s in sequences)} frames); "
             "scores in %, FPS = tracker frames per second")
    md_path = out / "compare.md"
    atomic_write_text(md_path, comparison_markdown(table, title))
    plots = save_plots(scored, out, VALIDATION_NAME if validation else f"demo {SPLIT}") if scored else []
    outcome = ComparisonOutcome(table=table, md_path=md_path, csv_path=csv_path, plots=plots, failed=failed,
                                missing=missing, wall_seconds=time.perf_counter() - start)
    print(comparison_markdown(table, title))
    margins = ebm_margins(table)
    if margins:
        print("EBM (ML-IS) AUC minus: " + ", ".join(f"{k} {v:+.1f}" for k, v in margins.items()))
    print(f"[compare] wrote {md_path}, {csv_path}" + "".join(f", {p}" for p in plots))
    print(f"[compare] wall time {outcome.wall_seconds:.1f} s")
    return outcome
