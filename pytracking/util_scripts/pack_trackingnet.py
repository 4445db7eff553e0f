"""Pack TrackingNet test results for the evaluation server.

The zip holds one ``<video>.txt`` per test video (511 in the full set) at its root, with one
comma-separated ``x,y,w,h`` row for every frame. Every video must have a complete, finite result.

    python -m pytracking.util_scripts.pack_trackingnet <tracker> <param> [--runid K]
        [--results_path DIR] [--dataset_path DIR] [--output FILE.zip]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence as TypingSequence

from pytracking.evaluation.results_io import boxes_to_text
from pytracking.evaluation.sequence import Sequence
from pytracking.util_scripts.packing import IncompleteResultsError, checked_boxes, write_zip


def pack_trackingnet(results_dir: str | Path, sequences: TypingSequence[Sequence], output_zip: str | Path) -> Path:
    """Verify ``results_dir`` holds every sequence's result and write the submission zip."""
    results_dir = Path(results_dir)
    if not sequences:
        raise ValueError("sequences: no TrackingNet test videos given")
    problems: list[str] = []
    entries = {}
    for seq in sequences:
        boxes = checked_boxes(results_dir, seq, problems)
        if boxes is not None:
            entries[f"{seq.name}.txt"] = boxes_to_text(boxes)
    if problems:
        raise IncompleteResultsError(f"TrackingNet submission from {results_dir}", problems)
    return write_zip(output_zip, entries)


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import add_set_argument, cli_parser
    parser = cli_parser("pytracking.util_scripts.pack_trackingnet", __doc__)
    parser.add_argument("tracker_name", help="tracker package name, e.g. atom")
    parser.add_argument("tracker_param", help="parameter file name, e.g. default")
    parser.add_argument("--runid", type=int, default=None, help="run id (results folder suffix _%%03d)")
    parser.add_argument("--results_path", default=None,
                        help="results root holding trackingnet/<tracker>/<param> (default: the settings' results)")
    parser.add_argument("--dataset_path", default=None, help="TrackingNet root (default: the settings' entry)")
    parser.add_argument("--output", default=None, help="zip file (default: <results>/packed/trackingnet_<t>_<p>.zip)")
    add_set_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pytracking.evaluation import Tracker, get_dataset
    from pytracking.evaluation.results_io import dataset_results_root
    from pytracking.utils.params import parse_overrides
    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, args.runid,
                          results_root=dataset_results_root(args.results_path, "trackingnet"),
                          overrides=parse_overrides(args.overrides))
        sequences = get_dataset("trackingnet", args.dataset_path, "test")
        output = Path(args.output) if args.output else (
            tracker.results_root / "packed" / f"trackingnet_{tracker.run_label.replace('/', '_')}.zip")
        path = pack_trackingnet(tracker.results_dir, sequences, output)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"[pack] wrote {path} ({len(sequences)} videos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
