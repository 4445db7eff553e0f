"""GOT-10k loader on a tiny official-layout fixture."""
import numpy as np
import pytest

from fixtures_layouts import make_got10k, read_marker, replace_line, write_settings
from ltr.admin.local_settings import SettingsError
from ltr.data_specs import spec_path
from ltr.dataset import DatasetWarning, Got10k


def test_parses_train_split(tmp_path):
    written = make_got10k(tmp_path, split="train", n_sequences=3, n_frames=5,
                          absent={"GOT-10k_Train_000002": [3]},
                          cover={"GOT-10k_Train_000002": [8, 0, 4, 8, 8]})
    ds = Got10k(tmp_path)  # split None -> train
    assert ds.sequence_list == list(written) and ds.warnings == []
    info = ds.get_sequence_info(1)
    np.testing.assert_allclose(info["bbox"].numpy(), written["GOT-10k_Train_000002"].boxes)
    assert info["visible"].tolist() == [True, False, True, False, True]
    np.testing.assert_allclose(info["visible_ratio"].numpy(), [1, 0, 0.5, 0, 1])
    frames, anno, meta = ds.get_frames(1, [4, 2])
    assert [read_marker(f) for f in frames] == [4, 2]
    assert anno["visible"][0].item() and len(anno["visible_ratio"]) == 2
    assert meta["object_class_name"] == "zebra" and meta["root_class"] == "animal"
    assert ds.get_class_name(0) == "zebra"
    assert ds.get_sequence_meta(0)["resolution"] == "(32, 24)"


def test_root_may_be_the_split_folder_and_val_split(tmp_path):
    make_got10k(tmp_path, split="train", n_sequences=2, n_frames=2)
    make_got10k(tmp_path, split="val", n_sequences=1, n_frames=2)
    assert Got10k(tmp_path / "train").get_num_sequences() == 2
    assert Got10k(tmp_path, split="val").sequence_list == ["GOT-10k_Val_000001"]
    with pytest.raises(ValueError, match="split"):
        Got10k(tmp_path, split="test")


def test_vot_splits_index_list_txt_zero_based(tmp_path):
    make_got10k(tmp_path, split="train", n_sequences=12, n_frames=1)
    for split, file in (("vottrain", "got10k_vot_train_split.txt"), ("votval", "got10k_vot_val_split.txt")):
        indices = [int(x) for x in spec_path(file).read_text().split()]
        expected = [f"GOT-10k_Train_{i + 1:06d}" for i in indices if i < 12]
        with pytest.warns(DatasetWarning, match="beyond the 12 lines"):
            ds = Got10k(tmp_path, split=split)
        assert ds.sequence_list == expected
        assert len(ds.warnings) == 1
    assert "GOT-10k_Train_000002" in ds.sequence_list  # index 1 is in votval -> second line of list.txt


def test_missing_sequence_in_list_is_skipped_with_count(tmp_path):
    make_got10k(tmp_path, n_sequences=2, n_frames=2,
                list_names=["GOT-10k_Train_000001", "GOT-10k_Train_000002", "GOT-10k_Train_000003"])
    with pytest.warns(DatasetWarning, match="1 of 3 sequences"):
        assert Got10k(tmp_path).get_num_sequences() == 2


def test_bad_label_and_box_lines(tmp_path):
    written = make_got10k(tmp_path, n_sequences=1, n_frames=4)
    seq_dir = written["GOT-10k_Train_000001"].directory
    replace_line(seq_dir / "groundtruth.txt", 3, "1,2,0,5")
    replace_line(seq_dir / "cover.label", 2, "eight")
    ds = Got10k(tmp_path)
    with pytest.warns(DatasetWarning) as record:
        info = ds.get_sequence_info(0)
    messages = " | ".join(str(r.message) for r in record)
    assert f"{seq_dir / 'groundtruth.txt'}: line 3" in messages
    assert f"{seq_dir / 'cover.label'}: line 2" in messages
    assert info["valid"].tolist() == [True, True, False, True]
    assert info["visible"].tolist() == [True, False, False, True]


def test_unset_root_names_key_and_file(tmp_path, monkeypatch):
    settings = write_settings(tmp_path / "local.toml", {"got10k": ""})
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    with pytest.raises(SettingsError, match=r"'got10k'.*local\.toml"):
        Got10k()
