"""PairSampler: visible frames only, max gap, still images, determinism, read-error handling."""
import numpy as np
import pytest
import torch

from ltr.data.image_loader import ImageReadError
from ltr.data.sampler import PairSampler
from ltr.dataset.base_video_dataset import BaseVideoDataset


class _Frames(BaseVideoDataset):
    """Tiny in-memory dataset: frame k of a sequence is an image filled with value k."""

    def __init__(self, visible, video=True, broken=()):
        super().__init__("frames")
        self.visible = [torch.as_tensor(v, dtype=torch.bool) for v in visible]
        self.video = video
        self.broken = set(broken)

    def is_video_sequence(self):
        return self.video

    def get_num_sequences(self):
        return len(self.visible)

    def get_sequence_info(self, seq_id):
        n = len(self.visible[seq_id])
        bbox = torch.tensor([[1.0, 2.0, 3.0, 4.0]]).repeat(n, 1) + torch.arange(n)[:, None]
        return {"bbox": bbox, "valid": torch.ones(n, dtype=torch.bool), "visible": self.visible[seq_id]}

    def get_frames(self, seq_id, frame_ids, anno=None):
        for f in frame_ids:
            if (seq_id, f) in self.broken:
                raise ImageReadError(f"seq{seq_id}/{f:04d}.jpg", "corrupt")
        return [np.full((4, 4, 3), f, np.uint8) for f in frame_ids], {}, {}


def test_only_visible_frames_within_gap():
    rng = np.random.default_rng(0)
    visible = [rng.random(60) < 0.3 for _ in range(5)] + [np.zeros(10, bool)]
    ds = _Frames(visible)
    sampler = PairSampler([ds], None, samples_per_epoch=300, max_gap=7, num_test_frames=2, seed=1)
    for i in range(len(sampler)):
        item = sampler[i]
        ref, *tests = item["frame_ids"]
        vis = ds.visible[item["sequence"]]
        assert all(bool(vis[f]) for f in [ref, *tests])
        assert all(abs(t - ref) <= 7 for t in tests)
        assert item["train_images"][0][0, 0, 0] == ref  # frames and ids agree
        np.testing.assert_allclose(item["test_boxes"][0], [1 + tests[0], 2 + tests[0], 3 + tests[0], 4 + tests[0]])


def test_still_images_give_the_same_frame_twice():
    ds = _Frames([[True]] * 3, video=False)
    item = PairSampler([ds], None, 10, max_gap=5)[3]
    assert item["frame_ids"] == [0, 0]


def test_deterministic_per_epoch_and_rank():
    ds = _Frames([np.ones(50, bool)] * 4)
    a = PairSampler([ds], None, 20, max_gap=10, seed=3)
    b = PairSampler([ds], None, 20, max_gap=10, seed=3)
    ids = lambda s: [(s[i]["sequence"], tuple(s[i]["frame_ids"])) for i in range(20)]
    first = ids(a)
    assert first == ids(b)
    a.set_epoch(1)
    assert ids(a) != first
    a.set_epoch(0)
    assert ids(a) == first
    assert ids(PairSampler([ds], None, 20, max_gap=10, seed=3, rank=1)) != first


def test_dataset_weights():
    video = _Frames([np.ones(5, bool)])
    still = _Frames([[True]], video=False)
    sampler = PairSampler([video, still], [0.0, 1.0], 20, max_gap=3)
    assert all(sampler[i]["frame_ids"] == [0, 0] for i in range(20))


def test_read_errors_are_counted_and_skipped():
    ds = _Frames([np.ones(3, bool), np.ones(3, bool)], broken={(0, 0), (0, 1), (0, 2)})
    sampler = PairSampler([ds], None, 30, max_gap=3)
    with pytest.warns(UserWarning, match=r"seq0/000\d.jpg"):
        items = [sampler[i] for i in range(30)]
    assert all(it["sequence"] == 1 for it in items)
    assert sum(it["read_errors"] for it in items) == sampler.read_errors > 0


def test_bad_arguments():
    ds = _Frames([np.ones(3, bool)])
    with pytest.raises(ValueError, match="p_datasets"):
        PairSampler([ds], [1.0, 2.0], 10, max_gap=3)
    with pytest.raises(ValueError, match="max_gap"):
        PairSampler([ds], None, 10, max_gap=0)
    with pytest.raises(ValueError, match="visible"):
        PairSampler([_Frames([np.zeros(4, bool)])], None, 10, max_gap=3)[0]
