"""Score tracking results on a dataset: table (printed, CSV + Markdown), plots, per-attribute tables.

    python -m pytracking.analysis --dataset_name uav [--dataset_path DIR] --results_path DIR
        [--trackers atom/default opencv/csrt ...] [--csv FILE] [--plots DIR] [--per_sequence]
        [--allow_incomplete] [--split SPLIT] [--compare_to tracker/param]

Results are read from ``<results>/<dataset>/<tracker>/<param>[_NNN]/`` (``<results>`` = ``--results_path``
or the settings' results), where ``run_tracker``, ``run_experiment`` and ``run_demo`` write them; a
``--results_path`` that holds ``<tracker>/<param>`` folders directly (the older layout) is read as it is.
Without ``--trackers`` every ``tracker/param`` folder found there is scored; an unknown one is an
error that lists those found. Trackers with
missing result files are listed and marked incomplete (scores '-' unless ``--allow_incomplete``).
Without ``--csv`` the table goes to ``<settings plots>/<dataset>/results.csv``.
``--compare_to C`` also prints, per sequence, each tracker's AUC, its difference to C's and the harm
rate (share of scored frames where its box has a lower IoU than C's; :mod:`pytracking.analysis.compare`),
saved as ``<csv stem>_compare.csv``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytracking.analysis.evaluate import discover_trackers, evaluate_tracker, find_run_dirs
from pytracking.analysis.tables import attribute_table, per_sequence_table, save_table, summary_table, to_markdown
from pytracking.evaluation.datasets import dataset_names, get_dataset


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("pytracking.analysis", __doc__)
    parser.add_argument("--dataset_name", required=True, help=f"one of {dataset_names()}")
    parser.add_argument("--dataset_path", default=None, help="dataset root (overrides the settings file)")
    parser.add_argument("--split", default=None, help="dataset split")
    parser.add_argument("--results_path", default=None,
                        help="results root holding <dataset>/<tracker>/<param> (default: the settings' results)")
    parser.add_argument("--trackers", nargs="+", default=None, help="tracker/param (or tracker/param_NNN) to score")
    parser.add_argument("--csv", default=None, help="summary CSV file (Markdown written beside it as .md)")
    parser.add_argument("--plots", default=None, help="folder for success/precision plots (PNG)")
    parser.add_argument("--per_sequence", action="store_true", help="also print and save per-sequence AUC")
    parser.add_argument("--allow_incomplete", action="store_true",
                        help="score incomplete trackers over the sequences they have (still marked incomplete)")
    parser.add_argument("--compare_to", default=None, metavar="TRACKER/PARAM",
                        help="reference: per-sequence AUC difference and harm rate of each --trackers entry against it")
    return parser


def analysis_results_root(results_path: str | None, dataset_name: str, default_results: Path) -> Path:
    """``<results>/<dataset_name>``; a given ``results_path`` without that subfolder but with tracker
    folders of its own (the older layout, or a path that already names the dataset) is used as it is."""
    root = Path(results_path).expanduser() if results_path else default_results
    if results_path and not (root / dataset_name).is_dir() and root.is_dir() and discover_trackers(root):
        return root
    return root / dataset_name


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dataset_name not in dataset_names():
        parser.error(f"argument --dataset_name: unknown dataset {args.dataset_name!r}; choose from {dataset_names()}")
    from ltr.admin.local_settings import load_settings
    settings = load_settings()
    results_root = analysis_results_root(args.results_path, args.dataset_name, settings.results)
    try:
        sequences = get_dataset(args.dataset_name, args.dataset_path, args.split)
        found = discover_trackers(results_root) if results_root.is_dir() else []
    except ValueError as err:
        parser.error(str(err))
    if not found:
        parser.error(f"no tracker results for dataset {args.dataset_name!r} in {results_root} (run e.g. "
                     f"python -m pytracking.run_tracker atom default --dataset_name {args.dataset_name})")
    trackers = args.trackers or found
    try:
        unknown = [t for t in trackers if not find_run_dirs(results_root, t)]
    except ValueError as err:
        parser.error(str(err))
    if unknown:
        parser.error(f"argument --trackers: no results for {unknown} in {results_root}; found: {found}")
    try:
        results = [evaluate_tracker(results_root, t, sequences, allow_incomplete=args.allow_incomplete)
                   for t in trackers]
    except ValueError as err:
        parser.error(str(err))
    for r in results:
        if not r.complete:
            missing = r.missing
            print(f"[analysis] {r.name}: INCOMPLETE, {len(missing)} result files missing or short:", file=sys.stderr)
            for m in missing[:20]:
                print(f"    {m}", file=sys.stderr)
            if len(missing) > 20:
                print(f"    ... and {len(missing) - 20} more", file=sys.stderr)
    csv_path = Path(args.csv) if args.csv else settings.plots / args.dataset_name / "results.csv"
    table = summary_table(results)
    md_path = save_table(table, csv_path)
    print(f"{args.dataset_name}: {len(sequences)} sequences (scores in %, mean over runs)")
    print(to_markdown(table))
    print(f"[analysis] wrote {csv_path} and {md_path}")
    attributes = attribute_table(results, sequences)
    if attributes is not None:
        att_csv = csv_path.with_name(csv_path.stem + "_attributes.csv")
        save_table(attributes, att_csv, index=True)
        print("AUC per attribute:")
        print(to_markdown(attributes, index=True))
    if args.per_sequence:
        per_seq = per_sequence_table(results, sequences)
        seq_csv = csv_path.with_name(csv_path.stem + "_per_sequence.csv")
        save_table(per_seq, seq_csv, index=True)
        print("AUC per sequence:")
        print(to_markdown(per_seq, index=True))
    status = 0
    comparison = None
    if args.compare_to:
        from pytracking.analysis.compare import HARM_TOLERANCE, compare_to_reference
        others = [t for t in trackers if t.strip("/") != args.compare_to.strip("/")]
        try:
            comparison = compare_to_reference(results_root, others, args.compare_to, sequences)
        except ValueError as err:   # the tables above are written: one line, the plots still follow, exit 2
            print(f"[analysis] no comparison: {err}", file=sys.stderr)
            status = 2
    if comparison is not None:
        cmp_csv = csv_path.with_name(csv_path.stem + "_compare.csv")
        save_table(comparison, cmp_csv, index=True)
        print(f"Against {args.compare_to}: AUC per sequence, dAUC = AUC - AUC({args.compare_to}), harm% = share of "
              f"scored frames with IoU lower than {args.compare_to}'s by more than {HARM_TOLERANCE:g} "
              "(mean row: AUC and dAUC averaged over sequences, harm% pooled over all frames)")
        print(to_markdown(comparison, index=True))
    if args.plots:
        from pytracking.analysis.plots import save_plots
        for path in save_plots(results, args.plots, args.dataset_name):
            print(f"[analysis] wrote {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
