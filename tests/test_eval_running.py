"""Running trackers: results round trip, resume, error isolation, sharding, CLIs."""
import re

import numpy as np
import pytest

from pytracking.evaluation import Sequence, Tracker, run_dataset, shard_sequences
from pytracking.evaluation.results_io import read_boxes, read_times, write_boxes
from pytracking.evaluation.running import parse_shard, result_is_complete
from pytracking.run_tracker import main as run_tracker_main
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils.params import TrackerParams
from tests.fixtures_layouts import default_boxes, draw_frame, make_lasot, write_image


class ShiftTracker(BaseTracker):
    """Moves the box by +1 px in x per frame; raises on 17-pixel-wide images. Counts its runs."""

    initialised = 0

    def _initialize(self, image, info):
        if image.shape[1] == 17:
            raise RuntimeError("boom on a 17 px wide image")
        ShiftTracker.initialised += 1
        self.box = np.array(info["init_bbox"], float)
        return {}

    def _track(self, image, info):
        self.box[0] += 1.0
        return {"target_bbox": self.box.tolist(), "flag": "normal"}


def make_sequences(tmp_path, widths=(32, 32, 17, 32)):
    seqs = []
    for k, width in enumerate(widths):
        boxes = default_boxes(4, (width, 24))
        frames = [write_image(tmp_path / f"seq{k}" / f"{i}.png", draw_frame(b, i, (width, 24)))
                  for i, b in enumerate(boxes)]
        seqs.append(Sequence(f"seq{k}", [str(f) for f in frames], boxes))
    return seqs


@pytest.fixture
def shift_tracker(monkeypatch, tmp_path):
    monkeypatch.setattr(Tracker, "get_tracker_class", lambda self: ShiftTracker)
    monkeypatch.setattr(Tracker, "get_parameters", lambda self, debug=None, device=None: TrackerParams(debug=0))
    ShiftTracker.initialised = 0
    return Tracker("opencv", "kcf", run_id=3, results_root=tmp_path / "results")


def test_results_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    boxes = rng.random((7, 4)) * 1000
    boxes[2] = [1e-7, 123456789.123, 0.1, 1 / 3]
    write_boxes(tmp_path / "r.txt", boxes)
    np.testing.assert_array_equal(read_boxes(tmp_path / "r.txt"), boxes)
    first = (tmp_path / "r.txt").read_text().splitlines()[0]
    assert first.count(",") == 3 and "." in first
    assert not list(tmp_path.glob(".*tmp*"))


def test_run_dataset_isolates_failure_and_writes_results(tmp_path, shift_tracker):
    seqs = make_sequences(tmp_path)
    report = run_dataset(seqs, [shift_tracker])
    assert shift_tracker.results_dir == tmp_path / "results" / "opencv" / "kcf_003"
    assert list(report.failed) == ["opencv/kcf_003:seq2"] and "boom" in report.failed["opencv/kcf_003:seq2"]
    assert sorted(report.finished) == ["opencv/kcf_003:seq0", "opencv/kcf_003:seq1", "opencv/kcf_003:seq3"]
    out = read_boxes(shift_tracker.results_dir / "seq0.txt")
    np.testing.assert_allclose(out[0], seqs[0].ground_truth_rect[0])          # frame 0 = init box
    np.testing.assert_allclose(out[3, 0], seqs[0].ground_truth_rect[0, 0] + 3)
    assert read_times(shift_tracker.results_dir / "seq0_time.txt").shape == (4,)
    assert not (shift_tracker.results_dir / "seq2.txt").exists()


def test_torch_threads_apply_in_process_and_are_restored(tmp_path, shift_tracker, monkeypatch):
    import torch

    seen = []
    track = ShiftTracker._track
    monkeypatch.setattr(ShiftTracker, "_track", lambda self, image, info: (seen.append(torch.get_num_threads()),
                                                                           track(self, image, info))[1])
    before = torch.get_num_threads()
    run_dataset(make_sequences(tmp_path, widths=(32,)), [shift_tracker], torch_threads=1)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="torch_threads must be >= 1, got 0"):
        run_dataset([], [shift_tracker], torch_threads=0)


def test_resume_skips_finished_and_redoes_partial(tmp_path, shift_tracker):
    seqs = make_sequences(tmp_path, widths=(32, 32, 32))
    run_dataset(seqs, [shift_tracker])
    assert ShiftTracker.initialised == 3
    d = shift_tracker.results_dir
    full = (d / "seq1.txt").read_text()
    (d / "seq1.txt").write_text("".join(full.splitlines(keepends=True)[:2]))   # a partial result
    assert not result_is_complete(d, seqs[1]) and result_is_complete(d, seqs[0])
    report = run_dataset(seqs, [shift_tracker])
    assert ShiftTracker.initialised == 4
    assert report.finished == ["opencv/kcf_003:seq1"] and len(report.skipped) == 2
    assert (d / "seq1.txt").read_text() == full


