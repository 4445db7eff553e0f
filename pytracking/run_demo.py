"""The main command: the tracker on the offline demo benchmark, scored, in one go.

    python -m pytracking.run_demo [tracker_name [tracker_param]] [--runid K] [--threads N]
        [--device cpu|cuda] [--results_path DIR] [--dataset_path DIR] [--out DIR] [--no_skip] [--compare]
        [--benchmark demo|validation|both]

Steps:

1. the demo benchmark (LaSOT layout, ``train.txt``/``test.txt``) is built on first use by
   :func:`ltr.synthetic.demo_benchmark.ensure_demo_benchmark` (progress bar; rebuilt when the
   generator changed). With ``--dataset_path`` an existing benchmark there is used as it is; an
   empty or absent folder gets the default benchmark;
2. the tracker runs on the test split (:func:`pytracking.evaluation.running.run_dataset`: progress
   bar, finished sequences are skipped, so a second call resumes / only re-scores);
3. the scores (:mod:`pytracking.analysis`): AUC, P, NP, OP50, OP75 in percent and the tracker's
   frames per second, printed as a table and written as CSV + Markdown with the success,
   precision and normalised-precision plots (PNG).

Results go to ``<results>/demo/<tracker>/<param>[_<runid:03d>]`` (``<results>`` = ``--results_path`` or
the settings' results folder) with a ``benchmark.json`` naming the benchmark's content hash: results of
another build of the benchmark are redone, never mixed. The printed table's heading names that hash (its first 16 hex digits), so that two users can tell
whether they scored the same data. ``python -m pytracking.analysis --dataset_name demo`` reads these
results as they are. Tables and plots go to ``--out`` (default
``<settings plots>/demo/<tracker>/<param>[_NNN]``, outside the results tree).

``--compare`` runs the comparison of :mod:`pytracking.compare_demo` instead (EBM vs. the baselines).

``--benchmark validation`` runs the comparison on the validation benchmark instead
(:mod:`ltr.synthetic.validation_benchmark`: another generator, used only to report, never to choose a
number): ``atom`` ``default``, ``iou``, ``no_refine`` and OpenCV CSRT, the same table as ``--compare``;
results go to ``<results>/validation``. ``--benchmark both --compare`` prints the demo comparison, then
the validation table. ``--dataset_path`` applies to the demo benchmark only (the validation root is
the settings' ``validation`` entry).
Exit status 1 if a sequence failed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pytracking.evaluation.results_io import atomic_write_text

DATASET_NAME = "demo"
VALIDATION_NAME = "validation"
BENCHMARK_CHOICES = ("demo", "validation", "both")
SPLIT = "test"
MAIN_COLUMNS = ["tracker", "AUC", "P", "NP", "OP50", "OP75", "FPS"]
BENCHMARK_MARKER = "benchmark.json"


def default_threads() -> int:
    """Worker processes: 2 where there are at least 2 cores (one torch thread each), else 0 (in-process)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 0


def prepare_demo_benchmark(dataset_path: str | Path | None = None, progress: bool = True) -> Path:
    """The demo benchmark's root, built on first use.

    ``dataset_path`` None: the settings' ``demo`` root, built or updated by ``ensure_demo_benchmark``.
    A folder holding ``test.txt`` is used as it is (whatever its build parameters, e.g. a small test
    build); an empty or absent one gets the default benchmark; anything else is a ``ValueError``.
    """
    from ltr.synthetic.demo_benchmark import ensure_demo_benchmark

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
    from ltr.synthetic.demo_benchmark import read_manifest

    manifest = read_manifest(root) or {}
    if manifest.get("content_sha256"):
        return str(manifest["content_sha256"])
    import hashlib
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
    from ltr.synthetic.validation_benchmark import ensure_validation_benchmark
    return ensure_validation_benchmark(None, progress=progress)


def demo_results_root(results_path: str | Path | None, benchmark: str = DATASET_NAME) -> Path:
    """``<results_path or settings results>/<benchmark>`` (``demo`` or ``validation``): the layout of
    ``run_tracker --dataset_name demo``, which ``python -m pytracking.analysis --dataset_name demo`` reads."""
    from pytracking.evaluation.results_io import dataset_results_root
    return dataset_results_root(results_path, benchmark)


