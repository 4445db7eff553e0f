"""Wrapper of OpenCV's CSRT and KCF trackers (opencv-contrib).

Images arrive RGB and are converted to BGR here, at the edge. OpenCV trackers take integer
rectangles inside the image (:func:`opencv_init_rect`): the init box is rounded, clipped to the
image and grown to at least :data:`MIN_RECT_SIZE` pixels a side (CSRT asserts on 1-pixel boxes); a
box entirely outside the image is a ``ValueError`` naming ``init_bbox``. When ``update`` reports a
failure the last box is kept and the flag is ``'not_found'``.

Parameters (``params``): ``tracker_type`` ('csrt' | 'kcf'); optional ``opencv_options`` dict set as
attributes of the OpenCV parameter object (e.g. ``{'detect_thresh': 0.3}`` for KCF).
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from pytracking.tracker.base.basetracker import BaseTracker

#: smallest side of the rectangle handed to OpenCV (CSRT fails on 1-pixel sides)
MIN_RECT_SIZE = 2

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


def _clip_span(start: float, length: float, limit: int, min_size: int) -> tuple[int, int] | None:
    """Integer ``(start, length)`` of ``[start, start + length)`` rounded and clipped to ``[0, limit)``, grown
    symmetrically (then shifted inside) to at least ``min(min_size, limit)``; None if nothing is inside."""
    lo, hi = int(round(start)), int(round(start + length))
    hi = max(hi, lo + 1)
    lo, hi = max(lo, 0), min(hi, limit)
    if hi <= lo:
        return None
    if hi - lo >= min_size or hi - lo >= limit:
        return lo, hi - lo
    size = min(min_size, limit)
    centre = (max(start, 0.0) + min(start + length, float(limit))) / 2.0
    lo = min(max(0, int(round(centre - size / 2.0))), limit - size)
    return lo, size


def opencv_init_rect(box: list[float], image_shape: tuple[int, ...],
                     min_size: int = MIN_RECT_SIZE) -> tuple[int, int, int, int]:
    """The integer ``(x, y, w, h)`` given to OpenCV for ``box`` in an image of ``image_shape`` ``[H, W, ...]``.

    Rounded, clipped to the image, each side at least ``min_size`` (or the image side); ``ValueError``
    naming ``init_bbox`` if the box does not overlap the image.
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    x, y, w, h = (float(v) for v in box)
    span_x = _clip_span(x, w, width, min_size)
    span_y = _clip_span(y, h, height, min_size)
    if span_x is None or span_y is None:
        raise ValueError(f"init_bbox {list(box)} lies outside the {width}x{height} image")
    return span_x[0], span_y[0], span_x[1], span_y[1]


class OpenCVTracker(BaseTracker):
    """CSRT or KCF from OpenCV behind the framework's tracker interface."""

    def _initialize(self, image: np.ndarray, info: dict) -> dict:
        self.tracker_type = str(self.params.get("tracker_type", "csrt")).lower()
        self._tracker = create_opencv_tracker(self.tracker_type, self.params.get("opencv_options", None))
        rect = opencv_init_rect(info["init_bbox"], image.shape)
        self._tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), rect)
        self._box = [float(v) for v in info["init_bbox"]]
        return {"target_bbox": list(self._box)}

    def _track(self, image: np.ndarray, info: dict) -> dict:
        ok, rect = self._tracker.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = [float(v) for v in rect]
            return {"target_bbox": list(self._box), "flag": "normal"}
        return {"target_bbox": list(self._box), "flag": "not_found"}
