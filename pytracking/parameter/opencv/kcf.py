"""OpenCV KCF (kernelised correlation filter), OpenCV defaults."""
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(tracker_type="kcf", opencv_options=None, debug=0, device="cpu")
