"""``--compare_to``: per-sequence AUC, its difference and the harm rate, on hand-made result files.

Numbers computed by hand (21 thresholds t = k/20, success = share of scored frames with IoU > t):

sequence a-1, GT [0, 0, 10, 10] in all 4 frames (all scored):
    C: IoU 1, 1, 0.5, 0      -> AUC = (10 x 3/4 + 10 x 2/4 + 0) / 21 = 12.5 / 21
    A: IoU 0.5, 1, 1, 0.5    -> AUC = (10 x 1 + 10 x 1/2 + 0) / 21 = 15 / 21
    harm (A below C): frame 0 only (frame 1 is a tie) -> 1 of 4
sequence b-1, GT [10, 10, 20, 20], frame 2 out of view (3 scored frames):
    C: IoU 1, 1, (x), 1      -> AUC = 20 / 21
    A: IoU 1, 0.5, (0), 0.25 -> AUC = (5 x 1 + 5 x 2/3 + 10 x 1/3 + 0) / 21 = (35/3) / 21
    harm: frames 1 and 3 (frame 0 a tie, frame 2 not scored) -> 2 of 3
pooled harm: 3 of 7 frames.
"""
from __future__ import annotations

import numpy as np
import pytest

from pytracking.analysis import __main__ as analysis_cli
from pytracking.analysis.compare import HARM_TOLERANCE, MEAN_ROW, compare_to_reference, harmed_frames
from pytracking.analysis.evaluate import evaluate_tracker
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.results_io import write_boxes
from tests.fixtures_layouts import make_lasot
from tests.fixtures_layouts import write_boxes as write_gt

GT_A = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))
GT_B = np.tile([10.0, 10.0, 20.0, 20.0], (4, 1))
C_BOXES = {"a-1": [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 5, 10], [20, 20, 10, 10]],
           "b-1": [[10, 10, 20, 20]] * 4}
A_BOXES = {"a-1": [[0, 0, 5, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 5]],
           "b-1": [[10, 10, 20, 20], [10, 10, 20, 10], [0, 0, 1, 1], [10, 10, 10, 10]]}


@pytest.fixture
def hand_made(tmp_path):
    root = tmp_path / "data"
    make_lasot(root, sequences=("a-1", "b-1"), n_frames=4, out_of_view={"b-1": [2]})
    write_gt(root / "a" / "a-1" / "groundtruth.txt", GT_A)
    write_gt(root / "b" / "b-1" / "groundtruth.txt", GT_B)
    results = tmp_path / "results"
    for spec, boxes in (("trk/ref", C_BOXES), ("trk/new", A_BOXES)):
        for name, rows in boxes.items():
            write_boxes(results / spec / f"{name}.txt", np.array(rows, dtype=float))
    return root, results


def test_compare_to_numbers_by_hand(hand_made):
    root, results = hand_made
    sequences = get_dataset("folder", root)
    table = compare_to_reference(results, ["trk/new"], "trk/ref", sequences)
    auc_c = {"a-1": 100 * 12.5 / 21, "b-1": 100 * 20 / 21}
    auc_a = {"a-1": 100 * 15 / 21, "b-1": 100 * (35 / 3) / 21}
    for name in ("a-1", "b-1"):
        assert table.loc[name, "AUC trk/ref"] == pytest.approx(auc_c[name])
        assert table.loc[name, "AUC trk/new"] == pytest.approx(auc_a[name])
        assert table.loc[name, "dAUC trk/new"] == pytest.approx(auc_a[name] - auc_c[name])
    assert table.loc["a-1", "harm% trk/new"] == pytest.approx(25.0)
    assert table.loc["b-1", "harm% trk/new"] == pytest.approx(200 / 3)
    assert table.loc[MEAN_ROW, "AUC trk/new"] == pytest.approx((auc_a["a-1"] + auc_a["b-1"]) / 2)
    assert table.loc[MEAN_ROW, "dAUC trk/new"] == pytest.approx(
        (auc_a["a-1"] - auc_c["a-1"] + auc_a["b-1"] - auc_c["b-1"]) / 2)
    assert table.loc[MEAN_ROW, "harm% trk/new"] == pytest.approx(300 / 7), "pooled over frames, not 45.8 (mean of rates)"
    # the per-sequence AUC is the analysis' own
    result = evaluate_tracker(results, "trk/new", sequences)
    assert result.per_sequence_auc["b-1"] == pytest.approx(auc_a["b-1"])


def test_ties_within_tolerance_are_not_harm():
    gt = np.array([[0.0, 0.0, 10.0, 10.0]] * 3)
    ref = gt.copy()
    pred = gt + np.array([[0, 0, -1e-9, 0], [0, 0, -1.0, 0], [np.nan, 0, 0, 0]])  # IoU 1-1e-10, 0.9, 0 (invalid)
    assert harmed_frames(pred, ref, gt, np.ones(3, bool)) == (2, 3)
    assert HARM_TOLERANCE == 1e-6
    assert harmed_frames(pred, ref, gt, np.array([True, False, False])) == (0, 1)


def test_cli_prints_comparison(hand_made, capsys, tmp_path):
    root, results = hand_made
    code = analysis_cli.main(["--dataset_name", "folder", "--dataset_path", str(root), "--results_path",
                              str(results), "--trackers", "trk/new", "trk/ref", "--compare_to", "trk/ref",
                              "--csv", str(tmp_path / "out" / "r.csv")])
    assert code == 0
    out = capsys.readouterr().out
    assert "harm% trk/new" in out and "42.9" in out
    assert (tmp_path / "out" / "r_compare.csv").is_file()


def test_cli_reference_without_results_is_an_error(hand_made, capsys, tmp_path):
    root, results = hand_made
    code = analysis_cli.main(["--dataset_name", "folder", "--dataset_path", str(root), "--results_path", str(results),
                              "--trackers", "trk/new", "--compare_to", "trk/absent", "--csv", str(tmp_path / "r.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert "trk/absent" in err and "usage:" not in err     # one line after the tables, which are kept
    assert (tmp_path / "r.csv").is_file()
