"""The tracker on the offline demo benchmark (and the report-only validation benchmark): build the benchmark on
first use, run, score. ``python -m pytracking.run_demo`` is its CLI; the comparison of several trackers is
``pytracking.evaluation.demo_comparison``.

1. the demo benchmark (LaSOT layout, ``train.txt``/``test.txt``) is built on first use by
   :func:`ltr.synthetic.demo_benchmark.ensure_demo_benchmark` (progress bar; rebuilt when the
   generator changed). A given ``dataset_path`` holding a benchmark is used as it is; an
   empty or absent folder gets the default benchmark;
2. the tracker runs on the test split (:func:`pytracking.evaluation.running.run_dataset`: progress
   bar, finished sequences are skipped, so a second call resumes / only re-scores);
3. the scores (:mod:`pytracking.analysis`): AUC, P, NP, OP50, OP75 in percent and the tracker's
   frames per second, as a table (CSV + Markdown) with the success, precision and normalised-precision
   plots (PNG).

Results go to ``<results>/demo/<tracker>/<param>[_<runid:03d>]`` with a ``benchmark.json`` naming the
benchmark's content hash: results of another build of the benchmark are redone, never mixed.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ltr.admin.local_settings import load_settings
from ltr.synthetic.demo_benchmark import ensure_demo_benchmark, read_manifest
from ltr.synthetic.validation_benchmark import ensure_validation_benchmark
from pytracking.analysis.evaluate import evaluate_tracker
from pytracking.analysis.plots import save_plots
from pytracking.analysis.tables import save_table, summary_table
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.results_io import atomic_write_text, dataset_results_root
from pytracking.evaluation.batched_running import BoxAgreement, compare_results, run_batched
from pytracking.evaluation.running import run_dataset
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.atom.atom import missing_weights_message
from pytracking.utils.cpu_resources import default_workers

DATASET_NAME = "demo"
VALIDATION_NAME = "validation"
SPLIT = "test"
MAIN_COLUMNS = ["tracker", "AUC", "P", "NP", "OP50", "OP75", "FPS"]
BENCHMARK_MARKER = "benchmark.json"


def default_threads() -> int:
    """Worker processes: one per usable physical core, one torch thread each; 0 (in-process) on one core
    (:func:`pytracking.utils.cpu_resources.default_workers`)."""
    return default_workers()


def prepare_demo_benchmark(dataset_path: str | Path | None = None, progress: bool = True) -> Path:
    """The demo benchmark's root, built on first use.

    ``dataset_path`` None: the settings' ``demo`` root, built or updated by ``ensure_demo_benchmark``.
    A folder holding ``test.txt`` is used as it is (whatever its build parameters, e.g. a small test
    build); an empty or absent one gets the default benchmark; anything else is a ``ValueError``.
    """
    if dataset_path is None:
        return ensure_demo_benchmark(None, progress=progress)
    root = Path(dataset_path).expanduser().resolve()
    if (root / f"{SPLIT}.txt").is_file():
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"--dataset_path: {root} holds no {SPLIT}.txt and is not empty: not a demo benchmark")
    return ensure_demo_benchmark(root, progress=progress)


def benchmark_identity(root: str | Path) -> str:
    """The benchmark's content hash from its manifest (else a hash of its ``test.txt``)."""
    manifest = read_manifest(root) or {}
    if manifest.get("content_sha256"):
        return str(manifest["content_sha256"])
    return hashlib.sha256((Path(root) / f"{SPLIT}.txt").read_bytes()).hexdigest()


def results_match_benchmark(results_dir: str | Path, identity: str) -> bool:
    """True when ``results_dir`` has no results yet or its ``benchmark.json`` names ``identity``."""
    results_dir = Path(results_dir)
    marker = results_dir / BENCHMARK_MARKER
    if not marker.is_file():
        return not any(results_dir.glob("*.txt")) if results_dir.is_dir() else True
    try:
        return json.loads(marker.read_text()).get("content_sha256") == identity
    except (OSError, json.JSONDecodeError):
        return False


def mark_results(results_dir: str | Path, identity: str, root: str | Path) -> None:
    """Write ``benchmark.json`` (content hash and root of the benchmark the results belong to)."""
    atomic_write_text(Path(results_dir) / BENCHMARK_MARKER,
                      json.dumps({"content_sha256": identity, "root": str(root)}, indent=1) + "\n")


def prepare_validation_benchmark(progress: bool = True) -> Path:
    """The validation benchmark's root (the settings' ``validation`` entry), built on first use."""
    return ensure_validation_benchmark(None, progress=progress)


def demo_results_root(results_path: str | Path | None, benchmark: str = DATASET_NAME) -> Path:
    """``<results_path or settings results>/<benchmark>`` (``demo`` or ``validation``): the layout of
    ``run_tracker --dataset_name demo``, which ``python -m pytracking.analysis --dataset_name demo`` reads."""
    return dataset_results_root(results_path, benchmark)


def default_out_dir(*parts: str, benchmark: str = DATASET_NAME) -> Path:
    """``<settings plots>/<benchmark>/<parts...>``."""
    return load_settings().plots.joinpath(benchmark, *parts)


