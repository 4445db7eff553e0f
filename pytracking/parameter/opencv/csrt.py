"""OpenCV CSRT (discriminative correlation filter with channel and spatial reliability), OpenCV defaults."""
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(tracker_type="csrt", opencv_options=None, debug=0, device="cpu")
