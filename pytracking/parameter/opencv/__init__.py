"""Parameter files of the OpenCV trackers."""