def test_sharding_partitions_deterministically():
    seqs = [Sequence(f"s{k}", ["a"], np.array([[0, 0, 1, 1.]])) for k in (5, 3, 9, 1, 7, 0, 2)]
    shards = [[s.name for s in shard_sequences(seqs, f"{i}/3")] for i in range(3)]
    names = sorted(s.name for s in seqs)
    assert sorted(sum(shards, [])) == names
    assert shards[0] == names[0::3] and shards[2] == names[2::3]
    assert [s.name for s in shard_sequences(list(reversed(seqs)), "1/3")] == shards[1]
    for bad in ("3/3", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_run_tracker_cli_on_folder_dataset(tmp_path, capsys):
    root = tmp_path / "data"
    make_lasot(root, sequences=("cat-1", "cat-2", "dog-1"), n_frames=4)
    (root / "test.txt").write_text("dog-1\ncat-2\n")
    results = tmp_path / "res"
    argv = ["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(root), "--split", "test",
            "--results_path", str(results), "--sequence", "1", "--device", "cpu"]
    assert run_tracker_main(argv) == 0
    assert sorted(p.name for p in (results / "folder" / "opencv" / "kcf").iterdir()) == ["cat-2.txt", "cat-2_time.txt"]
    assert read_boxes(results / "folder" / "opencv" / "kcf" / "cat-2.txt").shape == (4, 4)


@pytest.mark.parametrize("argv, message", [
    (["nosuch", "x", "--dataset_name", "folder"], "tracker_name: unknown tracker 'nosuch'; available: .*opencv"),
    (["opencv", "nosuch", "--dataset_name", "folder"], "tracker_param: unknown parameter file 'nosuch'.*csrt.*kcf"),
    (["opencv", "kcf", "--dataset_name", "folder", "--shard", "4/2"], "error: argument --shard: need n >= 1"),
    (["opencv", "kcf", "--dataset_name", "bogus"], "--dataset_name: unknown dataset 'bogus'"),
    (["opencv", "kcf"], "error: the following arguments are required: --dataset_name"),
])
def test_run_tracker_cli_bad_input(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        run_tracker_main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err.splitlines()[-1]), err       # the error line itself, not the usage


def test_worker_pool_runs_sequences(tmp_path):
    seqs = make_sequences(tmp_path, widths=(32, 32))
    tracker = Tracker("opencv", "kcf", results_root=tmp_path / "res")
    report = run_dataset(seqs, [tracker], threads=2)
    assert sorted(report.finished) == ["opencv/kcf:seq0", "opencv/kcf:seq1"] and not report.failed
    assert all(result_is_complete(tracker.results_dir, s) for s in seqs)


def test_run_number_offsets_the_seed_of_a_seeded_tracker():
    from pytracking.evaluation.tracker import Tracker

    base = Tracker("atom", "default").get_parameters().seed
    assert Tracker("atom", "default", run_id=0).get_parameters().seed == base
    assert Tracker("atom", "default", run_id=3).get_parameters().seed == base + 3
    kcf = Tracker("opencv", "kcf", run_id=3).get_parameters()
    assert kcf.get("seed", None) is None        # a tracker without a seed is left alone


@pytest.mark.parametrize("dataset, expected", [
    ("lasot", "holds no 'lasot' dataset (none of the 280 test sequences is there); expected <root>/<class>/<class>-<k>"),
    ("uav", "holds no 'uav' dataset (none of the 123 annotation files is there); expected <root>/anno/UAV123/"),
    ("demo", "holds no 'demo' dataset (sequence list {root}/test.txt does not exist); expected folders holding "
             "groundtruth.txt"),
    ("folder", "holds no 'folder' dataset (no sequence found); expected folders holding groundtruth.txt"),
    ("otb", "holds no 'otb' dataset (no sequence found); expected <root>/<Seq>/groundtruth_rect.txt"),
    ("got10k_val", "holds no 'got10k_val' dataset (sequence list {root}/val/list.txt does not exist)"),
    ("trackingnet", "{root}/TEST/anno does not exist (TrackingNet layout"),
])
def test_a_root_without_the_dataset_is_one_line_and_exit_2(tmp_path, dataset, expected, capsys):
    """An empty --dataset_path used to give a traceback (lasot, uav, demo) or 'track 0 sequences' and exit 0
    (folder, otb): now one line says what was expected there, exit status 2; analysis says the same."""
    from pytracking.analysis.__main__ import main as analysis_main
    root = tmp_path / "empty"
    root.mkdir()
    for main, argv in ((run_tracker_main, ["opencv", "kcf"]), (analysis_main, [])):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--dataset_name", dataset, "--dataset_path", str(root), "--results_path", str(tmp_path)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert expected.format(root=root) in err.splitlines()[-1], err
