"""The main command: the tracker on the offline demo benchmark, scored, in one go.

    python -m pytracking.run_demo [tracker_name [tracker_param]] [--runid K] [--threads N]
        [--device cpu|cuda] [--results_path DIR] [--dataset_path DIR] [--out DIR] [--no_skip] [--compare]
        [--benchmark demo|validation|both] [--batch_sequences B [--runs N] [--check_sequential]]
        [--set KEY=VALUE ...]

Steps (:mod:`pytracking.evaluation.demo`; the comparison: :mod:`pytracking.evaluation.demo_comparison`):

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
the settings' results folder; with ``--set key=value``, parameter-file keys set on top of ``<param>``'s,
``<param>-<digest>[_<runid:03d>]``) with a ``benchmark.json`` naming the benchmark's content hash: results of
another build of the benchmark are redone, never mixed. The printed table's heading names that hash (its first 16 hex digits), so that two users can tell
whether they scored the same data. ``python -m pytracking.analysis --dataset_name demo`` reads these
results as they are. Tables and plots go to ``--out`` (default
``<settings plots>/demo/<tracker>/<param>[_NNN]``, outside the results tree).

``--compare`` runs the comparison of :mod:`pytracking.compare_demo` instead (EBM vs. the baselines).

``--benchmark validation`` runs the tracker (``--runid`` and ``--runs`` as above) on the validation benchmark
instead (:mod:`ltr.synthetic.validation_benchmark`: another generator, used only to report, never to choose a
number); with ``--compare`` it runs the comparison there (the same rows as on the demo); results go to
``<results>/validation``. ``--benchmark both --compare`` prints the demo comparison, then the validation one.
``--dataset_path`` applies to the demo benchmark only (the validation root is
the settings' ``validation`` entry).
Exit status 1 if a sequence failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ltr.admin.cli import add_set_argument, cli_parser
from pytracking.analysis.tables import to_markdown
from pytracking.evaluation.demo import default_threads, run_demo
from pytracking.evaluation.demo_comparison import run_comparison
from pytracking.evaluation.tracker import OverrideError, check_tracker_name
from pytracking.utils.params import parse_set_argument

BENCHMARK_CHOICES = ("demo", "validation", "both")


def build_parser() -> argparse.ArgumentParser:
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
                        help="demo (default); validation: the report-only benchmark (the tracker, or with --compare "
                             "the comparison); both: with --compare, the demo comparison then the validation one")
    parser.add_argument("--batch_sequences", type=int, default=0, metavar="B",
                        help="track B sequences at a time in one process, backbone and refinement batched "
                             "(atom only; prints the aggregate frames/s; default 0: one sequence per worker)")
    parser.add_argument("--runs", type=int, default=1, metavar="N",
                        help="run ids --runid .. --runid + N - 1 (default 1 run; e.g. to fill a wide batch: "
                             "12 demo sequences x N runs)")
    parser.add_argument("--check_sequential", action="store_true",
                        help="with --batch_sequences: also run one sequence at a time (--threads workers) into "
                             "<results>/demo_sequential and print how far the boxes differ")
    parser.add_argument("--quiet", action="store_true", help="no progress bar for the benchmark build")
    add_set_argument(parser)
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
    if args.batch_sequences < 0:
        parser.error("argument --batch_sequences: must be >= 0")
    if args.runs < 1:
        parser.error("argument --runs: must be >= 1")
    if args.check_sequential and args.batch_sequences == 0:
        parser.error("argument --check_sequential: needs --batch_sequences B")
    if args.batch_sequences and (args.compare or args.benchmark != "demo"):
        parser.error("argument --batch_sequences: runs one tracker on the demo benchmark (not with --compare "
                     "or --benchmark)")
    if args.benchmark == "both" and not args.compare:
        parser.error("argument --benchmark: 'both' needs --compare")
    if args.overrides and args.compare:
        parser.error("argument --set: applies to one tracker, not to --compare (its rows are the shipped parameter "
                     "files)")
    overrides = parse_set_argument(parser, args.overrides)
    if args.compare:
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
    try:
        check_tracker_name(args.tracker_name, args.tracker_param)
    except ValueError as err:
        parser.error(f"argument {err}")
    try:
        outcome = run_demo(args.tracker_name, args.tracker_param, args.runid, args.threads, args.device, args.dataset_path,
                           args.results_path, args.out, skip_existing=not args.no_skip, progress=not args.quiet,
                           batch_sequences=args.batch_sequences, check_sequential=args.check_sequential,
                           runs=args.runs, benchmark=args.benchmark, overrides=overrides)
    except OverrideError as err:
        parser.error(f"argument --set: {err}")
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    print(f"{args.benchmark} benchmark, test split, build sha256 {outcome.benchmark_sha256[:16]} "
          "(scores in %, FPS = tracker frames per second):")
    print(to_markdown(outcome.table))
    print(f"[demo] wrote {outcome.csv_path}, {outcome.md_path}")
    for path in outcome.plots:
        print(f"[demo] wrote {path}")
    if outcome.failed:
        print(f"[demo] {len(outcome.failed)} sequences failed: {', '.join(outcome.failed)}", file=sys.stderr)
    if outcome.sequential_check is not None:
        print(f"[demo] batched against one sequence at a time: {outcome.sequential_check.describe()}")
    print(f"[demo] wall time {outcome.wall_seconds:.1f} s")
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
