"""SyntheticVideo and StillImagePairs: on-the-fly datasets with the BaseVideoDataset interface."""
import numpy as np
import pytest
import torch

from ltr.dataset.base_video_dataset import BaseVideoDataset
from ltr.dataset.synthetic_video import SyntheticVideo
from ltr.synthetic.scenes import PHOTO_POOLS, PROCEDURAL_CLASS
from ltr.dataset.still_image_pairs import StillImagePairs


def small_video(**kwargs):
    args = dict(num_sequences=4, num_frames=12, image_size=(96, 64), seed=0)
    args.update(kwargs)
    return SyntheticVideo(**args)


def test_sequence_info_shapes_and_flags():
    ds = small_video()
    assert isinstance(ds, BaseVideoDataset) and ds.is_video_sequence()
    assert ds.get_num_sequences() == len(ds) == 4
    info = ds.get_sequence_info(1)
    assert info["bbox"].shape == (12, 4) and info["bbox"].dtype == torch.float32
    assert info["valid"].dtype == torch.bool and info["valid"].all()
    assert info["visible"].shape == (12,) and bool(info["visible"][0])
    assert not (info["visible"] & ~info["valid"]).any()
    assert torch.allclose(info["bbox"], torch.tensor(ds.plan(1).boxes, dtype=torch.float32))


def test_random_access_equals_sequential_access():
    sequential = small_video()
    frames_seq = [sequential.get_frames(2, [t])[0][0] for t in range(12)]
    random_access = small_video()
    order = [9, 0, 5, 11, 5]
    frames, anno, meta = random_access.get_frames(2, order)
    assert len(frames) == len(order) and len(anno["bbox"]) == len(order)
    for f, t in zip(frames, order):
        assert f.shape == (64, 96, 3) and f.dtype == np.uint8
        assert np.array_equal(f, frames_seq[t])
    info = random_access.get_sequence_info(2)
    assert torch.equal(anno["bbox"][0], info["bbox"][9])
    assert meta["object_class_name"] == random_access.get_class_name(2)
    # consecutive frames differ (the scene moves)
    assert not np.array_equal(frames_seq[0], frames_seq[6])


def test_seed_and_split_change_the_data():
    a = small_video(seed=0).get_frames(0, [3])[0][0]
    b = small_video(seed=1).get_frames(0, [3])[0][0]
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 5
    train = SyntheticVideo(num_sequences=12, num_frames=4, image_size=(64, 48), split="train")
    test = SyntheticVideo(num_sequences=12, num_frames=4, image_size=(64, 48), split="test")
    train_classes = {train.get_class_name(i) for i in range(12)} - {PROCEDURAL_CLASS}
    test_classes = {test.get_class_name(i) for i in range(12)} - {PROCEDURAL_CLASS}
    assert train_classes <= set(PHOTO_POOLS["train"]["objects"])
    assert test_classes <= set(PHOTO_POOLS["test"]["objects"])


def test_jpeg_round_trip_is_optional():
    raw = small_video(jpeg_quality=None).get_frames(0, [2])[0][0]
    jpeg = small_video(jpeg_quality=90).get_frames(0, [2])[0][0]
    diff = np.abs(raw.astype(int) - jpeg.astype(int))
    assert 0 < diff.mean() < 8


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="num_sequences"):
        SyntheticVideo(num_sequences=0)
    with pytest.raises(ValueError, match="split"):
        SyntheticVideo(split="val")
    ds = small_video()
    with pytest.raises(ValueError, match="seq_id"):
        ds.get_sequence_info(4)
    with pytest.raises(ValueError, match="frame_ids"):
        ds.get_frames(0, [12])


def test_still_image_pairs():
    ds = StillImagePairs(num_items=6, seed=0, image_size=(96, 64))
    assert not ds.is_video_sequence() and ds.get_num_sequences() == 6
    visible = 0
    for i in range(6):
        info = ds.get_sequence_info(i)
        assert info["bbox"].shape == (1, 4)
        x, y, w, h = info["bbox"][0].tolist()
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 96 and y + h <= 64
        visible += int(info["visible"][0])
    assert visible >= 4
    frames, anno, _ = ds.get_frames(3, [0, 0])
    assert len(frames) == 2 and np.array_equal(frames[0], frames[1]) and frames[0] is not frames[1]
    assert frames[0].shape == (64, 96, 3)
    assert torch.equal(anno["bbox"][0], anno["bbox"][1])
    again = StillImagePairs(num_items=6, seed=0, image_size=(96, 64)).get_frames(3, [0])[0][0]
    assert np.array_equal(again, frames[0])
    other = ds.get_frames(4, [0])[0][0]
    assert not np.array_equal(other, frames[0])
    with pytest.raises(ValueError, match="frame_ids"):
        ds.get_frames(0, [1])
