"""Compare ATOM parameter variants closed loop on train-side sequences only (how the gate's numbers are chosen).

``python -m pytracking.tune_parameters --dataset_name demo wide_train --workers 2
--variant off --variant gated param=gated --variant peak0.5 refinement_gate=True gate_min_peak=0.5``

Each ``--variant NAME [param=FILE] [key=value ...]`` is the parameter file (default ``--param``, ``default``) with
those keys set (values are Python literals). Every variant and the reference (``--reference NAME [param=FILE]
[key=value ...]``, default ``no_refine``, the classifier alone) runs the same sequences and seeds. Prints and writes
(``--out``, default the results root) ``variants.md`` / ``variants.json``: mean AUC, its difference from the
reference, the harm rate (frames where the variant's IoU is below the reference's) and the sequences more than 5 AUC
below the reference. The test split and the validation benchmark are refused. See
:mod:`pytracking.evaluation.parameter_variants` and ``docs/tuning_on_train.md``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ltr.admin.cli import cli_parser
from ltr.admin.local_settings import load_settings
from pytracking.evaluation.parameter_variants import (VariantSpec, compare_variants, format_variants_table,
                                                       parse_variant, per_set_table, variant_summary)
from pytracking.evaluation.refinement_search import add_train_side_arguments, train_side_sequences

__all__ = ["build_parser", "main", "reference_spec"]


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.tune_parameters", __doc__)
    parser.add_argument("--variant", nargs="+", action="append", required=True, metavar="NAME [key=value]",
                        help="a variant: its name, then param=FILE and/or parameter overrides key=value (repeat)")
    parser.add_argument("--param", default="default", help="parameter file of variants without param= (default default)")
    parser.add_argument("--reference", nargs="+", default=["no_refine"], metavar="NAME [key=value]",
                        help="the reference every variant is compared with, as a --variant whose parameter file is "
                             "NAME unless param= says otherwise (default no_refine)")
    add_train_side_arguments(parser, ["demo", "wide_train"], "train_side_variants")
    parser.add_argument("--out", default=None, help="folder of variants.md / variants.json (default: the results root)")
    return parser


def reference_spec(tokens: list[str]) -> VariantSpec:
    """``--reference NAME [param=FILE] [key=value ...]``: a variant whose parameter file is NAME unless ``param=``
    names another (``['no_refine']`` -> the parameter file ``no_refine`` as it is)."""
    return parse_variant(tokens, tokens[0] if tokens else "")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        specs = [parse_variant(tokens, args.param) for tokens in args.variant]
        reference = reference_spec(args.reference)
        sequences = train_side_sequences(args)
        root = Path(args.results_path) if args.results_path else load_settings().results / "train_side_variants"
        print(f"[tune_parameters] {len(specs)} variants + reference {reference.name} x {len(args.seeds)} seeds on "
              f"{len(sequences)} train-side sequences ({' + '.join(args.dataset_name)}); results in {root}")
        table = compare_variants(specs, reference, sequences, root, args.seeds, args.workers, args.device)
    except ValueError as err:
        parser.error(str(err))
    rows = variant_summary(table, specs, reference)
    text = format_variants_table(rows, len(sequences), args.seeds, " + ".join(args.dataset_name))
    by_set = per_set_table(table, specs, reference, {s.name: s.dataset for s in sequences})
    if by_set:
        text += "\n" + by_set
    out = Path(args.out) if args.out else root
    out.mkdir(parents=True, exist_ok=True)
    (out / "variants.md").write_text(text)
    (out / "variants.json").write_text(json.dumps({
        "sets": args.dataset_name, "sequences": [s.name for s in sequences], "seeds": args.seeds,
        "variants": rows, "per_sequence": json.loads(table.to_json(orient="index"))}, indent=1, default=repr) + "\n")
    print(text)
    print(f"[tune_parameters] wrote {out / 'variants.md'} and {out / 'variants.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
