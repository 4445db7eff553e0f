"""Robustness: broken annotation files in a LaSOT fixture, for training and for evaluation.

Damage: the last line cut in the middle of a number (and no final newline), fewer ground-truth rows
than frames and vice versa, flag files of the wrong length, NaN and negative boxes, sequences
without frames, empty ``groundtruth.txt``.

Training (``ltr.dataset.Lasot`` + ``PairSampler``): each problem is warned about naming the file
(and line), and a bad frame is never returned as a target.
Evaluation (``pytracking.evaluation``): an unusable file is a ``ValueError`` naming it; NaN or
negative ground-truth rows are excluded from scoring, the same way for every tracker.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from fixtures_layouts import make_lasot, replace_line, write_boxes
from ltr.data.sampler import PairSampler
from ltr.dataset import DatasetWarning, Lasot

N_FRAMES = 6


def _truncate_last_line(path: Path) -> str:
    """Rewrite the last row with decimals and cut it in the middle of its third number (no newline)."""
    lines = path.read_text().splitlines()
    lines[-1] = "7.25,7.5,8.125,6.375"
    cut = "7.25,7.5,8.1"
    path.write_text("\n".join(lines[:-1] + [cut]))
    return cut


def _damaged_lasot(root: Path) -> dict[str, Path]:
    """Sequences: one good, and one per kind of damage. Returns name -> groundtruth.txt."""
    names = ("good-1", "truncated-1", "shortgt-1", "longgt-1", "nanneg-1", "noframes-1", "emptygt-1")
    written = make_lasot(root, sequences=names, n_frames=N_FRAMES)
    gt = {n: written[n].directory / "groundtruth.txt" for n in names}
    _truncate_last_line(gt["truncated-1"])
    write_boxes(gt["shortgt-1"], written["shortgt-1"].boxes[:4])           # 4 rows, 6 frames, 6 flags
    write_boxes(gt["longgt-1"], np.concatenate([written["longgt-1"].boxes, written["longgt-1"].boxes[:2]]))
    replace_line(gt["nanneg-1"], 2, "NaN,NaN,NaN,NaN")
    replace_line(gt["nanneg-1"], 3, "3,3,-8,6")
    replace_line(gt["nanneg-1"], 4, "4,4,8,0")
    for frame in written["noframes-1"].frame_paths:
        frame.unlink()
    gt["emptygt-1"].write_text("")
    return gt


# ----------------------------------------------------------------------------------------------- training
def _warnings_of(dataset: Lasot, seq_name: str) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = dataset.get_sequence_info(dataset.sequence_list.index(seq_name))
    return info, [str(w.message) for w in caught if issubclass(w.category, DatasetWarning)]


@pytest.fixture()
def training_set(tmp_path):
    gt = _damaged_lasot(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = Lasot(root=tmp_path, split=None)
    return dataset, gt


def test_training_truncated_last_line_is_invalid_and_named(training_set):
    dataset, gt = training_set
    info, messages = _warnings_of(dataset, "truncated-1")
    assert info["bbox"].shape == (N_FRAMES, 4)
    assert info["valid"].tolist() == [True] * 5 + [False]
    assert not info["visible"][-1]
    assert any(str(gt["truncated-1"]) in m and "line 6" in m for m in messages), messages


def test_training_row_count_mismatch_is_warned_and_bounded(training_set):
    dataset, gt = training_set
    info, messages = _warnings_of(dataset, "shortgt-1")
    assert info["bbox"].shape == (4, 4)                  # the length is the ground truth's
    occlusion = gt["shortgt-1"].parent / "full_occlusion.txt"
    assert any(str(occlusion) in m and "6 values for 4 frames" in m for m in messages), messages
    info, messages = _warnings_of(dataset, "longgt-1")
    assert info["bbox"].shape == (N_FRAMES + 2, 4)
    assert not info["visible"][N_FRAMES:].any()           # rows without flags are not targets
    assert any("out_of_view.txt" in m or "full_occlusion.txt" in m for m in messages), messages


def test_training_nan_and_negative_boxes_are_invalid_and_named(training_set):
    dataset, gt = training_set
    info, messages = _warnings_of(dataset, "nanneg-1")
    assert info["valid"].tolist() == [True, False, False, False, True, True]
    assert info["visible"].tolist() == [True, False, False, False, True, True]
    assert any(str(gt["nanneg-1"]) in m and "lines 3, 4" in m for m in messages), messages


def test_training_empty_groundtruth_is_warned_as_empty_sequence(training_set):
    dataset, gt = training_set
    info, messages = _warnings_of(dataset, "emptygt-1")
    assert info["bbox"].shape == (0, 4) and info["visible"].numel() == 0
    assert any("emptygt-1" in m and "no visible frame" in m for m in messages), messages


def test_training_sampler_never_returns_a_bad_target(training_set):
    dataset, gt = training_set
    bad_frames = {  # (sequence, 0-based frame) that must never be a target
        ("truncated-1", 5), ("nanneg-1", 1), ("nanneg-1", 2), ("nanneg-1", 3),
        ("longgt-1", 6), ("longgt-1", 7)}
    sampler = PairSampler([dataset], None, samples_per_epoch=60, max_gap=3, seed=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [sampler[i] for i in range(len(sampler))]
    seen = set()
    for item in items:
        name = dataset.sequence_list[item["sequence"]]
        seen.add(name)
        assert name not in ("emptygt-1", "noframes-1"), name
        for frame_id in item["frame_ids"]:
            assert (name, frame_id) not in bad_frames, (name, frame_id)
        for box in item["train_boxes"] + item["test_boxes"]:
            assert np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0, (name, box)
    assert {"good-1", "truncated-1", "nanneg-1"} <= seen   # damaged sequences still give their good frames
    frame_dir = gt["noframes-1"].parent / "img"
    messages = [str(w.message) for w in caught]
    assert sampler.read_errors >= 1 and any(str(frame_dir) in m for m in messages), messages


# ----------------------------------------------------------------------------------------------- evaluation
@pytest.fixture()
def eval_root(tmp_path):
    root = tmp_path / "data"
    return root, _damaged_lasot(root)


def _folder(root: Path):
    from pytracking.evaluation.folderdataset import FolderDataset
    return FolderDataset(root)


def test_evaluation_truncated_last_line_names_file_and_line(eval_root):
    root, gt = eval_root
    with pytest.raises(ValueError, match=f"{gt['truncated-1']}:6"):
        _folder(root).load_sequence("truncated-1")


def test_evaluation_row_count_mismatch(eval_root):
    root, gt = eval_root
    seq = _folder(root).load_sequence("shortgt-1")       # LaSOT rule: the length is the ground truth's
    assert len(seq) == 4 and seq.frames[-1].endswith("00000004.jpg")
    with pytest.raises(ValueError, match=str(gt["longgt-1"].parent / "img")):
        _folder(root).load_sequence("longgt-1")           # 8 rows, 6 images


def test_evaluation_sequence_without_frames_names_folder(eval_root):
    root, gt = eval_root
    with pytest.raises(ValueError, match=str(gt["noframes-1"].parent / "img")):
        _folder(root).load_sequence("noframes-1")


def test_evaluation_empty_groundtruth_names_file(eval_root):
    root, gt = eval_root
    with pytest.raises(ValueError, match=str(gt["emptygt-1"])):
        _folder(root).load_sequence("emptygt-1")


def test_evaluation_bad_first_box_names_file(eval_root):
    root, gt = eval_root
    replace_line(gt["good-1"], 1, "NaN,NaN,NaN,NaN")
    with pytest.raises(ValueError, match=str(gt["good-1"])):
        _folder(root).load_sequence("good-1")
    replace_line(gt["good-1"], 1, "2,2,-8,6")
    with pytest.raises(ValueError, match=str(gt["good-1"])):
        _folder(root).load_sequence("good-1")


def test_lasot_evaluation_dataset_names_broken_file(tmp_path):
    from pytracking.evaluation.lasotdataset import LaSOTDataset
    written = make_lasot(tmp_path, sequences=("airplane-1", "basketball-1"), n_frames=N_FRAMES)
    gt = written["airplane-1"].directory / "groundtruth.txt"
    _truncate_last_line(gt)
    with pytest.raises(ValueError, match=f"{gt}:6"):
        LaSOTDataset(tmp_path).load_sequence("airplane-1")
    empty = written["basketball-1"].directory / "groundtruth.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match=str(empty)):
        LaSOTDataset(tmp_path).load_sequence("basketball-1")


def test_analysis_excludes_nan_and_negative_rows_for_every_tracker(eval_root, tmp_path):
    """Frames whose ground truth is NaN or has w/h <= 0 are not scored, whatever the tracker output there:
    two trackers that differ only on those frames get identical scores, equal to scoring without them."""
    from pytracking.analysis.evaluate import evaluate_run
    from pytracking.analysis.metrics import sequence_curves
    from pytracking.evaluation.results_io import results_paths, write_boxes as write_results, write_times
    root, gt = eval_root
    dataset = _folder(root)
    seqs = dataset.get_sequence_list(["good-1", "nanneg-1"])
    nanneg = seqs[1]
    assert nanneg.valid_mask().tolist() == [True, False, False, False, True, True]
    rng = np.random.default_rng(0)
    runs = {}
    for tracker, bad_value in (("a", 1.0), ("b", 500.0)):
        run_dir = tmp_path / "results" / tracker
        for seq in seqs:
            pred = seq.ground_truth_rect.copy()
            pred[~np.isfinite(pred)] = 5.0
            pred = np.abs(pred) + rng.uniform(0, 1.5, pred.shape) * (seq.name == "good-1")
            if seq.name == "nanneg-1":
                pred[1:4] = bad_value  # only where the ground truth is unusable
            box_file, time_file = results_paths(run_dir, seq.name)
            write_results(box_file, pred)
            write_times(time_file, np.full(len(seq), 0.01))
        runs[tracker] = evaluate_run(run_dir, seqs)
    a, b = runs["a"].curves["nanneg-1"], runs["b"].curves["nanneg-1"]
    assert a.num_scored == b.num_scored == 3
    np.testing.assert_array_equal(a.success, b.success)
    np.testing.assert_array_equal(a.precision, b.precision)
    keep = np.array([0, 4, 5])
    pred = np.asarray(nanneg.ground_truth_rect)[keep]
    direct = sequence_curves(pred, nanneg.ground_truth_rect[keep])
    np.testing.assert_array_equal(a.success, direct.success)
    assert not runs["a"].missing and not runs["b"].missing
    assert torch.isfinite(torch.as_tensor(a.success)).all()


def test_run_tracker_cli_tracks_the_good_sequences_and_names_each_broken_file(eval_root, tmp_path, capsys):
    """Bad annotations (garbage, wrong column count, negative first box, empty file, more rows than
    frames, ...) do not stop the run: every good sequence is tracked and saved, each bad one gets one
    line naming its file (and line where there is one), and the exit status is 1."""
    from pytracking import run_tracker
    root, gt = eval_root
    extra = make_lasot(root, sequences=("garbage-1", "columns-1", "negfirst-1"), n_frames=N_FRAMES)
    for name in extra:
        gt[name] = extra[name].directory / "groundtruth.txt"
    gt["garbage-1"].write_text("this is not\na box file\n")
    replace_line(gt["columns-1"], 3, "1,2,3")
    replace_line(gt["negfirst-1"], 1, "-5,-5,-10,8")
    results = tmp_path / "results"
    argv = ["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(root), "--results_path", str(results)]
    assert run_tracker.main(argv) == 1
    out = capsys.readouterr()
    run_dir = results / "folder" / "opencv" / "kcf"
    broken = {"truncated-1": ":6", "longgt-1": None, "noframes-1": None, "emptygt-1": None, "garbage-1": ":1",
              "columns-1": ":3", "negfirst-1": None}
    for name in ("good-1", "shortgt-1", "nanneg-1"):
        assert (run_dir / f"{name}.txt").is_file(), out.err
    skipped = [line for line in out.err.splitlines() if line.startswith("[run] SKIPPED")]
    assert len(skipped) == len(broken), out.err
    for name, line_ref in broken.items():
        (line,) = [s for s in skipped if s.startswith(f"[run] SKIPPED {name}:")]
        assert str(gt[name].parent) in line, line
        if line_ref is not None:
            assert f"{gt[name]}{line_ref}" in line, line
        assert not (run_dir / f"{name}.txt").exists()
    assert "Traceback" not in out.err
