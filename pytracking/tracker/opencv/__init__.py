"""OpenCV's classical trackers (CSRT, KCF) as trackers of the framework."""
from pytracking.tracker.opencv.opencv_tracker import OpenCVTracker


def get_tracker_class() -> type[OpenCVTracker]:
    return OpenCVTracker
