"""TrackingNet loader: chunks, numeric frame order (0..11), validity."""
import numpy as np
import pytest

from fixtures_layouts import make_trackingnet, read_marker, replace_line, write_settings
from ltr.admin.local_settings import SettingsError
from ltr.dataset import DatasetWarning, TrackingNet


def test_chunks_and_numeric_frame_order(tmp_path):
    written = make_trackingnet(tmp_path, chunks=(0, 2), videos_per_chunk=2, n_frames=12)
    ds = TrackingNet(tmp_path, set_ids=[0, 2])
    assert ds.get_num_sequences() == 4 and ds.sequence_list == sorted(written)
    assert ds.chunk_ids == [0, 2] and ds.warnings == []
    name = ds.sequence_list[3]
    info = ds.get_sequence_info(3)
    np.testing.assert_allclose(info["bbox"].numpy(), written[name].boxes)
    assert info["visible"].all() and len(info["bbox"]) == 12
    frames, _, meta = ds.get_frames(3, list(range(12)))
    assert [read_marker(f) for f in frames] == list(range(12))  # 0,1,2,...,10,11 not 0,1,10,11,2
    assert meta["sequence_name"] == name
    assert TrackingNet(tmp_path).chunk_ids == [0, 2]            # None -> every chunk on disk


def test_missing_chunk_warns_and_bad_set_id_raises(tmp_path):
    make_trackingnet(tmp_path, chunks=(1,), videos_per_chunk=1, n_frames=2)
    with pytest.warns(DatasetWarning, match=r"chunks \[0, 2, 3\]"):
        ds = TrackingNet(tmp_path, set_ids=range(4))
    assert ds.get_num_sequences() == 1
    with pytest.raises(ValueError, match="set_ids"):
        TrackingNet(tmp_path, set_ids=[12])
    with pytest.raises(ValueError, match="root"), pytest.warns(DatasetWarning, match=r"chunks \[5\]"):
        TrackingNet(tmp_path, set_ids=[5])


def test_zero_size_box_invalid(tmp_path):
    written = make_trackingnet(tmp_path, chunks=(0,), videos_per_chunk=1, n_frames=3)
    anno = tmp_path / "TRAIN_0" / "anno" / f"{next(iter(written)).split('/')[1]}.txt"
    replace_line(anno, 2, "4,4,0,-1")
    ds = TrackingNet(tmp_path)
    with pytest.warns(DatasetWarning, match=f"{anno}: line 2"):
        info = ds.get_sequence_info(0)
    assert info["visible"].tolist() == [True, False, True]


def test_unset_root(tmp_path, monkeypatch):
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(write_settings(tmp_path / "s.toml", {})))
    with pytest.raises(SettingsError, match=r"'trackingnet'.*s\.toml"):
        TrackingNet()
