from pytracking.tracker.base.basetracker import BaseTracker, TrackerOutput

__all__ = ["BaseTracker", "TrackerOutput"]
