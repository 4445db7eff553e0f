"""Robustness: bad input to the tracker interface is a ``ValueError`` naming what is wrong.

Checked through ``BaseTracker.initialize``/``track`` of a real tracker (OpenCV KCF) and of a
minimal subclass (so the check is the base class's, not a side effect of OpenCV).
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from pytracking.parameter.opencv import kcf
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.opencv import get_tracker_class


class _CountingTracker(BaseTracker):
    """Records whether the subclass hook was reached (it must not be, for bad input)."""

    def __init__(self, params=None):
        super().__init__(params)
        self.calls = 0

    def _initialize(self, image, info):
        self.calls += 1
        return {}

    def _track(self, image, info):
        self.calls += 1
        return {"target_bbox": [1.0, 1.0, 4.0, 4.0]}


def _image(h: int = 24, w: int = 32) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _trackers():
    return [_CountingTracker(), get_tracker_class()(kcf.parameters())]


@pytest.mark.parametrize("box, fragment", [
    ([np.nan, 2.0, 8.0, 6.0], "init_bbox"),
    ([2.0, 2.0, np.inf, 6.0], "init_bbox"),
    ([2.0, 2.0, 0.0, 6.0], "init_bbox"),
    ([2.0, 2.0, 8.0, 0.0], "init_bbox"),
    ([2.0, 2.0, -8.0, 6.0], "init_bbox"),
    ([2.0, 2.0, 8.0], "init_bbox"),
    ([2.0, 2.0, 8.0, 6.0, 1.0], "init_bbox"),
])
def test_bad_init_box_is_refused_naming_init_bbox(box, fragment):
    for tracker in _trackers():
        with pytest.raises(ValueError, match=fragment):
            tracker.initialize(_image(), {"init_bbox": box})
    counting = _CountingTracker()
    with pytest.raises(ValueError):
        counting.initialize(_image(), {"init_bbox": box})
    assert counting.calls == 0  # refused before the tracker saw it


@pytest.mark.parametrize("info", [{"box": [1, 1, 4, 4]}, {"init_bbox": None}, {"init_bbox": []}])
def test_missing_init_bbox_is_refused(info):
    with pytest.raises(ValueError, match="init_bbox"):
        _CountingTracker().initialize(_image(), info)


@pytest.mark.parametrize("image, fragment", [
    (np.zeros((24, 32, 3), np.float32), "float32"),
    (np.zeros((24, 32, 3), np.uint16), "uint16"),
    (np.zeros((24, 32, 2), np.uint8), r"\(24, 32, 2\)"),
    (np.zeros((24, 32, 5), np.uint8), r"\(24, 32, 5\)"),
    (np.zeros((2, 24, 32, 3), np.uint8), r"\(2, 24, 32, 3\)"),
    (np.zeros((0, 32, 3), np.uint8), "empty"),
    (np.zeros((24, 0, 3), np.uint8), "empty"),
    ([[[0, 0, 0]]], "list"),
    (None, "NoneType"),
])
def test_bad_image_is_refused_naming_shape_or_dtype(image, fragment):
    for tracker in _trackers():
        with pytest.raises(ValueError, match="image") as info:
            tracker.initialize(image, {"init_bbox": [2.0, 2.0, 8.0, 6.0]})
        assert re.search(fragment, str(info.value)), str(info.value)
    # and in track(), after a good initialisation
    for tracker in _trackers():
        tracker.initialize(_image(), {"init_bbox": [2.0, 2.0, 8.0, 6.0]})
        with pytest.raises(ValueError, match="image"):
            tracker.track(image)


def test_good_input_after_refused_input_still_works():
    tracker = get_tracker_class()(kcf.parameters())
    with pytest.raises(ValueError):
        tracker.initialize(_image(), {"init_bbox": [np.nan, 0, 4, 4]})
    out = tracker.initialize(_image(), {"init_bbox": [2.0, 2.0, 8.0, 6.0]})
    assert out["target_bbox"] == [2.0, 2.0, 8.0, 6.0]
    box = np.asarray(tracker.track(_image())["target_bbox"])
    assert np.all(np.isfinite(box)) and np.all(box[2:] > 0)


def test_non_contiguous_rgb_view_is_accepted():
    """A flipped view (negative strides) is a valid RGB uint8 image, not an error."""
    tracker = get_tracker_class()(kcf.parameters())
    image = _image()[:, ::-1]
    tracker.initialize(image, {"init_bbox": [2.0, 2.0, 8.0, 6.0]})
    box = np.asarray(tracker.track(image)["target_bbox"])
    assert np.all(np.isfinite(box)) and np.all(box[2:] > 0)


@pytest.mark.parametrize("info", [None, {"init_bbox": ["a", "b", "c", "d"]}])
def test_malformed_info_is_a_value_error_naming_it(info):
    with pytest.raises(ValueError, match="info|init_bbox"):
        _CountingTracker().initialize(_image(), info)
