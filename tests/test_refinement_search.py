"""The step-length search of the refining heads: grid extension (fake scorer, no tracking), train-side only,
the same boxes / T / scaled steps for every head, weights from another folder."""
from pathlib import Path

import pytest

from pytracking.evaluation.refinement_search import (FAIR_NUM_BOXES, FAIR_NUM_ITER, StepVariant, WeightsSource,
                                                      base_step_length, check_train_side, format_table, next_scales,
                                                      search_grid, select_sequences)
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.atom.settings import ATOMSettings, RefinementSettings
from pytracking.tune_refinement import main as tune_main


def _fake_evaluate(peaks, calls):
    """Score = -|log2(scale / peak)| per head: a single optimum at ``peaks[head]``."""
    import math

    def evaluate(pending):
        calls.append({h: sorted(s) for h, s in pending.items()})
        return {h: {s: -abs(math.log2(s / peaks[h])) for s in new} for h, new in pending.items()}
    return evaluate


def test_grid_extends_downward_until_the_best_is_not_the_lowest():
    calls = []
    searches = search_grid({"a": (1.0,), "b": (2.0, 4.0)}, [0.25, 0.5, 1, 2], _fake_evaluate({"a": 0.03, "b": 0.5}, calls))
    a, b = searches["a"], searches["b"]
    # a: optimum 0.03 below the grid: 0.125, 0.0625, 0.03125 added, then 0.015625 shows 0.03125 is the best
    assert sorted(a.scores) == [0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2]
    assert a.best == 0.03125 and not a.at_edge
    assert a.chosen_steps == (0.03125,)
    # b: optimum inside the grid: nothing added
    assert sorted(b.scores) == [0.25, 0.5, 1, 2] and b.best == 0.5 and b.chosen_steps == (1.0, 2.0)
    assert calls[0] == {"a": [0.25, 0.5, 1, 2], "b": [0.25, 0.5, 1, 2]}
    assert calls[1:] == [{"a": [0.125]}, {"a": [0.0625]}, {"a": [0.03125]}, {"a": [0.015625]}]
    assert "**" in format_table(searches, 3, [0])


def test_grid_extension_is_bounded_and_also_goes_up():
    calls = []
    searches = search_grid({"low": (1.0,), "high": (1.0,)}, [0.5, 1], _fake_evaluate({"low": 1e-6, "high": 64}, calls),
                           max_extensions=2)
    assert sorted(searches["low"].scores) == [0.125, 0.25, 0.5, 1] and searches["low"].at_edge
    assert sorted(searches["high"].scores) == [0.5, 1, 2, 4] and searches["high"].at_edge
    assert "(grid edge)" in format_table(searches, 1, [0])
    # ties go to the smaller multiplier; a one-point grid only extends down
    assert next_scales({1.0: 5.0, 2.0: 5.0}, 4, (0, 0)) == [0.5]
    assert next_scales({1.0: 5.0}, 4, (0, 0)) == [0.5]
    assert next_scales({1.0: 5.0, 2.0: 1.0}, 4, (4, 0)) == []


@pytest.mark.parametrize("dataset, split, message", [
    ("demo", "test", "never tuned on"), ("validation", "train", "report-only"), ("lasot", "train", "train-side sets only"), ("wide_train", "test", "never tuned on")])
def test_search_refuses_test_split_and_validation(dataset, split, message, capsys):
    with pytest.raises(ValueError, match=message):
        check_train_side(dataset, split)
    with pytest.raises(SystemExit):
        tune_main(["--dataset_name", dataset, "--split", split])
    assert message in capsys.readouterr().err


def test_step_variant_sets_the_fair_refinement(tmp_path):
    base = base_step_length(Tracker("atom", "iou").get_parameters(device="cpu"))
    assert base == (0.2,) * 4
    variant = StepVariant("iou", 0.25, 1, WeightsSource(tmp_path), tmp_path / "res")
    params = variant.get_parameters(device="cpu")
    assert params.box_refinement_step_length == pytest.approx((0.05,) * 4)
    # every head runs default's T (the settings' default) and 10 boxes
    assert params.box_refinement_iter == FAIR_NUM_ITER == RefinementSettings().num_iter
    assert params.box_refinement_num_boxes == FAIR_NUM_BOXES == 10
    assert params.net_path == str(tmp_path / "atom_iou_effnet.pth")
    assert params.seed == 1
    assert variant.results_dir == tmp_path / "res" / WeightsSource(tmp_path).tag / "atom" / f"iou_x0.25_0.05_0.05_0.05_0.05_T{FAIR_NUM_ITER}_001"
    shipped = StepVariant("default", 2, 0, WeightsSource(), tmp_path).get_parameters(device="cpu")
    assert shipped.box_refinement_step_length == pytest.approx((8e-4, 8e-4, 4e-3, 4e-3))   # default's (paper x 2) x 2
    assert Path(shipped.net_path).parent.name == "networks"
    # the iou file runs the comparison's T (default's); ATOM's T = 5 is iou_atom
    iou_settings = ATOMSettings.from_params(Tracker("atom", "iou").get_parameters(device="cpu"))
    assert iou_settings.refinement.num_iter == FAIR_NUM_ITER
    assert Tracker("atom", "iou_atom").get_parameters(device="cpu").box_refinement_iter == 5
    for param, message in (("gauss", "regression head"), ("no_refine", "does not refine")):
        with pytest.raises(ValueError, match=message):
            base_step_length(Tracker("atom", param).get_parameters(device="cpu"))


def test_results_folder_follows_the_absolute_steps(tmp_path, monkeypatch):
    """A resumed search after the file's own steps changed must not read results made with the old steps under the
    same multiplier, nor results made with another T (the folder names the absolute step vector and T)."""
    from pytracking.evaluation import refinement_search

    before = StepVariant("default", 2, 0, WeightsSource(), tmp_path).results_dir
    monkeypatch.setattr(refinement_search, "base_step_length", lambda params: (1e-4, 1e-4, 5e-4, 5e-4))
    after = StepVariant("default", 2, 0, WeightsSource(), tmp_path)
    assert after.results_dir != before
    assert after.results_dir.name == f"default_x2_0.0002_0.0002_0.001_0.001_T{FAIR_NUM_ITER}_000"
    assert after.get_parameters(device="cpu").box_refinement_step_length == pytest.approx((2e-4, 2e-4, 1e-3, 1e-3))
    monkeypatch.setattr(refinement_search, "FAIR_NUM_ITER", 10)
    assert StepVariant("default", 2, 0, WeightsSource(), tmp_path).results_dir.name.endswith("_T10_000")


def test_sequence_selection():
    class Seq:
        def __init__(self, name):
            self.name = name
    seqs = [Seq(n) for n in ("d", "a", "c", "b", "e")]
    assert [s.name for s in select_sequences(seqs, "every_other")] == ["a", "c", "e"]
    assert [s.name for s in select_sequences(seqs, "other_half")] == ["b", "d"]   # the rest, never searched on
    assert [s.name for s in select_sequences(seqs, "all", 2)] == ["a", "b"]
    with pytest.raises(ValueError, match="--sequences"):
        select_sequences(seqs, "some")
