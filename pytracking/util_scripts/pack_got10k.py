"""Pack GOT-10k test results for the evaluation server.

Layout inside the zip, for every test sequence ``<seq>`` and run k = 1..R (R <= 3)::

    <seq>/<seq>_001.txt     x,y,w,h per frame (comma), from the first run
    <seq>/<seq>_002.txt     ... one file per run
    <seq>/<seq>_time.txt    seconds per frame (from the first run)

    python -m pytracking.util_scripts.pack_got10k <tracker> <param> [--runids 0 1 2]
        [--results_path DIR] [--dataset_path DIR] [--output FILE.zip]

Without ``--runids`` every run folder of ``tracker/param`` is used (at most 3).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence as TypingSequence

from pytracking.evaluation.results_io import boxes_to_text, format_number
from pytracking.evaluation.sequence import Sequence
from pytracking.util_scripts.packing import IncompleteResultsError, checked_boxes, checked_times, write_zip

MAX_RUNS = 3


def pack_got10k(run_dirs: TypingSequence[str | Path], sequences: TypingSequence[Sequence],
                output_zip: str | Path) -> Path:
    """Verify 1..3 run folders hold every sequence's result (and run 1 its times); write the zip."""
    run_dirs = [Path(d) for d in run_dirs]
    if not 1 <= len(run_dirs) <= MAX_RUNS:
        raise ValueError(f"run_dirs: GOT-10k takes 1 to {MAX_RUNS} runs, got {len(run_dirs)}")
    if not sequences:
        raise ValueError("sequences: no GOT-10k test sequences given")
    problems: list[str] = []
    entries: dict[str, str] = {}
    for seq in sequences:
        for k, run_dir in enumerate(run_dirs, start=1):
            boxes = checked_boxes(run_dir, seq, problems)
            if boxes is not None:
                entries[f"{seq.name}/{seq.name}_{k:03d}.txt"] = boxes_to_text(boxes)
        times = checked_times(run_dirs[0], seq, problems)
        if times is not None:
            entries[f"{seq.name}/{seq.name}_time.txt"] = "".join(format_number(t) + "\n" for t in times)
    if problems:
        raise IncompleteResultsError(f"GOT-10k submission from {[str(d) for d in run_dirs]}", problems)
    return write_zip(output_zip, entries)


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import add_set_argument, cli_parser
    parser = cli_parser("pytracking.util_scripts.pack_got10k", __doc__)
    parser.add_argument("tracker_name", help="tracker package name, e.g. atom")
    parser.add_argument("tracker_param", help="parameter file name, e.g. default")
    parser.add_argument("--runids", type=int, nargs="+", default=None, help="run ids to pack (at most 3)")
    parser.add_argument("--results_path", default=None,
                        help="results root holding got10k_test/<tracker>/<param> (default: the settings' results)")
    parser.add_argument("--dataset_path", default=None, help="GOT-10k root (default: the settings' entry)")
    parser.add_argument("--output", default=None, help="zip file (default: <results>/packed/got10k_<t>_<p>.zip)")
    add_set_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pytracking.analysis.evaluate import find_run_dirs
    from pytracking.evaluation import Tracker, get_dataset
    from pytracking.evaluation.results_io import dataset_results_root
    from pytracking.utils.params import parse_overrides
    results_root = dataset_results_root(args.results_path, "got10k_test")
    try:
        # the results folder's name: the parameter file's, or <param>-<digest> with --set
        overrides = parse_overrides(args.overrides)
        config = Tracker(args.tracker_name, args.tracker_param, overrides=overrides).config_name
        if args.runids:
            trackers = [Tracker(args.tracker_name, args.tracker_param, r, results_root=results_root,
                                overrides=overrides) for r in args.runids]
            run_dirs = [t.results_dir for t in trackers]
            root = trackers[0].results_root
        else:
            root = results_root
            run_dirs = find_run_dirs(root, f"{args.tracker_name}/{config}")
            if len(run_dirs) > MAX_RUNS:
                parser.error(f"argument --runids: {len(run_dirs)} runs found, choose at most {MAX_RUNS}")
            if not run_dirs:
                parser.error(f"argument tracker_param: no results for {args.tracker_name}/{config} in {root}")
        sequences = get_dataset("got10k_test", args.dataset_path)
        output = Path(args.output) if args.output else (
            root / "packed" / f"got10k_{args.tracker_name}_{config}.zip")
        path = pack_got10k(run_dirs, sequences, output)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"[pack] wrote {path} ({len(sequences)} sequences, {len(run_dirs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
