"""OpenCV CSRT and KCF wrapped as trackers: they follow a moving square; failure keeps the last box."""
import numpy as np
import pytest

from pytracking.analysis.metrics import iou_xywh
from pytracking.evaluation import Sequence, Tracker
from pytracking.tracker.opencv.opencv_tracker import OpenCVTracker
from pytracking.utils.params import TrackerParams
from tests.fixtures_layouts import write_image


def moving_square_sequence(tmp_path, n=12):
    boxes, frames = [], []
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, size=(20, 20, 3), dtype=np.uint8)
    for i in range(n):
        image = np.full((80, 100, 3), 90, np.uint8)
        x, y = 15 + 3 * i, 20 + 2 * i
        image[y:y + 20, x:x + 20] = texture
        frames.append(str(write_image(tmp_path / f"{i:04d}.png", image)))
        boxes.append([x, y, 20, 20])
    return Sequence("square", frames, np.array(boxes, float))


@pytest.mark.parametrize("param", ["csrt", "kcf"])
def test_opencv_tracker_follows_moving_square(tmp_path, param):
    seq = moving_square_sequence(tmp_path)
    out = Tracker("opencv", param, results_root=tmp_path).run_sequence(seq)
    ious = iou_xywh(out["target_bbox"], seq.ground_truth_rect)
    assert ious[0] == 1.0 and ious.min() > 0.5, ious
    assert out["flags"][-1] == "normal"


def test_lost_target_keeps_last_box_and_flags_not_found():
    class Failing:
        def update(self, image):
            return False, (0, 0, 0, 0)

    tracker = OpenCVTracker(TrackerParams(tracker_type="kcf"))
    image = np.zeros((40, 40, 3), np.uint8)
    tracker.initialize(image, {"init_bbox": [5.0, 6.0, 10.0, 12.0]})
    tracker._tracker = Failing()
    out = tracker.track(image)
    assert out["flag"] == "not_found" and out["target_bbox"] == [5.0, 6.0, 10.0, 12.0]


def test_unknown_tracker_type_is_a_clear_error():
    tracker = OpenCVTracker(TrackerParams(tracker_type="mosse_typo"))
    with pytest.raises(ValueError, match="tracker_type"):
        tracker.initialize(np.zeros((20, 20, 3), np.uint8), {"init_bbox": [1, 1, 5, 5]})
