"""ImageFolder: LaSOT-style (img/) and GOT-10k-style (frames beside) folders, visibility files honoured."""
import numpy as np
import pytest

from fixtures_layouts import draw_frame, make_got10k, make_lasot, read_marker, write_boxes, write_image
from ltr.dataset import DatasetWarning, ImageFolder


def test_mixed_layouts(tmp_path):
    lasot = make_lasot(tmp_path / "a", sequences=["cat-1"], n_frames=4, occluded={"cat-1": [2]})
    got = make_got10k(tmp_path / "b", n_sequences=1, n_frames=3, absent={"GOT-10k_Train_000001": [0]})
    ds = ImageFolder(tmp_path)
    assert ds.sequence_list == ["a/cat/cat-1", "b/train/GOT-10k_Train_000001"]
    assert ds.get_sequence_info(0)["visible"].tolist() == lasot["cat-1"].visible.tolist() == [True, True, False, True]
    assert ds.get_sequence_info(1)["visible"].tolist() == got["GOT-10k_Train_000001"].visible.tolist()
    frames, anno, _ = ds.get_frames(0, [3, 1])
    assert [read_marker(f) for f in frames] == [3, 1]


def test_unpadded_names_sorted_numerically_and_short_frames(tmp_path):
    boxes = np.tile([2.0, 2.0, 6.0, 5.0], (12, 1))
    seq = tmp_path / "seq"
    for i in range(11):  # one frame fewer than rows
        write_image(seq / f"frame{i}.png", draw_frame(boxes[i], i))
    write_boxes(seq / "groundtruth.txt", boxes, delimiter="\t")
    ds = ImageFolder(tmp_path)
    with pytest.warns(DatasetWarning, match="12 rows but 11 frames"):
        info = ds.get_sequence_info(0)
    assert len(info["bbox"]) == 11
    frames, _, _ = ds.get_frames(0, [10, 2])
    assert [read_marker(f) for f in frames] == [10, 2]


def test_empty_root_raises(tmp_path):
    with pytest.raises(ValueError, match="root"):
        ImageFolder(tmp_path)
