"""An OpenCV-style tracker for applications: ``create_tracker(name, param)`` -> ``init`` / ``update``.

Mirrors ``cv2.Tracker``::

    tracker = create_tracker("atom", "default", device="cpu")
    tracker.init(frame_bgr, (x, y, w, h))
    ok, (x, y, w, h) = tracker.update(next_frame_bgr)

Frames are what ``cv2.VideoCapture.read`` / ``cv2.imread`` give: ``uint8`` BGR ``[H, W, 3]``; a
grayscale ``[H, W]`` / ``[H, W, 1]`` frame is replicated to three channels and a BGRA ``[H, W, 4]``
frame loses its alpha channel. The frame is converted to RGB (the framework's convention) and handed
to the same tracker object the evaluation harness builds (``build_tracker_factory``), so the boxes are
those ``run_tracker`` writes for the same frames. Boxes are float ``x, y, w, h`` with a top-left
origin in pixels. ``ok`` is False when the tracker flags the target as lost (flag ``not_found``).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pytracking.evaluation.tracker_factory import build_tracker_factory

#: the tracker flags that make ``update`` return ``ok = False``
LOST_FLAGS = ("not_found",)


def bgr_to_rgb(frame: Any, argument: str = "frame") -> np.ndarray:
    """The ``uint8`` RGB ``[H, W, 3]`` version of an OpenCV frame.

    BGR ``[H, W, 3]`` -> channels reversed; BGRA ``[H, W, 4]`` -> alpha dropped, then reversed;
    grayscale ``[H, W]`` or ``[H, W, 1]`` -> replicated. ``ValueError`` names ``argument`` for an
    empty frame (``None``, zero size: e.g. a failed ``cv2.VideoCapture.read``), another dtype or shape.
    """
    if frame is None:
        raise ValueError(f"{argument} is None (an empty frame: did cv2.VideoCapture.read() fail?)")
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"{argument} must be a numpy uint8 image, got {type(frame).__name__}")
    if frame.size == 0 or frame.ndim < 2 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"{argument} is empty: shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"{argument} must be uint8 (as OpenCV reads it), got dtype {frame.dtype} shape {frame.shape}")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        gray = frame.reshape(frame.shape[0], frame.shape[1])
        return np.repeat(gray[:, :, None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        return np.ascontiguousarray(frame[:, :, 2::-1])
    raise ValueError(f"{argument} must be BGR [H, W, 3], BGRA [H, W, 4] or grayscale [H, W] / [H, W, 1], "
                     f"got shape {frame.shape}")


def check_box(box: Any, image_shape: tuple[int, ...]) -> list[float]:
    """``[x, y, w, h]`` as floats; ``ValueError`` naming ``box`` unless 4 finite numbers with ``w, h > 0``
    whose rectangle overlaps the ``image_shape`` ``(H, W, ...)`` frame."""
    try:
        values = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(f"box must be 4 numbers (x, y, w, h), got {box!r}") from err
    if values.size != 4 or not np.all(np.isfinite(values)):
        raise ValueError(f"box must be 4 finite numbers (x, y, w, h), got {box!r}")
    x, y, w, h = values.tolist()
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have width and height > 0, got (x, y, w, h) = {box!r}")
    height, width = image_shape[0], image_shape[1]
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box (x, y, w, h) = {box!r} lies outside the {width}x{height} frame")
    return [x, y, w, h]


class OpenCVStyleTracker:
    """``init(frame_bgr, box)`` then ``ok, box = update(frame_bgr)``, around one framework tracker.

    ``make_tracker()`` returns a fresh ``BaseTracker``; each ``init`` starts a new one, so a tracker
    object can be re-initialised on another target or video.
    """

    def __init__(self, make_tracker: Any, label: str = "tracker"):
        self._make_tracker = make_tracker
        self._tracker: Any = None
        self.label = label
        #: the framework tracker's last output (``target_bbox``, ``flag``, ``confidence``, ``time``)
        self.last_output: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"OpenCVStyleTracker({self.label!r}, initialised={self._tracker is not None})"

    def init(self, frame_bgr: np.ndarray, box: Sequence[float]) -> None:
        """Start tracking the target ``box = (x, y, w, h)`` in ``frame_bgr``."""
        image = bgr_to_rgb(frame_bgr)
        init_box = check_box(box, image.shape)
        tracker = self._make_tracker()
        self.last_output = dict(tracker.initialize(image, {"init_bbox": init_box}))
        self._tracker = tracker

    def update(self, frame_bgr: np.ndarray) -> tuple[bool, tuple[float, float, float, float]]:
        """Track into ``frame_bgr``: ``(ok, (x, y, w, h))``; ``ok`` False when the target is judged lost."""
        if self._tracker is None:
            raise RuntimeError("update() called before init(frame, box)")
        image = bgr_to_rgb(frame_bgr)
        out = dict(self._tracker.track(image, {}))
        self.last_output = out
        box = np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)
        ok = bool(np.all(np.isfinite(box))) and str(out.get("flag", "normal")) not in LOST_FLAGS
        return ok, (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def create_tracker(tracker_name: str, param_name: str = "default", device: str | None = None,
                   debug: int = 0, **overrides: Any) -> OpenCVStyleTracker:
    """An OpenCV-style tracker for ``pytracking/tracker/<tracker_name>`` with the parameter file
    ``pytracking/parameter/<tracker_name>/<param_name>.py``.

    ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (default: the parameter file's, else the settings').
    ``overrides``: parameter-file keys set on top of the file's (``create_tracker("atom", lost_search_delay=0)``).
    ``ValueError`` names an unknown tracker, parameter file or key.
    """
    make = build_tracker_factory(tracker_name, param_name, debug=debug, device=device, overrides=overrides)
    return OpenCVStyleTracker(make, label=f"{tracker_name}/{param_name}")
