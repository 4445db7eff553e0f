"""COCO as one-frame sequences, parsed with the stdlib json module."""
import numpy as np
import pytest

from fixtures_layouts import make_coco, write_settings
from ltr.admin.local_settings import SettingsError
from ltr.dataset import MSCOCOSeq


@pytest.mark.parametrize("images_subdir", [True, False])
def test_objects_become_sequences(tmp_path, images_subdir):
    written = make_coco(tmp_path, n_images=2, objects_per_image=2, images_subdir=images_subdir)
    ds = MSCOCOSeq(tmp_path)
    assert not ds.is_video_sequence()
    assert ds.get_num_sequences() == 4  # crowd and tiny annotations skipped
    for seq_id, (ann_id, file_name, bbox, category) in enumerate(written["usable"]):
        info = ds.get_sequence_info(seq_id)
        assert info["bbox"].shape == (1, 4) and info["visible"].tolist() == [True]
        np.testing.assert_allclose(info["bbox"][0].numpy(), bbox)
        meta = ds.get_meta_info(seq_id)
        assert meta["object_class_name"] == category and meta["image_file"] == file_name
        assert ds.sequence_list[seq_id] == str(ann_id)
    frames, anno, meta = ds.get_frames(1, [0, 0])
    assert len(frames) == 2 and frames[0].shape == (48, 64, 3)
    x, y, w, h = (int(v) for v in written["usable"][1][2])
    assert frames[0][y + h // 2, x + w // 2, 0] > 200
    assert len(anno["bbox"]) == 2
    with pytest.raises(ValueError, match="frame_ids"):
        ds.get_frames(0, [1])


def test_min_area_and_missing_files(tmp_path):
    make_coco(tmp_path, n_images=1, objects_per_image=1)
    assert MSCOCOSeq(tmp_path, min_area=0).get_num_sequences() == 2  # the 2x2 box now counts
    assert MSCOCOSeq(tmp_path, min_area=200).get_num_sequences() == 0
    with pytest.raises(ValueError, match="instances_val2017.json"):
        MSCOCOSeq(tmp_path, split="val")
    (tmp_path / "annotations" / "instances_train2017.json").write_text("{not json")
    with pytest.raises(ValueError, match="line 1"):
        MSCOCOSeq(tmp_path)


def test_unset_root(tmp_path, monkeypatch):
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(write_settings(tmp_path / "s.toml", {"coco": ""})))
    with pytest.raises(SettingsError, match=r"'coco'.*s\.toml"):
        MSCOCOSeq()
