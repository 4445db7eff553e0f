"""Frame source for the live demos: a camera or a video file, through one interface.

OpenCV delivers BGR frames; the conversion to RGB happens here, at the edge, so everything after
``FrameSource.read()`` sees RGB ``uint8`` arrays ``[H, W, 3]`` like the rest of the framework.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


class VideoSourceError(ValueError):
    """A camera or video file cannot be opened; the message names it."""


#: FFmpeg "codecs" that render text as frames (its tty/bintext demuxers open .txt, .nfo, .asc, ... files)
TEXT_CODECS = frozenset({"ansi", "bint", "xbin", "idf "})


def codec_fourcc(capture: cv2.VideoCapture) -> str:
    """The capture's codec as its four characters (``'h264'``, ``'mp4v'``, ``'ansi'``...)."""
    code = int(capture.get(cv2.CAP_PROP_FOURCC) or 0) & 0xFFFFFFFF
    return code.to_bytes(4, "little").decode("latin-1")


def looks_like_text(path: Path, probe_bytes: int = 4096) -> bool:
    """True when the file's first bytes are printable UTF-8 text (tabs and newlines allowed): no video
    container starts like that (MP4, AVI, MKV, WebM, MPEG-TS, GIF all have binary headers)."""
    with open(path, "rb") as f:
        head = f.read(probe_bytes)
    if not head:
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # a multi-byte character cut at the probe's end
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


class FrameSource:
    """Frames of a camera (``FrameSource.camera(index)``) or a file (``FrameSource.file(path)``).

    ``read()`` returns the next RGB frame or ``None`` at the end; iterating yields the frames.
    ``fps`` is the source's nominal frame rate (0.0 when unknown, e.g. many cameras),
    ``frame_count`` the file's frame count (0 for a camera). Use as a context manager or call
    ``release()``.
    """

    def __init__(self, capture: cv2.VideoCapture, name: str, is_camera: bool):
        self._capture = capture
        self.name = name
        self.is_camera = is_camera
        self.frames_read = 0

    @classmethod
    def camera(cls, index: int = 0) -> "FrameSource":
        """Open camera number ``index``; VideoSourceError if it cannot be opened or yields no frame."""
        if not isinstance(index, int) or index < 0:
            raise ValueError(f"camera index must be an int >= 0, got {index!r}")
        # OpenCV logs several backend warnings when no camera exists: silence them for the probe,
        # the caller gets one clear VideoSourceError instead
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            capture = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(previous)
        if not capture.isOpened():
            capture.release()
            raise VideoSourceError(f"cannot open camera {index} (no camera found, or it is in use)")
        return cls(capture, f"camera {index}", is_camera=True)

    @classmethod
    def file(cls, path: str | Path) -> "FrameSource":
        """Open the video file ``path``; VideoSourceError if missing or not decodable."""
        path = Path(path)
        if not path.is_file():
            raise VideoSourceError(f"video file not found: {path}")
        if looks_like_text(path):
            raise VideoSourceError(f"{path} is a text file, not a video (FFmpeg would render its text as frames)")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            capture.release()
            raise VideoSourceError(f"cannot decode video file: {path}")
        codec = codec_fourcc(capture)
        if codec in TEXT_CODECS:
            capture.release()
            raise VideoSourceError(f"{path} is not a video: its codec {codec!r} renders text as frames")
        return cls(capture, str(path), is_camera=False)

    @property
    def fps(self) -> float:
        value = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        return value if np.isfinite(value) and value > 0 else 0.0

    @property
    def frame_count(self) -> int:
        if self.is_camera:
            return 0
        return max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) reported by the source."""
        return int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def read(self) -> np.ndarray | None:
        """Next frame as RGB uint8 ``[H, W, 3]``, or None when the source has no more frames."""
        ok, frame_bgr = self._capture.read()
        if not ok or frame_bgr is None:
            return None
        self.frames_read += 1
        if frame_bgr.ndim == 2:
            return cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2RGB)
        if frame_bgr.shape[2] == 4:
            return cv2.cvtColor(frame_bgr, cv2.COLOR_BGRA2RGB)
        return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def release(self) -> None:
        self._capture.release()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def open_source(camera: int | None = None, source: str | Path | None = None) -> FrameSource:
    """The file ``source`` when given, else camera ``camera`` (default 0)."""
    if source is not None:
        return FrameSource.file(source)
    return FrameSource.camera(0 if camera is None else camera)


#: containers the ``mp4v`` codec of :class:`VideoWriter` is written to
VIDEO_OUTPUT_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi")


def check_video_output(path: str | Path) -> None:
    """``ValueError`` saying why ``path`` cannot take the annotated video: a container other than
    :data:`VIDEO_OUTPUT_SUFFIXES`, or a folder that cannot be made or written to. Checked before tracking starts."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_OUTPUT_SUFFIXES:
        raise ValueError(f"--save_video {path}: the file name must end in one of {', '.join(VIDEO_OUTPUT_SUFFIXES)} "
                         "(the video is written with the mp4v codec)")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--save_video {path}: cannot make the folder {folder}: {err.strerror or err}") from err
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--save_video {path}: the folder {folder} is not writable")


class VideoWriter:
    """Writes RGB frames to an mp4 (codec ``mp4v``); the size is fixed by the first frame."""

    def __init__(self, path: str | Path, fps: float):
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.path = Path(path)
        self.fps = float(fps)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, frame_rgb: np.ndarray) -> None:
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"frame must be RGB uint8 [H, W, 3], got {frame_rgb.shape} {frame_rgb.dtype}")
        size = (frame_rgb.shape[1], frame_rgb.shape[0])
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
            if not self._writer.isOpened():
                raise VideoSourceError(f"cannot write video file: {self.path}")
            self._size = size
        elif size != self._size:
            raise ValueError(f"frame size {size} differs from the first frame's {self._size}")
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
