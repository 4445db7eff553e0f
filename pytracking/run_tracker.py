"""Run a tracker on a dataset (or one sequence of it) and write results files.

    python -m pytracking.run_tracker <tracker> <param> --dataset_name NAME [--sequence NAME|INDEX]
        [--threads N] [--debug 0..3] [--runid K] [--device cpu|cuda] [--dataset_path DIR]
        [--results_path DIR] [--split SPLIT] [--shard i/n] [--no_skip] [--torch_threads T]
        [--set KEY=VALUE ...]

Results: ``<results>/<dataset>/<tracker>/<param>[_<runid:03d>]/<sequence>.txt`` (+ ``_time.txt``), the
layout ``run_demo`` and ``analysis`` use too (with ``--set``: ``<param>-<digest>[_<runid:03d>]``, see
:mod:`pytracking.evaluation.tracker`); finished sequences are skipped, so re-running resumes. A
sequence whose annotation is unusable is reported in one line (file, line, what is wrong) and the others
run. Exit status 1 if any sequence failed (to load or to track), 2 for bad arguments or a root that holds
no dataset.
"""
from __future__ import annotations

import argparse
import sys

from ltr.admin.cli import add_set_argument, add_torch_threads_argument, cli_parser
from pytracking.evaluation.datasets import dataset_names, get_dataset_object
from pytracking.evaluation.results_io import dataset_results_root
from pytracking.evaluation.running import parse_shard, run_dataset
from pytracking.evaluation.tracker import OverrideError, Tracker, check_tracker_name
from pytracking.tracker.atom.atom import missing_weights_message
from pytracking.utils.params import describe_overrides, parse_set_argument
from pytracking.utils.visdom import VisdomPanels
from pytracking.visdom_server import ensure_visdom_server, env_url, finish_spawned_servers


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.run_tracker", __doc__)
    parser.add_argument("tracker_name", help="tracker package name, e.g. atom or opencv")
    parser.add_argument("tracker_param", help="parameter file name, e.g. default or csrt")
    parser.add_argument("--runid", type=int, default=None, help="run id (results folder suffix _%%03d)")
    parser.add_argument("--dataset_name", required=True, help=f"one of {dataset_names()} (required)")
    parser.add_argument("--dataset_path", default=None, help="dataset root (overrides the settings file)")
    parser.add_argument("--split", default=None, help="dataset split (e.g. test for a folder dataset's test.txt)")
    parser.add_argument("--sequence", default=None, help="a sequence name or index in the dataset's order")
    parser.add_argument("--results_path", default=None, help="results root (default: settings' results)")
    parser.add_argument("--threads", type=int, default=0, help="worker processes (0 or 1: run in-process)")
    parser.add_argument("--debug", type=int, default=0, choices=[0, 1, 2, 3], help="debug level")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (passed as params.device)")
    parser.add_argument("--shard", default=None, help="i/n: run every n-th sequence starting at i (0-based)")
    parser.add_argument("--no_skip", action="store_true", help="redo sequences that already have results")
    add_torch_threads_argument(parser)
    add_set_argument(parser)
    parser.add_argument("--use_visdom", action="store_true",
                        help="with --debug >= 1: show the frame, box and debug panels in visdom (server started "
                             "on 127.0.0.1 if none answers); --debug 2 adds pause (space) / step (right arrow)")
    parser.add_argument("--visdom_port", type=int, default=8097, help="visdom server port (localhost)")
    parser.add_argument("--keep_visdom", action="store_true",
                        help="leave a visdom server this run started running at the end (default: stop it)")
    return parser


def select_sequence_names(all_names: list[str], sequence: str | None, parser: argparse.ArgumentParser) -> list[str]:
    """``--sequence`` as a name, else as an integer index into the dataset's order."""
    if sequence is None:
        return all_names
    if sequence in all_names:
        return [sequence]
    if sequence.lstrip("-").isdigit():
        index = int(sequence)
        if -len(all_names) <= index < len(all_names):
            return [all_names[index]]
        parser.error(f"argument --sequence: index {index} out of range (dataset has {len(all_names)} sequences)")
    parser.error(f"argument --sequence: no sequence {sequence!r} (e.g. {all_names[:3]})")
    return []


def visdom_observer(port: int, env: str, debug: int):
    """A frame observer that pushes every frame and its debug panels to visdom, or None (said once)
    when no server can be started; the run then goes on without display."""
    if not ensure_visdom_server(port, for_run=True):
        return None
    panels = VisdomPanels(port=port, env=env.replace("/", "_"), debug=max(debug, 1))
    if not panels.enabled:
        return None
    print(f"[run] visdom: {env_url(port, env.replace('/', '_'))}")

    def observe(frame_index: int, image, output: dict) -> None:
        panels.update(image, output, frame_num=frame_index)
        panels.wait_if_paused()

    return observe


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_tracker_name(args.tracker_name, args.tracker_param)
    except ValueError as err:
        parser.error(f"argument {err}")
    if args.dataset_name not in dataset_names():
        parser.error(f"argument --dataset_name: unknown dataset {args.dataset_name!r}; choose from {dataset_names()}")
    if args.threads < 0:
        parser.error("argument --threads: must be >= 0")
    try:
        shard = parse_shard(args.shard)
    except ValueError as err:
        parser.error(f"argument {err}")
    overrides = parse_set_argument(parser, args.overrides)
    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, args.runid,
                          results_root=dataset_results_root(args.results_path, args.dataset_name), overrides=overrides)
    except OverrideError as err:
        parser.error(f"argument --set: {err}")
    except ValueError as err:
        parser.error(str(err))
    absent = tracker.missing_weights()
    if absent is not None:    # once here, not once per sequence
        parser.error(f"{tracker.run_label}: " + missing_weights_message(absent))
    try:
        dataset = get_dataset_object(args.dataset_name, args.dataset_path, args.split)
    except ValueError as err:
        parser.error(str(err))
    names = select_sequence_names(dataset.sequence_names(), args.sequence, parser)
    sequences, load_errors = dataset.load_sequences(names)
    for name, error in load_errors.items():
        print(f"[run] SKIPPED {name}: {error}", file=sys.stderr)
    if args.use_visdom and args.threads > 1:
        parser.error("argument --use_visdom: needs --threads 0 or 1 (worker processes cannot show frames)")
    if args.use_visdom and args.debug < 1:
        print("[run] --use_visdom shows nothing with --debug 0: no visdom server started (add --debug 1)",
              file=sys.stderr)
    observer = visdom_observer(args.visdom_port, tracker.run_label, args.debug) \
        if args.use_visdom and args.debug >= 1 else None
    if overrides:
        print(f"[run] {args.tracker_name}/{args.tracker_param} with {describe_overrides(overrides)}")
    print(f"[run] {tracker.run_label} on {args.dataset_name}: {len(sequences)} sequences -> {tracker.results_dir}")
    try:
        report = run_dataset(sequences, [tracker], threads=args.threads, debug=args.debug,
                             skip_existing=not args.no_skip, device=args.device, shard=shard, observer=observer,
                             torch_threads=args.torch_threads)
    finally:
        if args.use_visdom:
            finish_spawned_servers(args.keep_visdom, "[run]")
    print(f"[run] finished {len(report.finished)}, skipped {len(report.skipped)}, "
          f"failed {len(report.failed) + len(load_errors)}"
          + (f" ({len(load_errors)} could not be loaded: {', '.join(load_errors)})" if load_errors else ""))
    return 1 if report.failed or load_errors else 0


if __name__ == "__main__":
    sys.exit(main())
