"""Run an experiment: a function in ``pytracking/experiments/<module>.py`` returning ``(trackers, dataset)``.

    python -m pytracking.run_experiment <module> <function> [--threads N] [--debug L] [--device D]
        [--shard i/n] [--no_skip] [--torch_threads T] [--set KEY=VALUE ...]

``--set`` sets parameter-file keys on top of every tracker's parameter file (results go to
``<param>-<digest>``, as with ``run_tracker``); a key one of the experiment's trackers does not read is an error.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import pytracking.experiments as pkg
from ltr.admin.cli import add_set_argument, add_torch_threads_argument, cli_parser
from pytracking.evaluation.running import parse_shard, run_dataset
from pytracking.evaluation.tracker import OverrideError, Tracker
from pytracking.utils.params import describe_overrides, parse_set_argument


def available_experiment_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.run_experiment", __doc__)
    parser.add_argument("experiment_module", help="module name in pytracking/experiments/")
    parser.add_argument("experiment_name", help="function in that module returning (trackers, dataset)")
    parser.add_argument("--threads", type=int, default=0, help="worker processes (0 or 1: run in-process)")
    parser.add_argument("--debug", type=int, default=0, choices=[0, 1, 2, 3], help="debug level")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (passed as params.device)")
    parser.add_argument("--shard", default=None, help="i/n: every n-th sequence starting at i")
    parser.add_argument("--no_skip", action="store_true", help="redo sequences that already have results")
    add_torch_threads_argument(parser)
    add_set_argument(parser)
    return parser


def with_overrides(trackers: list[Tracker], overrides: dict) -> list[Tracker]:
    """The experiment's trackers with ``overrides`` on top of each one's own (a new results folder each)."""
    if not overrides:
        return trackers
    return [Tracker(t.name, t.parameter_name, t.run_id, results_root=t.results_root,
                    overrides={**t.overrides, **overrides}) for t in trackers]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    modules = available_experiment_modules()
    if args.experiment_module not in modules:
        parser.error(f"argument experiment_module: unknown module {args.experiment_module!r}; available: {modules}")
    module = importlib.import_module(f"pytracking.experiments.{args.experiment_module}")
    function = getattr(module, args.experiment_name, None)
    if function is None or not callable(function):
        functions = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
                           and getattr(getattr(module, n), "__module__", "") == module.__name__)
        parser.error(f"argument experiment_name: {args.experiment_name!r} is not in {module.__name__}; "
                     f"available: {functions}")
    try:
        shard = parse_shard(args.shard)
    except ValueError as err:
        parser.error(f"argument {err}")
    overrides = parse_set_argument(parser, args.overrides)
    try:
        trackers, dataset = function()
    except ValueError as err:
        parser.error(str(err))
    try:
        trackers = with_overrides(list(trackers), overrides)
    except OverrideError as err:
        parser.error(f"argument --set: {err}")
    if overrides:
        print(f"[run] every tracker with {describe_overrides(overrides)}")
    dataset_name = dataset[0].dataset if dataset else ""
    for tracker in trackers:  # the one results layout: <results>/<dataset>/<tracker>/<param>[_NNN]
        if dataset_name and tracker.results_root.name != dataset_name:
            tracker.results_root = tracker.results_root / dataset_name
    report = run_dataset(dataset, trackers, threads=args.threads, debug=args.debug,
                         skip_existing=not args.no_skip, device=args.device, shard=shard,
                         torch_threads=args.torch_threads)
    print(f"[run] finished {len(report.finished)}, skipped {len(report.skipped)}, failed {len(report.failed)}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
