"""The comparison on the demo benchmark's test split: the EBM box estimator against the baselines.

    python -m pytracking.compare_demo [--threads N] [--device D] [--results_path DIR] [--dataset_path DIR]
        [--out DIR] [--no_skip]          (same as: python -m pytracking.run_demo --compare)

The rows, how they are run and what is written: :mod:`pytracking.evaluation.demo_comparison`.
"""
from __future__ import annotations

import argparse
import sys

from ltr.admin.cli import cli_parser
from pytracking.evaluation.demo_comparison import run_comparison


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.compare_demo", __doc__)
    parser.add_argument("--threads", type=int, default=None, help="worker processes (0 or 1: in-process)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: each parameter file's)")
    parser.add_argument("--results_path", default=None, help="results root (default: the settings' results)")
    parser.add_argument("--dataset_path", default=None, help="demo benchmark root (default: the settings' demo root)")
    parser.add_argument("--out", default=None, help="folder for compare.md, compare.csv and the plots")
    parser.add_argument("--no_skip", action="store_true", help="redo sequences that already have results")
    parser.add_argument("--quiet", action="store_true", help="no progress bar for the benchmark build")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 0:
        parser.error("argument --threads: must be >= 0")
    try:
        outcome = run_comparison(threads=args.threads, device=args.device, dataset_path=args.dataset_path,
                                 results_path=args.results_path, out_dir=args.out, skip_existing=not args.no_skip,
                                 progress=not args.quiet)
    except ValueError as err:
        parser.error(str(err))
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