def run_on_demo(trackers: list, sequences: list, root: Path, threads: int, device: str | None,
                skip_existing: bool = True, batch_sequences: int = 0) -> dict[str, str]:
    """Run each tracker on the sequences with ``run_dataset`` -- or, with ``batch_sequences`` B > 0, with the batched
    engine, B sequences at a time in one process (``pytracking.evaluation.batched_running``); returns
    ``{tracker run label: error}`` for failed sequences.

    Before anything runs, each results folder is marked with this build (``benchmark.json``); a folder holding results
    of another build, or results without a mark, is emptied first (``no_skip`` empties it too). So an interrupted run
    resumes where it stopped, and a folder never mixes two builds."""
    identity = benchmark_identity(root)
    failed: dict[str, str] = {}
    for tracker in trackers:
        folder = tracker.results_dir
        if folder.is_dir() and (not skip_existing or not results_match_benchmark(folder, identity)):
            if skip_existing:
                marker = folder / BENCHMARK_MARKER
                why = ("another build of the benchmark" if marker.is_file()
                       else "no benchmark.json (made by another command)")
                print(f"[demo] {folder} holds results of {why}: redoing them")
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        mark_results(folder, identity, root)
        print(f"[demo] {tracker.run_label}: {len(sequences)} sequences -> {folder}")
    if batch_sequences > 0:   # all trackers' pairs in one batched run
        reports = [run_batched(sequences, trackers, batch_sequences, device=device).report]
    else:
        reports = [run_dataset(sequences, [tracker], threads=threads, device=device) for tracker in trackers]
    for report in reports:
        failed.update(report.failed)
    return failed


@dataclass
class DemoOutcome:
    """What the main command produced: the score table (columns :data:`MAIN_COLUMNS`), the files
    written, failures and the wall time in seconds."""

    table: pd.DataFrame
    csv_path: Path
    md_path: Path
    plots: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0
    benchmark_sha256: str = ""
    #: with ``check_sequential``: the batched boxes against one-sequence-at-a-time runs
    sequential_check: BoxAgreement | None = None


def run_demo(tracker_name: str = "atom", param: str = "default", runid: int | None = None, threads: int | None = None,
             device: str | None = None, dataset_path: str | Path | None = None, results_path: str | Path | None = None,
             out_dir: str | Path | None = None, skip_existing: bool = True, progress: bool = True,
             batch_sequences: int = 0, check_sequential: bool = False, runs: int = 1,
             benchmark: str = DATASET_NAME, overrides: Mapping[str, Any] | None = None) -> DemoOutcome:
    """Build (first use) the demo benchmark, run ``tracker_name/param`` on its test split, score it,
    write the table (CSV + Markdown) and plots; see the module docstring. ``batch_sequences`` B > 0: the batched
    engine, B sequences at a time; ``check_sequential``: also run one sequence at a time (``threads`` workers) into
    ``<results>/demo_sequential`` and compare the boxes (``DemoOutcome.sequential_check``). ``runs`` N > 1: run ids
    ``runid .. runid + N - 1`` (default from 0), e.g. to fill a wide batch; the table has one row per run.
    ``benchmark`` 'validation': the report-only validation benchmark instead (``dataset_path`` must be None; results
    under ``<results>/validation``). ``overrides``: parameter-file keys set on top of ``param``'s (results under
    ``<param>-<digest>``, :class:`~pytracking.evaluation.tracker.Tracker`)."""
    start = time.perf_counter()
    if benchmark not in (DATASET_NAME, VALIDATION_NAME):
        raise ValueError(f"benchmark: expected {DATASET_NAME!r} or {VALIDATION_NAME!r}, got {benchmark!r}")
    validation = benchmark == VALIDATION_NAME
    if validation and (dataset_path is not None or batch_sequences):
        raise ValueError("--dataset_path and --batch_sequences: apply to the demo benchmark only")
    threads = default_threads() if threads is None else int(threads)
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    results_root = demo_results_root(results_path, benchmark)
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    run_ids = [runid] if runs == 1 else [(runid or 0) + k for k in range(runs)]
    trackers = [Tracker(tracker_name, param, k, results_root=results_root, overrides=overrides) for k in run_ids]
    tracker = trackers[0]
    absent = tracker.missing_weights()
    if absent is not None:
        raise FileNotFoundError(f"{tracker.run_label}: " + missing_weights_message(absent))
    root = prepare_validation_benchmark(progress) if validation else prepare_demo_benchmark(dataset_path, progress)
    sequences = get_dataset(benchmark, root, SPLIT)
    print(f"[demo] benchmark {root}: {len(sequences)} test sequences, {sum(len(s) for s in sequences)} frames")
    failed = run_on_demo(trackers, sequences, root, threads, device, skip_existing, batch_sequences)
    check = None
    if check_sequential:
        references = [Tracker(tracker_name, param, k, results_root=Path(f"{results_root}_sequential"),
                              overrides=overrides) for k in run_ids]
        failed.update(run_on_demo(references, sequences, root, threads, device, skip_existing))
        checks = [compare_results(t.results_dir, r.results_dir, [seq.name for seq in sequences])
                  for t, r in zip(trackers, references)]
        check = BoxAgreement(max(c.max_abs_px for c in checks), sum(c.identical_files for c in checks),
                             sum(c.sequences for c in checks),
                             {f"{t.run_label}:{name}": v for t, c in zip(trackers, checks)
                              for name, v in c.per_sequence.items()})
    results = [evaluate_tracker(results_root, t.run_label, sequences) for t in trackers]
    table = summary_table(results)[MAIN_COLUMNS]
    out = Path(out_dir) if out_dir is not None else default_out_dir(tracker.run_label, benchmark=benchmark)
    csv_path = out / "results.csv"
    md_path = save_table(table, csv_path)
    plots = save_plots(results, out, f"{benchmark} {SPLIT}")
    return DemoOutcome(table=table, csv_path=csv_path, md_path=md_path, plots=plots, failed=failed,
                       wall_seconds=time.perf_counter() - start, benchmark_sha256=benchmark_identity(root),
                       sequential_check=check)
