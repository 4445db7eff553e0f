"""Reading images from disk as RGB ``uint8`` arrays ``[H, W, 3]``.

JPEG files (``.jpg``/``.jpeg``) are decoded with jpeg4py (libturbojpeg) when that library works
on this machine, with OpenCV as the fallback; every other format goes through OpenCV
(``cv2.imdecode`` + BGR -> RGB). Grayscale images are expanded to 3 channels, alpha is dropped.
EXIF orientation is ignored by both back ends, so pixels match the annotations whichever decodes.

Reduced-size decoding (:class:`EncodedImage`, the training loader's path): :func:`read_encoded` reads and
checks a file without decoding it; :meth:`EncodedImage.decode` with ``reduction`` k in (1, 2, 4, 8) then
decodes a JPEG at 1/k of its size in the DCT domain (libjpeg-turbo's scaled IDCT): through jpeg4py (which
passes the scaled size to ``tjDecompress2``) when it works, else ``cv2.IMREAD_REDUCED_COLOR_k``. The
output is ``ceil(H / k) x ceil(W / k)`` and its pixel ``(i, j)`` covers the full image's
``[k j, k (j + 1)) x [k i, k (i + 1))``, so full-image coordinates are reduced ones times k. Other
formats always decode at full size (reduction 1).

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

__all__ = ["JPEG_REDUCTIONS", "EncodedImage", "ImageReadError", "imread_rgb", "jpeg4py_available",
           "read_encoded"]

#: the DCT-domain scale factors :meth:`EncodedImage.decode` uses (1/k of the size)
JPEG_REDUCTIONS = (1, 2, 4, 8)
_CV2_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}

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


def _decode_jpeg4py(buffer: np.ndarray, reduction: int = 1) -> np.ndarray | None:
    """jpeg4py decode; at ``1 / reduction`` of the size (DCT scaling) when ``reduction > 1``."""
    import jpeg4py
    try:
        jpeg = jpeg4py.JPEG(buffer)
        jpeg.parse_header()
        k = int(reduction)
        # tjDecompress2 picks the largest scale factor whose output fits the given size: TJSCALED = ceil(dim / k)
        out = np.empty((-(-jpeg.height // k), -(-jpeg.width // k), 3), np.uint8)
        return jpeg.decode(out)
    except (jpeg4py.JPEGRuntimeError, OSError, RuntimeError, ValueError):
        return None


def _decode_opencv_reduced(buffer: np.ndarray, reduction: int) -> np.ndarray | None:
    image = cv2.imdecode(buffer, _CV2_REDUCED[reduction] | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _finish(path: str, image: np.ndarray | None) -> np.ndarray:
    if image is None:
        raise ImageReadError(path, "corrupt file or unsupported image format")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageReadError(path, f"decoded to unexpected shape {image.shape} / dtype {image.dtype}")
    return np.ascontiguousarray(image)


class EncodedImage:
    """A read and checked, not yet decoded image file (see module docstring): ``path``, ``data`` (bytes as
    ``uint8``), ``is_jpeg``. :meth:`decode` gives the RGB pixels at full or reduced size."""

    __slots__ = ("path", "data", "is_jpeg")

    def __init__(self, path: str, data: np.ndarray, is_jpeg: bool):
        self.path = path
        self.data = data
        self.is_jpeg = is_jpeg

    def decode(self, reduction: int = 1) -> tuple[np.ndarray, int]:
        """``(RGB uint8 [H', W', 3], k)``: the image at ``1 / k`` of its size, ``k = reduction`` for a JPEG
        (one of :data:`JPEG_REDUCTIONS`), 1 for other formats; :class:`ImageReadError` names the file."""
        if reduction not in JPEG_REDUCTIONS:
            raise ValueError(f"reduction must be one of {JPEG_REDUCTIONS}, got {reduction}")
        if not self.is_jpeg:
            return _finish(self.path, _decode_opencv(self.data)), 1
        image = None
        if jpeg4py_available():
            image = _decode_jpeg4py(self.data, reduction)
        if image is None:
            image = _decode_opencv(self.data) if reduction == 1 else _decode_opencv_reduced(self.data, reduction)
        return _finish(self.path, image), int(reduction)


def _read_checked(path: str) -> tuple[bytes, bool]:
    """The file's bytes and whether it is a JPEG; :class:`ImageReadError` if missing, empty or truncated."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as err:
        raise ImageReadError(path, f"{type(err).__name__}: {err}") from err
    if not data:
        raise ImageReadError(path, "file is empty")
    is_jpeg = path.lower().endswith(JPEG_EXTENSIONS) or data.startswith(_SOI)
    if is_jpeg and not jpeg_is_complete(data):
        raise ImageReadError(path, "truncated or corrupt JPEG (no end-of-image marker after the scan data)")
    return data, is_jpeg


def read_encoded(path: str | os.PathLike) -> EncodedImage:
    """Read and check ``path`` without decoding it (:class:`ImageReadError` as :func:`imread_rgb`)."""
    path = os.fspath(path)
    data, is_jpeg = _read_checked(path)
    return EncodedImage(path, np.frombuffer(data, dtype=np.uint8), is_jpeg)


def imread_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read ``path`` as an RGB ``uint8`` array ``[H, W, 3]``; :class:`ImageReadError` on any failure."""
    return read_encoded(path).decode(1)[0]