def default_out_dir(*parts: str, benchmark: str = DATASET_NAME) -> Path:
    """``<settings plots>/<benchmark>/<parts...>``."""
    from ltr.admin.local_settings import load_settings
    return load_settings().plots.joinpath(benchmark, *parts)


def run_on_demo(trackers: list, sequences: list, root: Path, threads: int, device: str | None,
                skip_existing: bool = True) -> dict[str, str]:
    """Run each tracker on the sequences with ``run_dataset`` (results of another benchmark build are
    redone); returns ``{tracker run label: error}`` for failed sequences."""
    from pytracking.evaluation.running import run_dataset

    identity = benchmark_identity(root)
    failed: dict[str, str] = {}
    for tracker in trackers:
        skip = skip_existing
        if skip and not results_match_benchmark(tracker.results_dir, identity):
            print(f"[demo] {tracker.results_dir} holds results of another benchmark build: redoing them")
            skip = False
        print(f"[demo] {tracker.run_label}: {len(sequences)} sequences -> {tracker.results_dir}")
        report = run_dataset(sequences, [tracker], threads=threads, skip_existing=skip, device=device)
        tracker.results_dir.mkdir(parents=True, exist_ok=True)
        mark_results(tracker.results_dir, identity, root)
        failed.update(report.failed)
    return failed


def missing_weights(tracker) -> Path | None:
    """The trained weights file ``tracker``'s parameters need but which does not exist (None if all is
    there, or if the tracker uses no network file) -- see ``pytracking.tracker.atom.atom.missing_network_file``."""
    params = tracker.get_parameters()
    if not params.has("net_path"):
        return None
    from pytracking.tracker.atom.atom import missing_network_file
    return missing_network_file(params)


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


