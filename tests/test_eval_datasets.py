"""Evaluation datasets in the official layouts (tiny fixtures written by the tests)."""
from pathlib import Path

import numpy as np
import pytest

from ltr.admin.local_settings import SettingsError
from pytracking.evaluation import get_dataset
from pytracking.evaluation.dataset_base import list_images
from pytracking.evaluation.datasets import get_dataset_object
from pytracking.evaluation.lasotdataset import lasot_test_names
from pytracking.evaluation.uavdataset import UAV_ATTRIBUTES, UAVDataset, uav_sequence_specs
from tests.fixtures_layouts import make_got10k, make_lasot, make_trackingnet, make_uav123, write_boxes, write_settings


def test_uav123_protocol_table():
    specs = uav_sequence_specs()
    assert len(specs) == 123
    assert sum(s.num_frames for s in specs) == 112_578
    assert len({s.folder for s in specs}) == 91
    bird = {s.name: (s.start_frame, s.end_frame) for s in specs if s.folder == "bird1"}
    assert bird == {"uav_bird1_1": (1, 253), "uav_bird1_2": (775, 1477), "uav_bird1_3": (1573, 2437)}
    assert len(lasot_test_names()) == 280 and lasot_test_names()[:2] == ["airplane-1", "airplane-9"]


def test_uav_real_table_frame_paths_and_nan_rows(tmp_path):
    # annotation files only (frames are paths, never read here)
    anno = tmp_path / "anno" / "UAV123"
    for name, n in (("bird1_1", 253), ("bird1_2", 703)):
        boxes = np.tile([10.0, 20.0, 30.0, 40.0], (n, 1))
        boxes[5] = np.nan
        write_boxes(anno / f"{name}.txt", boxes)
    (anno / "att").mkdir()
    (anno / "att" / "bird1_2.txt").write_text("1,0,0,1,0,0,0,0,0,0,1,0\n")
    seqs = get_dataset("uav", tmp_path, sequences=["uav_bird1_1", "uav_bird1_2"])
    first, second = seqs
    assert len(first) == 253 and Path(first.frames[-1]).name == "000253.jpg"
    assert Path(second.frames[0]).name == "000775.jpg" and Path(second.frames[-1]).name == "001477.jpg"
    assert Path(second.frames[0]).parent == tmp_path / "data_seq" / "UAV123" / "bird1"
    assert np.isnan(second.ground_truth_rect[5]).all() and not second.valid_mask()[5] and second.valid_mask().sum() == 702
    assert first.attributes is None
    assert second.attributes == {a: a in ("SV", "FM", "CM") for a in UAV_ATTRIBUTES}
    assert second.object_class == "bird"


def test_uav_split_folder_shares_boundary_frame(tmp_path):
    rows = [("uav_bird1_1", "bird1", 1, 4), ("uav_bird1_2", "bird1", 4, 7), ("uav_bird1_3", "bird1", 9, 11)]
    written = make_uav123(tmp_path, rows, nan_frames={"uav_bird1_2": [2]})
    spec = tmp_path / "spec.csv"
    spec.write_text("name,folder,start_frame,end_frame,nz,ext,object_class,anno\n" + "".join(
        f"{n},{f},{a},{b},6,jpg,bird,anno/UAV123/{n[4:]}.txt\n" for n, f, a, b in rows))
    seqs = UAVDataset(tmp_path, spec_file=spec).get_sequence_list()
    assert [len(s) for s in seqs] == [4, 4, 3]
    assert seqs[0].frames[-1] == seqs[1].frames[0]            # shared boundary frame 000004.jpg
    assert Path(seqs[2].frames[0]).name == "000009.jpg"       # gap 8 never evaluated
    for s in seqs:
        np.testing.assert_allclose(s.ground_truth_rect, written[s.name].boxes)
        assert [Path(f) for f in s.frames] == written[s.name].frame_paths
    assert seqs[1].valid_mask().tolist() == [True, True, False, True]


def test_uav_annotation_row_count_is_checked(tmp_path):
    write_boxes(tmp_path / "anno" / "UAV123" / "uav6.txt", np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"uav6.txt: 5 rows, the protocol says 109"):
        get_dataset("uav", tmp_path, sequences=["uav_uav6"])


