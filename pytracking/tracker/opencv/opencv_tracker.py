"""Wrapper of OpenCV's CSRT and KCF trackers (opencv-contrib).

Images arrive RGB and are converted to BGR here, at the edge. OpenCV trackers take integer
rectangles: the init box is rounded (``x, y`` rounded, ``w, h`` rounded and at least 1).
When ``update`` reports a failure the last box is kept and the flag is ``'not_found'``.

Parameters (``params``): ``tracker_type`` ('csrt' | 'kcf'); optional ``opencv_options`` dict set as
attributes of the OpenCV parameter object (e.g. ``{'detect_thresh': 0.3}`` for KCF).
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from pytracking.tracker.base.basetracker import BaseTracker

_FACTORIES = {
    "csrt": ("TrackerCSRT", "TrackerCSRT_Params"),
    "kcf": ("TrackerKCF", "TrackerKCF_Params"),
}


def create_opencv_tracker(tracker_type: str, options: dict[str, Any] | None = None) -> Any:
    """An OpenCV tracker object (``cv2.TrackerX_create``, else ``cv2.legacy.TrackerX_create``)."""
    if tracker_type not in _FACTORIES:
        raise ValueError(f"tracker_type must be one of {sorted(_FACTORIES)}, got {tracker_type!r}")
    class_name, params_name = _FACTORIES[tracker_type]
    for namespace in (cv2, getattr(cv2, "legacy", None)):
        if namespace is None or not hasattr(namespace, f"{class_name}_create"):
            continue
        create = getattr(namespace, f"{class_name}_create")
        if options:
            cv_params = getattr(namespace, params_name)()
            for key, value in options.items():
                if not hasattr(cv_params, key):
                    raise ValueError(f"opencv_options: {params_name} has no option {key!r}")
                setattr(cv_params, key, value)
            return create(cv_params)
        return create()
    raise ValueError(f"tracker_type {tracker_type!r}: OpenCV {cv2.__version__} has no {class_name}; "
                     "install opencv-contrib-python")


class OpenCVTracker(BaseTracker):
    """CSRT or KCF from OpenCV behind the framework's tracker interface."""

    def _initialize(self, image: np.ndarray, info: dict) -> dict:
        self.tracker_type = str(self.params.get("tracker_type", "csrt")).lower()
        self._tracker = create_opencv_tracker(self.tracker_type, self.params.get("opencv_options", None))
        x, y, w, h = info["init_bbox"]
        rect = (int(round(x)), int(round(y)), max(1, int(round(w))), max(1, int(round(h))))
        self._tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), rect)
        self._box = [float(v) for v in info["init_bbox"]]
        return {"target_bbox": list(self._box)}

    def _track(self, image: np.ndarray, info: dict) -> dict:
        ok, rect = self._tracker.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = [float(v) for v in rect]
            return {"target_bbox": list(self._box), "flag": "normal"}
        return {"target_bbox": list(self._box), "flag": "not_found"}
