"""The thin tracker interface every tracker of the framework implements.

Conventions: images are RGB ``uint8`` numpy arrays ``[H, W, 3]`` (grayscale and RGBA frames are
converted at this interface, see :func:`as_rgb`; frames may change size from one call to the next);
boxes are ``[x, y, w, h]`` floats with a top-left origin, in pixels of the full image.

A tracker implements ``_initialize(image, info)`` and ``_track(image, info)``; the public
``initialize``/``track`` wrap them, check the input and add the wall-clock ``time`` (seconds).
Debug data (score maps, candidate boxes, losses) goes into the output under ``"debug"`` when
``params.debug > 0``; trackers never draw: visualisation lives in ``pytracking.utils``.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np

#: flags a tracker may report with each box
FLAGS = ("normal", "uncertain", "not_found", "hard_negative")


class TrackerOutput(TypedDict, total=False):
    target_bbox: list[float]   # [x, y, w, h]
    flag: str                  # one of FLAGS
    confidence: float          # tracker-specific confidence (e.g. classifier peak score)
    time: float                # seconds spent in this call
    debug: dict[str, Any]      # only when params.debug > 0


class BaseTracker:
    """Base class: holds the parameters, validates input, times each call."""

    def __init__(self, params: Any):
        self.params = params
        self.frame_num = 0

    # --- what subclasses implement -------------------------------------------------
    def _initialize(self, image: np.ndarray, info: dict) -> dict:
        raise NotImplementedError

    def _track(self, image: np.ndarray, info: dict) -> dict:
        raise NotImplementedError

    # --- the public interface ------------------------------------------------------
    def initialize(self, image: np.ndarray, info: dict) -> TrackerOutput:
        """Start tracking: ``info["init_bbox"]`` is the target's ``[x, y, w, h]`` in ``image``."""
        image = as_rgb(image)
        if not isinstance(info, Mapping) or "init_bbox" not in info:
            raise ValueError(f"initialize: info must be a dict holding 'init_bbox' = [x, y, w, h], got {info!r}")
        try:
            box = np.asarray(info["init_bbox"], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise ValueError(f"initialize: init_bbox must be 4 numbers [x, y, w, h], got {info['init_bbox']!r}") from err
        if box.size != 4 or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"initialize: init_bbox must be 4 finite numbers with w, h > 0, got {info['init_bbox']!r}")
        self.frame_num = 1
        start = time.perf_counter()
        out = dict(self._initialize(image, {**info, "init_bbox": box.tolist()}) or {})
        out.setdefault("target_bbox", box.tolist())
        out.setdefault("flag", "normal")
        out["time"] = time.perf_counter() - start
        return out  # type: ignore[return-value]

    def track(self, image: np.ndarray, info: dict | None = None) -> TrackerOutput:
        """Track the target into ``image``; returns at least ``target_bbox``, ``flag`` and ``time``."""
        image = as_rgb(image)
        self.frame_num += 1
        start = time.perf_counter()
        out = dict(self._track(image, info or {}))
        out.setdefault("flag", "normal")
        out["time"] = time.perf_counter() - start
        return out  # type: ignore[return-value]


def as_rgb(image: Any) -> np.ndarray:
    """The frame as RGB uint8 ``[H, W, 3]``.

    Accepted and converted: grayscale ``[H, W]`` or ``[H, W, 1]`` (replicated to three channels) and
    RGBA ``[H, W, 4]`` (alpha dropped). Anything else (another dtype, channel count, an empty
    frame, not an array) raises ``ValueError`` naming the shape and dtype.
    """
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim in (2, 3):
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError(f"image is empty: shape {image.shape}")
        if image.ndim == 2:
            return np.repeat(image[:, :, None], 3, axis=2)
        if image.shape[2] == 3:
            return image
        if image.shape[2] == 1:
            return np.repeat(image, 3, axis=2)
        if image.shape[2] == 4:
            return np.ascontiguousarray(image[:, :, :3])
    shape = getattr(image, "shape", None)
    dtype = getattr(image, "dtype", type(image).__name__)
    raise ValueError(f"image must be a uint8 array [H, W, 3] (RGB), [H, W] or [H, W, 1] (grayscale) or "
                     f"[H, W, 4] (RGBA), got shape {shape} dtype {dtype}")


def check_image(image: Any) -> None:
    """Raise ValueError unless ``image`` is a frame :func:`as_rgb` accepts."""
    as_rgb(image)