def test_lasot_visibility_and_length_from_groundtruth(tmp_path):
    make_lasot(tmp_path, sequences=("airplane-1", "airplane-9"), n_frames=6,
               occluded={"airplane-1": [2]}, out_of_view={"airplane-1": [4], "airplane-9": [1]})
    ds = get_dataset_object("lasot", tmp_path)
    assert len(ds.sequence_names()) == 280
    a1, a9 = ds.get_sequence_list(["airplane-1", "airplane-9"])
    assert a1.target_visible.tolist() == [True, True, False, True, False, True]
    assert a9.target_visible.tolist() == [True, False, True, True, True, True]
    assert a1.object_class == "airplane" and Path(a1.frames[0]).name == "00000001.jpg"
    # an extra image beyond the ground truth (monkey-17 case) does not lengthen the sequence
    (tmp_path / "airplane" / "airplane-1" / "img" / "00000007.jpg").write_bytes(b"x")
    assert len(ds.load_sequence("airplane-1")) == 6


def test_trackingnet_test_numeric_order_and_first_box_only(tmp_path):
    written = make_trackingnet(tmp_path, chunks=(), videos_per_chunk=2, n_frames=12, test=True)
    seqs = get_dataset("trackingnet", tmp_path)
    assert [s.name for s in seqs] == sorted(k.split("/")[1] for k in written)
    seq = seqs[0]
    assert [Path(f).name for f in seq.frames] == [f"{i}.jpg" for i in range(12)]
    np.testing.assert_allclose(seq.ground_truth_rect[0], written[f"TEST/{seq.name}"].boxes[0])
    assert np.isnan(seq.ground_truth_rect[1:]).all() and not seq.has_full_ground_truth()


def test_got10k_val_visibility_and_test_first_frame(tmp_path):
    make_got10k(tmp_path, split="val", n_sequences=2, n_frames=5, absent={"GOT-10k_Val_000001": [1]},
                cover={"GOT-10k_Val_000002": [8, 8, 0, 3, 8]})
    make_got10k(tmp_path, split="test", n_sequences=1, n_frames=4)
    v1, v2 = get_dataset("got10k_val", tmp_path)
    assert v1.target_visible.tolist() == [True, False, True, True, True]
    assert v2.target_visible.tolist() == [True, True, False, True, True]
    assert v1.object_class == "zebra"
    (t1,) = get_dataset("got10k_test", tmp_path)
    assert len(t1) == 4 and np.isnan(t1.ground_truth_rect[1:]).all()


def test_otb_comma_or_whitespace(tmp_path):
    for name, sep in (("Basketball", ","), ("Car4", "\t")):
        img = tmp_path / name / "img"
        img.mkdir(parents=True)
        for i in range(1, 13):
            (img / f"{i:04d}.jpg").write_bytes(b"x")
        (tmp_path / name / "groundtruth_rect.txt").write_text("".join(f"{i}{sep}2{sep}30{sep}40\n" for i in range(11)))
    seqs = get_dataset("otb", tmp_path)
    assert [s.name for s in seqs] == ["Basketball", "Car4"]
    assert len(seqs[1]) == 11 and Path(seqs[1].frames[9]).name == "0010.jpg"
    assert seqs[1].ground_truth_rect[3].tolist() == [3, 2, 30, 40]


def test_folder_dataset_split_file_and_demo_from_settings(tmp_path, monkeypatch):
    root = tmp_path / "demo"
    make_lasot(root, sequences=("cat-1", "cat-2", "dog-1"), n_frames=4, occluded={"cat-2": [3]})
    (root / "train.txt").write_text("cat-1\n")
    (root / "test.txt").write_text("dog-1\ncat-2\n")
    everything = get_dataset("folder", root)
    assert [s.name for s in everything] == ["cat-1", "cat-2", "dog-1"]
    test = get_dataset("folder", root, split="test")
    assert [s.name for s in test] == ["dog-1", "cat-2"]
    assert test[1].target_visible.tolist() == [True, True, True, False] and test[1].object_class == "cat"
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(write_settings(tmp_path / "s.toml", {"demo": root, "uav": ""})))
    assert [s.name for s in get_dataset("demo")] == ["dog-1", "cat-2"]
    with pytest.raises(SettingsError, match=r"'uav' is not set.*s\.toml"):
        get_dataset("uav")


def test_folder_dataset_got10k_layout_and_bad_name(tmp_path):
    make_got10k(tmp_path, split="val", n_sequences=1, n_frames=3, absent={"GOT-10k_Val_000001": [2]})
    (seq,) = get_dataset("folder", tmp_path)
    assert seq.target_visible.tolist() == [True, True, False] and len(seq) == 3
    with pytest.raises(ValueError, match="dataset_name"):
        get_dataset("nope", tmp_path)
    with pytest.raises(ValueError, match="sequence"):
        get_dataset("folder", tmp_path, sequences=["missing"])


def test_list_images_sorts_numerically(tmp_path):
    for i in (0, 1, 2, 10, 11, 100):
        (tmp_path / f"{i}.jpg").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["0.jpg", "1.jpg", "2.jpg", "10.jpg", "11.jpg", "100.jpg"]
