"""``pytracking.tune_parameters``: variant parsing and checks, and the comparison on hand-made result files
(the numbers of ``tests/test_analysis_compare.py``: a-1 dAUC +2.5/21, b-1 dAUC (35/3 - 20)/21, pooled harm 3 of 7)."""
from __future__ import annotations

import numpy as np
import pytest

from pytracking import tune_parameters
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.parameter_variants import (ParameterVariant, VariantSpec, check_variant, compare_variants,
                                                       format_variants_table, parse_variant, per_set_table,
                                                       variant_summary)
from pytracking.evaluation.running import save_sequence_result
from test_analysis_compare import A_BOXES, C_BOXES, hand_made  # noqa: F401  (fixture)


def test_parse_variant_reads_literals_and_the_parameter_file():
    spec = parse_variant(["peak0.5", "refinement_gate=True", "gate_min_peak=0.5", "box_refinement_step_length=(1, 2)",
                          "param=gated", "device=cpu"])
    assert spec == VariantSpec("peak0.5", "gated", {"refinement_gate": True, "gate_min_peak": 0.5,
                                                    "box_refinement_step_length": (1, 2), "device": "cpu"})
    assert parse_variant(["off"]).param == "default" and parse_variant(["off"], "nce").param == "nce"
    with pytest.raises(ValueError, match="key=value"):
        parse_variant(["x", "gate_min_peak"])
    with pytest.raises(ValueError, match="name"):
        parse_variant(["../x"])


def test_digest_follows_the_settings_run(monkeypatch):
    a = VariantSpec("a", "default", {"gate_min_peak": 0.5})
    assert a.digest == VariantSpec("b", "default", {"gate_min_peak": 0.5}).digest
    assert a.digest != VariantSpec("a", "default", {"gate_min_peak": 0.4}).digest
    assert a.digest != VariantSpec("a", "gated", {"gate_min_peak": 0.5}).digest
    # a changed parameter file (here: default's T) does not reuse results made with its old values
    from pytracking.parameter.atom import default as default_file
    before = VariantSpec("off").digest
    original = default_file.parameters

    def with_t10():
        params = original()
        params.box_refinement_iter = 10
        return params
    monkeypatch.setattr(default_file, "parameters", with_t10)
    assert VariantSpec("off").digest != before


def test_an_unknown_key_or_file_names_the_variant():
    with pytest.raises(ValueError, match="peak.*gate_min_peek.*gate_min_peak"):
        check_variant(VariantSpec("peak", "default", {"gate_min_peek": 0.5}))
    with pytest.raises(ValueError, match="bad.*unknown parameter file"):
        check_variant(VariantSpec("bad", "no_such_file"))
    check_variant(VariantSpec("ok", "default", {"refinement_gate": True, "gate_min_peak": 0.5}))


def test_compare_variants_on_hand_made_results(hand_made, tmp_path):  # noqa: F811
    root, _ = hand_made
    sequences = get_dataset("folder", root)
    reference, new = VariantSpec("no_refine", "no_refine"), VariantSpec("new", "default", {"gate_min_peak": 0.5})
    results = tmp_path / "variants"
    for spec, boxes in ((reference, C_BOXES), (new, A_BOXES)):
        run_dir = ParameterVariant(spec, 0, results).results_dir
        for name, rows in boxes.items():     # finished results: compare_variants runs nothing
            save_sequence_result(run_dir, name, {"target_bbox": np.array(rows, float), "time": np.zeros(len(rows))})
    table = compare_variants([new], reference, sequences, results, seeds=[0])
    rows = variant_summary(table, [new], reference)
    assert rows[0]["variant"] == "no_refine"
    assert rows[1]["dauc"] == pytest.approx(100 * (2.5 / 21 + (35 / 3 - 20) / 21) / 2)
    assert rows[1]["harm"] == pytest.approx(100 * 3 / 7)
    assert rows[1]["ruined"] == 1 and rows[1]["worst"] == "b-1"
    assert rows[1]["worst_dauc"] == pytest.approx(100 * (35 / 3 - 20) / 21)
    text = format_variants_table(rows, len(sequences), [0], "folder")
    assert "| new | `default` gate_min_peak=0.5 |" in text and "b-1 (-39.7)" in text
    # per set: each set here holds one sequence, so its cells are that sequence's AUC and harm
    by_set = per_set_table(table, [new], reference, {"a-1": "x", "b-1": "y"})
    lines = by_set.splitlines()
    assert lines[2] == "| variant | x (1) | y (1) |"
    auc_new_b = table.loc["b-1", f"AUC {new.label}"]
    assert f"{auc_new_b:.2f} ({table.loc['b-1', f'harm% {new.label}']:.1f})" in lines[5]
    assert lines[4].startswith("| no_refine | ") and "(" not in lines[4]      # the reference has no harm
    assert per_set_table(table, [new], reference, {"a-1": "x", "b-1": "x"}) == ""


def test_the_cli_refuses_report_only_data(capsys):
    with pytest.raises(SystemExit):
        tune_parameters.main(["--variant", "off", "--dataset_name", "validation"])
    assert "report-only" in capsys.readouterr().err


def test_the_cli_writes_the_table_and_the_json(hand_made, tmp_path, monkeypatch):  # noqa: F811
    import json

    root, _ = hand_made
    sequences = get_dataset("folder", root)
    monkeypatch.setattr(tune_parameters, "train_side_sequences", lambda args: sequences)
    results, out = tmp_path / "variants", tmp_path / "out"
    new = parse_variant(["new", "gate_min_peak=0.5"])
    for spec, boxes in ((VariantSpec("no_refine", "no_refine"), C_BOXES), (new, A_BOXES)):
        run_dir = ParameterVariant(spec, 0, results).results_dir
        for name, rows in boxes.items():     # finished results: the CLI only scores them
            save_sequence_result(run_dir, name, {"target_bbox": np.array(rows, float), "time": np.zeros(len(rows))})
    assert tune_parameters.main(["--variant", "new", "gate_min_peak=0.5", "--results_path", str(results),
                                 "--out", str(out)]) == 0
    written = json.loads((out / "variants.json").read_text())
    assert [row["variant"] for row in written["variants"]] == ["no_refine", "new"]
    assert written["variants"][1]["harm"] == pytest.approx(100 * 3 / 7)
    assert "| new | `default` gate_min_peak=0.5 |" in (out / "variants.md").read_text()


def test_the_reference_takes_overrides_like_a_variant():
    plain = tune_parameters.reference_spec(["no_refine"])
    assert (plain.name, plain.param, dict(plain.overrides)) == ("no_refine", "no_refine", {})
    moving = tune_parameters.reference_spec(["nr_motion", "param=no_refine", "velocity_weight=0.5"])
    assert (moving.name, moving.param, dict(moving.overrides)) == ("nr_motion", "no_refine", {"velocity_weight": 0.5})
    # another results folder than the plain reference's: its settings differ
    assert moving.label != plain.label and moving.label.startswith("atom/nr_motion-")
    args = tune_parameters.build_parser().parse_args(["--variant", "a", "--reference", "nr", "param=no_refine"])
    assert tune_parameters.reference_spec(args.reference).param == "no_refine"
