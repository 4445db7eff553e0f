"""The layout writers themselves (reused by evaluation-side tests): UAV123 and GOT-10k/TrackingNet test splits."""
import numpy as np

from fixtures_layouts import (default_boxes, make_got10k, make_trackingnet, make_uav123, read_marker)
from ltr.data.image_loader import imread_rgb
from ltr.dataset.annotation_io import read_boxes


def test_uav123_layout_shared_folder_and_nan_rows(tmp_path):
    written = make_uav123(tmp_path, nan_frames={"uav_car1_2": [1]})
    assert sorted(written) == ["uav_bike1", "uav_car1_1", "uav_car1_2"]
    car1 = sorted((tmp_path / "data_seq" / "UAV123" / "car1").iterdir())
    assert [p.name for p in car1] == [f"{k:06d}.jpg" for k in range(1, 9)]
    boxes, problems = read_boxes(tmp_path / "anno" / "UAV123" / "car1_2.txt")
    assert problems == [] and boxes.shape == (5, 4) and np.isnan(boxes[1]).all()
    np.testing.assert_allclose(boxes[0], written["uav_car1_1"].boxes[-1])  # shared boundary frame 4
    assert written["uav_car1_2"].visible.tolist() == [True, False, True, True, True]
    first = imread_rgb(written["uav_car1_2"].frame_paths[0])
    assert read_marker(first) == 3  # frame 000004.jpg is folder frame index 3


def test_test_splits_hold_first_box_only(tmp_path):
    make_got10k(tmp_path, split="test", n_sequences=2, n_frames=3)
    boxes, _ = read_boxes(tmp_path / "test" / "GOT-10k_Test_000002" / "groundtruth.txt")
    np.testing.assert_allclose(boxes, default_boxes(3, offset=1)[:1])
    assert (tmp_path / "test" / "list.txt").read_text().split() == ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    written = make_trackingnet(tmp_path / "tn", chunks=(), videos_per_chunk=1, n_frames=3, test=True)
    (name,) = written
    assert name.startswith("TEST/")
    boxes, _ = read_boxes(tmp_path / "tn" / "TEST" / "anno" / f"{name.split('/')[1]}.txt")
    assert boxes.shape == (1, 4)
