"""Reading images from disk as RGB ``uint8`` arrays ``[H, W, 3]``.

JPEG files (``.jpg``/``.jpeg``) are decoded with jpeg4py (libturbojpeg) when that library works
on this machine, with OpenCV as the fallback; every other format goes through OpenCV
(``cv2.imdecode`` + BGR -> RGB). Grayscale images are expanded to 3 channels, alpha is dropped.
EXIF orientation is ignored by both back ends, so pixels match the annotations whichever decodes.

Every failure (missing, empty, corrupt or truncated file) raises :class:`ImageReadError`, which
names the file. OpenCV decodes a truncated JPEG *silently* (the missing part grey); jpeg4py
raises. To make both behave alike, a JPEG is only accepted when its end-of-image marker
(``FF D9``) comes after its last start-of-scan marker (``FF DA``) — inside the compressed data
``FF`` bytes are always stuffed, so neither marker can appear there by chance.
"""
from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np

__all__ = ["ImageReadError", "imread_rgb", "jpeg4py_available"]

JPEG_EXTENSIONS = (".jpg", ".jpeg")
_SOI = b"\xff\xd8"
_SOS = b"\xff\xda"
_EOI = b"\xff\xd9"


class ImageReadError(ValueError):
    """An image file could not be read; ``path`` holds the file."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


@lru_cache(maxsize=1)
def jpeg4py_available() -> bool:
    """True if jpeg4py imports and decodes a tiny JPEG (libturbojpeg present and working)."""
    try:
        import jpeg4py
        probe = np.zeros((8, 8, 3), np.uint8)
        ok, encoded = cv2.imencode(".jpg", probe)
        if not ok:
            return False
        decoded = jpeg4py.JPEG(np.frombuffer(encoded.tobytes(), np.uint8)).decode()
        return decoded.shape == (8, 8, 3)
    except (ImportError, OSError, RuntimeError, AttributeError, ValueError):
        return False


def jpeg_is_complete(data: bytes) -> bool:
    """A JPEG byte string is complete if it starts with SOI and an EOI follows the last SOS."""
    if not data.startswith(_SOI):
        return False
    last_sos = data.rfind(_SOS)
    return last_sos >= 0 and data.rfind(_EOI) > last_sos


def _decode_opencv(buffer: np.ndarray) -> np.ndarray | None:
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decode_jpeg4py(buffer: np.ndarray) -> np.ndarray | None:
    import jpeg4py
    try:
        return jpeg4py.JPEG(buffer).decode()
    except (jpeg4py.JPEGRuntimeError, OSError, RuntimeError, ValueError):
        return None


def imread_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read ``path`` as an RGB ``uint8`` array ``[H, W, 3]``; :class:`ImageReadError` on any failure."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as err:
        raise ImageReadError(path, f"{type(err).__name__}: {err}") from err
    if not data:
        raise ImageReadError(path, "file is empty")
    buffer = np.frombuffer(data, dtype=np.uint8)

    is_jpeg = path.lower().endswith(JPEG_EXTENSIONS) or data.startswith(_SOI)
    image = None
    if is_jpeg:
        if not jpeg_is_complete(data):
            raise ImageReadError(path, "truncated or corrupt JPEG (no end-of-image marker after the scan data)")
        if jpeg4py_available():
            image = _decode_jpeg4py(buffer)
    if image is None:
        image = _decode_opencv(buffer)
    if image is None:
        raise ImageReadError(path, "corrupt file or unsupported image format")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageReadError(path, f"decoded to unexpected shape {image.shape} / dtype {image.dtype}")
    return np.ascontiguousarray(image)
