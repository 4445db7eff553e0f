"""``create_tracker``: the OpenCV-style API (``init(frame_bgr, box)``, ``ok, box = update(frame_bgr)``)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from client_sequences import write_folder_dataset
from pytracking import create_tracker
from pytracking.api import OpenCVStyleTracker, bgr_to_rgb
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.base.basetracker import BaseTracker


class LosesTargetOnSecondFrame(BaseTracker):
    """Keeps the initial box; flags ``not_found`` from the second update on."""

    def _initialize(self, image, info):
        self.box = list(info["init_bbox"])

    def _track(self, image, info):
        return {"target_bbox": self.box, "flag": "not_found" if self.frame_num >= 3 else "normal"}


def test_same_boxes_as_the_evaluation_harness(tmp_path):
    write_folder_dataset(tmp_path, num_frames=6, ext="png", names=("wide",))  # lossless: both read the same pixels
    seq = get_dataset("folder", tmp_path)[0]
    harness = Tracker("atom", "fast", results_root=tmp_path).run_sequence(seq, device="cpu")["target_bbox"]

    tracker = create_tracker("atom", "fast", device="cpu")
    assert isinstance(tracker, OpenCVStyleTracker)
    tracker.init(cv2.imread(seq.frames[0]), tuple(seq.ground_truth_rect[0]))
    boxes = [seq.ground_truth_rect[0]]
    for path in seq.frames[1:]:
        ok, box = tracker.update(cv2.imread(path))
        assert isinstance(ok, bool) and len(box) == 4 and all(isinstance(v, float) for v in box)
        boxes.append(box)
    np.testing.assert_allclose(np.asarray(boxes), harness, rtol=0, atol=1e-9)
    assert np.ptp(harness[:, 0]) > 5  # the target moved and the boxes followed it


def test_bad_box_and_empty_frame_errors():
    frame = np.zeros((60, 80, 3), np.uint8)
    tracker = create_tracker("opencv", "kcf")
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(frame)
    for box, message in [((10, 10, 0, 5), "width and height"), ((1, 2, 3), "4 finite numbers"),
                         ((np.nan, 1, 5, 5), "4 finite numbers"), ((200, 10, 5, 5), "outside the 80x60 frame"),
                         ("abcd", "box must be")]:
        with pytest.raises(ValueError, match=message):
            tracker.init(frame, box)
    for empty, message in [(None, "frame is None"), (np.zeros((0, 0, 3), np.uint8), "empty"),
                           (np.zeros((4, 4, 3), np.float32), "uint8"), (np.zeros((4, 4, 2), np.uint8), "shape")]:
        with pytest.raises(ValueError, match=message):
            tracker.init(empty, (1, 1, 2, 2))
    tracker.init(frame, (10, 10, 20, 20))
    with pytest.raises(ValueError, match="frame is None"):
        tracker.update(None)
    with pytest.raises(ValueError, match="tracker_name: unknown tracker 'nosuch'"):
        create_tracker("nosuch", "default")


def test_grayscale_and_bgra_frames_are_converted():
    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(bgr_to_rgb(bgr), bgr[:, :, ::-1])
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(bgr_to_rgb(bgra), bgr[:, :, ::-1])
    gray = bgr[:, :, 0]
    for g in (gray, gray[:, :, None]):
        np.testing.assert_array_equal(bgr_to_rgb(g), np.repeat(gray[:, :, None], 3, axis=2))

    def track(frames):
        tracker = create_tracker("opencv", "kcf")
        tracker.init(frames[0], (20, 14, 16, 12))
        return [tracker.update(f)[1] for f in frames[1:]]

    frames = [np.roll(bgr, shift=k, axis=1) for k in range(4)]  # a scene moving right by 1 px a frame
    gray_frames = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    assert track(gray_frames) == track([cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for g in gray_frames])
    assert track([np.dstack([f, np.zeros(f.shape[:2], np.uint8)]) for f in frames]) == track(frames)


def test_ok_is_false_when_the_tracker_flags_the_target_lost():
    tracker = create_tracker("test_client_api:LosesTargetOnSecondFrame", "x")
    frame = np.zeros((30, 40, 3), np.uint8)
    tracker.init(frame, (5, 5, 10, 10))
    assert tracker.update(frame) == (True, (5.0, 5.0, 10.0, 10.0))
    ok, box = tracker.update(frame)
    assert ok is False and box == (5.0, 5.0, 10.0, 10.0)
