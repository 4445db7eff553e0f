"""LaSOT loader on a tiny official-layout fixture."""
import numpy as np
import pytest
import torch

from fixtures_layouts import make_lasot, read_marker, replace_line, write_settings
from ltr.admin.local_settings import SettingsError
from ltr.data.image_loader import ImageReadError
from ltr.dataset import DatasetWarning, Lasot


def test_parses_boxes_visibility_and_frames(tmp_path):
    written = make_lasot(tmp_path, sequences=["cat-2", "cat-1", "rubicCube-3"], n_frames=6,
                         occluded={"cat-1": [1]}, out_of_view={"cat-1": [4]})
    ds = Lasot(tmp_path)
    assert ds.get_num_sequences() == 3 and ds.is_video_sequence()
    assert ds.sequence_list == ["cat-1", "cat-2", "rubicCube-3"]
    assert ds.warnings == []
    seq_id = ds.sequence_list.index("cat-1")
    info = ds.get_sequence_info(seq_id)
    np.testing.assert_allclose(info["bbox"].numpy(), written["cat-1"].boxes)
    assert info["valid"].all()
    assert info["visible"].tolist() == [True, False, True, True, False, True]
    frames, anno, meta = ds.get_frames(seq_id, [5, 0, 3])
    assert [read_marker(f) for f in frames] == [5, 0, 3]
    assert frames[0].shape == (24, 32, 3) and frames[0].dtype == np.uint8
    assert torch.equal(anno["bbox"][0], info["bbox"][5]) and anno["visible"][2].item() is True
    assert meta["object_class_name"] == "cat" and meta["sequence_name"] == "cat-1"
    x, y, w, h = (int(v) for v in written["cat-1"].boxes[3])
    assert frames[2][y + h // 2, x + w // 2, 0] > 200  # red rectangle at the gt box


def test_split_with_partial_download_warns_once_with_count(tmp_path):
    make_lasot(tmp_path, sequences=["airplane-2", "airplane-10", "airplane-1"], n_frames=3)
    with pytest.warns(DatasetWarning, match=r"1118 of 1120 sequences of split 'train' are missing"):
        ds = Lasot(tmp_path, split="train")
    assert ds.sequence_list == ["airplane-10", "airplane-2"]  # order of the shipped (lexicographic) list
    assert len(ds.warnings) == 1
    with pytest.warns(DatasetWarning, match="279 of 280"):
        assert Lasot(tmp_path, split="test").sequence_list == ["airplane-1"]


def test_vid_ids_selects_per_class(tmp_path):
    make_lasot(tmp_path, sequences=["cat-1", "cat-2", "dog-1", "dog-2"], n_frames=2)
    ds = Lasot(tmp_path, vid_ids=[2])
    assert ds.sequence_list == ["cat-2", "dog-2"]
    with pytest.raises(ValueError, match="split"):
        Lasot(tmp_path, split="bogus")


def test_bad_line_and_negative_box_are_invalid_and_named(tmp_path):
    written = make_lasot(tmp_path, sequences=["cat-1"], n_frames=5)
    gt = written["cat-1"].directory / "groundtruth.txt"
    replace_line(gt, 2, "a,b,c")
    replace_line(gt, 4, "3,3,-5,4")
    ds = Lasot(tmp_path)
    with pytest.warns(DatasetWarning) as record:
        info = ds.get_sequence_info(0)
    messages = [str(r.message) for r in record]
    assert any(str(gt) in m and "line 2" in m for m in messages)
    assert any(str(gt) in m and "line 4" in m and "<= 0" in m for m in messages)
    assert info["valid"].tolist() == [True, False, True, False, True]
    assert info["visible"].tolist() == [True, False, True, False, True]
    assert torch.isnan(info["bbox"][1]).all()
    assert len(ds.warnings) == 2
    ds.get_sequence_info(0)          # the same file is reported once
    assert len(ds.warnings) == 2


def test_empty_sequence_flagged_and_droppable(tmp_path):
    written = make_lasot(tmp_path, sequences=["cat-1", "cat-2"], n_frames=3, out_of_view={"cat-2": [0, 1, 2]})
    ds = Lasot(tmp_path)
    with pytest.warns(DatasetWarning, match="cat-2.*no visible frame"):
        assert not ds.get_sequence_info(1)["visible"].any()
    assert ds.drop_empty_sequences() == 1
    assert ds.sequence_list == ["cat-1"]
    assert written["cat-2"].visible.sum() == 0


def test_missing_frame_raises_image_read_error(tmp_path):
    written = make_lasot(tmp_path, sequences=["cat-1"], n_frames=3)
    written["cat-1"].frame_paths[1].unlink()
    ds = Lasot(tmp_path)
    ds.get_frames(0, [0, 2])
    with pytest.raises(ImageReadError, match="00000002.jpg"):
        ds.get_frames(0, [1])
    with pytest.raises(ValueError, match="frame_ids"):
        ds.get_frames(0, [3])
    with pytest.raises(ValueError, match="seq_id"):
        ds.get_sequence_info(5)


def test_root_from_settings_and_clear_error(tmp_path, monkeypatch):
    make_lasot(tmp_path / "lasot", sequences=["cat-1"], n_frames=2)
    settings = write_settings(tmp_path / "s.toml", {"lasot": tmp_path / "lasot"})
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    assert Lasot().get_num_sequences() == 1
    empty = write_settings(tmp_path / "empty.toml", {"lasot": ""})
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(empty))
    with pytest.raises(SettingsError) as err:
        Lasot()
    assert "'lasot'" in str(err.value) and str(empty) in str(err.value)