def run_demo(tracker_name: str = "atom", param: str = "default", runid: int | None = None, threads: int | None = None,
             device: str | None = None, dataset_path: str | Path | None = None, results_path: str | Path | None = None,
             out_dir: str | Path | None = None, skip_existing: bool = True, progress: bool = True) -> DemoOutcome:
    """Build (first use) the demo benchmark, run ``tracker_name/param`` on its test split, score it,
    write the table (CSV + Markdown) and plots; see the module docstring."""
    from pytracking.analysis.evaluate import evaluate_tracker
    from pytracking.analysis.plots import save_plots
    from pytracking.analysis.tables import save_table, summary_table
    from pytracking.evaluation.datasets import get_dataset
    from pytracking.evaluation.tracker import Tracker

    start = time.perf_counter()
    threads = default_threads() if threads is None else int(threads)
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    results_root = demo_results_root(results_path)
    tracker = Tracker(tracker_name, param, runid, results_root=results_root)
    absent = missing_weights(tracker)
    if absent is not None:
        from pytracking.tracker.atom.atom import missing_weights_message
        raise FileNotFoundError(f"{tracker.run_label}: " + missing_weights_message(absent))
    root = prepare_demo_benchmark(dataset_path, progress=progress)
    sequences = get_dataset(DATASET_NAME, root, SPLIT)
    print(f"[demo] benchmark {root}: {len(sequences)} test sequences, {sum(len(s) for s in sequences)} frames")
    failed = run_on_demo([tracker], sequences, root, threads, device, skip_existing)
    result = evaluate_tracker(results_root, tracker.run_label, sequences)
    table = summary_table([result])[MAIN_COLUMNS]
    out = Path(out_dir) if out_dir is not None else default_out_dir(tracker.run_label)
    csv_path = out / "results.csv"
    md_path = save_table(table, csv_path)
    plots = save_plots([result], out, f"demo {SPLIT}")
    return DemoOutcome(table=table, csv_path=csv_path, md_path=md_path, plots=plots, failed=failed,
                       wall_seconds=time.perf_counter() - start, benchmark_sha256=benchmark_identity(root))


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("pytracking.run_demo", __doc__)
    parser.add_argument("tracker_name", nargs="?", default="atom", help="tracker package name (default: atom)")
    parser.add_argument("tracker_param", nargs="?", default="default",
                        help="parameter file (default: default = ATOM + EBM)")
    # the former spellings --tracker/--param, hidden (the positional pair is the convention)
    parser.add_argument("--tracker", dest="tracker_alias", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--param", dest="param_alias", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runid", type=int, default=None, help="run id (results folder suffix _%%03d)")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"worker processes (0 or 1: in-process; default {default_threads()})")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the parameter file's)")
    parser.add_argument("--results_path", default=None,
                        help="results root; results go to <results_path>/demo/<tracker>/<param> "
                             "(default: the settings' results)")
    parser.add_argument("--dataset_path", default=None,
                        help="demo benchmark root (default: the settings' demo root; built there on first use)")
    parser.add_argument("--out", default=None, help="folder for the table (CSV + Markdown) and the plots")
    parser.add_argument("--no_skip", action="store_true", help="redo sequences that already have results")
    parser.add_argument("--compare", action="store_true",
                        help="run the comparison (EBM ML-IS / NCE+, IoU-Net, Gaussian-NLL, no refinement, CSRT, KCF)")
    parser.add_argument("--benchmark", choices=BENCHMARK_CHOICES, default="demo",
                        help="demo (default); validation: the report-only benchmark's comparison (atom default, "
                             "iou, no_refine, CSRT); both: with --compare, the demo comparison then the validation one")
    parser.add_argument("--quiet", action="store_true", help="no progress bar for the benchmark build")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse; the hidden ``--tracker``/``--param`` replace the positional pair when given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tracker_alias is not None:
        args.tracker_name = args.tracker_alias
    if args.param_alias is not None:
        args.tracker_param = args.param_alias
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(argv)
    if args.threads is not None and args.threads < 0:
        parser.error("argument --threads: must be >= 0")
    if args.benchmark == "both" and not args.compare:
        parser.error("argument --benchmark: 'both' needs --compare")
    if args.compare or args.benchmark != "demo":
        from pytracking.compare_demo import run_comparison
        benchmarks = {"demo": ["demo"], "validation": ["validation"], "both": ["demo", "validation"]}[args.benchmark]
        failed = False
        for benchmark in benchmarks:
            out = args.out if len(benchmarks) == 1 or args.out is None else str(Path(args.out) / benchmark)
            try:
                outcome = run_comparison(threads=args.threads, device=args.device,
                                         dataset_path=args.dataset_path if benchmark == "demo" else None,
                                         results_path=args.results_path, out_dir=out,
                                         skip_existing=not args.no_skip, progress=not args.quiet,
                                         benchmark=benchmark)
            except ValueError as err:
                parser.error(str(err))
            failed = failed or bool(outcome.failed)
        return 1 if failed else 0
    from pytracking.evaluation.tracker import available_parameters, available_trackers
    if args.tracker_name not in available_trackers():
        parser.error(f"argument tracker_name: unknown tracker {args.tracker_name!r}; "
                     f"available: {available_trackers()}")
    if args.tracker_param not in available_parameters(args.tracker_name):
        parser.error(f"argument tracker_param: unknown parameter file {args.tracker_param!r} for "
                     f"{args.tracker_name}; available: {available_parameters(args.tracker_name)}")
    from pytracking.analysis.tables import to_markdown
    try:
        outcome = run_demo(args.tracker_name, args.tracker_param, args.runid, args.threads, args.device, args.dataset_path,
                           args.results_path, args.out, skip_existing=not args.no_skip, progress=not args.quiet)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    print(f"demo benchmark, test split, build sha256 {outcome.benchmark_sha256[:16]} "
          "(scores in %, FPS = tracker frames per second):")
    print(to_markdown(outcome.table))
    print(f"[demo] wrote {outcome.csv_path}, {outcome.md_path}")
    for path in outcome.plots:
        print(f"[demo] wrote {path}")
    if outcome.failed:
        print(f"[demo] {len(outcome.failed)} sequences failed: {', '.join(outcome.failed)}", file=sys.stderr)
    print(f"[demo] wall time {outcome.wall_seconds:.1f} s")
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
