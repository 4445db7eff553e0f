"""Search the refinement step length of each refining head, closed loop, on train-side sequences only.

``python -m pytracking.tune_refinement --params default nce iou --scales 0.0625 0.125 0.25 0.5 1 2
--sequences every_other --workers 16 [--net_dir shipped DIR] [--seeds 0 1] [--dataset_name demo wide_train]``

The sets: the demo benchmark's train split (``demo``) and the wide train sequences (``wide_train``,
:mod:`ltr.synthetic.wide_sequences`; needs the photo bank), both by default as every choice in
``docs/tuning_on_train.md`` since 2026-12-06 (``--dataset_name demo`` without the photo bank); ``--sequences``
selects within each set.

Every head runs with 10 boxes and ``default``'s T (3; the settings' default), its parameter file's step vector times each multiplier; the grid extends
below (and above) a best value at its edge. Prints and writes (``--out``, default
``<results>/demo_train_search/``) ``search.md`` / ``search.json``: mean AUC per head x multiplier (best in bold) and
the chosen step vector per head. ``--net_dir`` lists weights sources: ``shipped`` (the ``pytracking/networks``
files) and/or folders of files with the shipped names (``ltr.train_estimators --out``), so freshly trained and
shipped heads are in one table. See ``docs/tuning_on_train.md`` and :mod:`pytracking.evaluation.refinement_search`.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from ltr.admin.cli import cli_parser
from ltr.admin.local_settings import load_settings
from pytracking.evaluation.refinement_search import (FAIR_NUM_BOXES, FAIR_NUM_ITER, WeightsSource,
                                                      add_train_side_arguments, format_table, run_search,
                                                      train_side_sequences)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.tune_refinement", __doc__)
    parser.add_argument("--params", nargs="+", default=["default", "nce", "iou"],
                        help="atom parameter files of refining heads (default: default nce iou)")
    parser.add_argument("--scales", nargs="+", type=float, default=[0.0625, 0.125, 0.25, 0.5, 1.0, 2.0],
                        help="step multipliers of each head's step vector (default 0.0625 .. 2)")
    add_train_side_arguments(parser, ["demo", "wide_train"], "demo_train_search")
    parser.add_argument("--net_dir", nargs="+", default=["shipped"],
                        help="weights sources: 'shipped' and/or folders of weights with the shipped names")
    parser.add_argument("--max_extensions", type=int, default=4, help="grid extensions per direction (default 4)")
    parser.add_argument("--out", default=None, help="folder of search.md / search.json (default: the results root)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        sources = [WeightsSource.parse(text) for text in args.net_dir]
        sequences = train_side_sequences(args)
        root = Path(args.results_path) if args.results_path else load_settings().results / "demo_train_search"
        print(f"[tune_refinement] {len(args.params)} heads x {len(sources)} weights sources x {len(args.scales)} "
              f"multipliers x {len(args.seeds)} seeds on {len(sequences)} train-side sequences "
              f"({' + '.join(args.dataset_name)}), {FAIR_NUM_BOXES} boxes, "
              f"T = {FAIR_NUM_ITER}; results in {root}")
        searches = run_search(args.params, args.scales, sequences, root, sources, args.seeds, args.workers,
                              args.device, args.max_extensions)
    except ValueError as err:
        parser.error(str(err))
    table = format_table(searches, len(sequences), args.seeds, " + ".join(args.dataset_name))
    out = Path(args.out) if args.out else root
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.md").write_text(table)
    (out / "search.json").write_text(json.dumps({
        "sets": args.dataset_name, "sequences": [s.name for s in sequences], "seeds": args.seeds, "num_boxes": FAIR_NUM_BOXES,
        "num_iter": FAIR_NUM_ITER, "heads": {h: {**asdict(s), "scores": {str(k): v for k, v in s.scores.items()},
                                                 "best": s.best, "chosen_steps": s.chosen_steps, "at_edge": s.at_edge}
                                             for h, s in searches.items()}}, indent=1) + "\n")
    print(table)
    print(f"[tune_refinement] wrote {out / 'search.md'} and {out / 'search.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
