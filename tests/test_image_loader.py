"""imread_rgb: formats, channel order, grayscale, and clear errors on bad files."""
import cv2
import numpy as np
import pytest
from conftest import skip_or_fail_in_ci

from ltr.data import image_loader
from ltr.data.image_loader import ImageReadError, imread_rgb


def _pattern(h=24, w=32):
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (255, 0, 0)      # left half red (RGB)
    image[:, w // 2:] = (0, 0, 255)       # right half blue
    return image


def _write(path, rgb, params=()):
    assert cv2.imwrite(str(path), rgb[..., ::-1].copy(), list(params))
    return path


@pytest.fixture(params=["jpeg4py", "opencv"])
def backend(request, monkeypatch):
    if request.param == "opencv":
        monkeypatch.setattr(image_loader, "jpeg4py_available", lambda: False)
    elif not image_loader.jpeg4py_available():
        skip_or_fail_in_ci("libturbojpeg not usable here")
    return request.param


def test_png_is_exact_rgb(tmp_path):
    image = _pattern()
    out = imread_rgb(_write(tmp_path / "a.png", image))
    assert out.dtype == np.uint8 and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, image)


def test_jpeg_rgb_order(tmp_path, backend):
    out = imread_rgb(_write(tmp_path / "a.jpg", _pattern(), [cv2.IMWRITE_JPEG_QUALITY, 98]))
    assert out.shape == (24, 32, 3) and out.dtype == np.uint8
    assert np.abs(out[12, 4].astype(int) - (255, 0, 0)).max() < 30
    assert np.abs(out[12, 28].astype(int) - (0, 0, 255)).max() < 30


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_grayscale_becomes_three_channels(tmp_path, suffix, backend):
    gray = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1))
    path = tmp_path / f"g{suffix}"
    assert cv2.imwrite(str(path), gray)
    out = imread_rgb(path)
    assert out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    assert abs(int(out[5, 31, 0]) - 248) < 10 and int(out[5, 0, 0]) < 10


def test_png_with_alpha_drops_alpha(tmp_path):
    rgba = np.dstack([_pattern()[..., ::-1], np.full((24, 32), 128, np.uint8)])
    assert cv2.imwrite(str(tmp_path / "a.png"), rgba)
    np.testing.assert_array_equal(imread_rgb(tmp_path / "a.png"), _pattern())


@pytest.mark.parametrize("fraction", [0.3, 0.9, 0.99])
def test_truncated_jpeg_raises(tmp_path, backend, fraction):
    rng = np.random.default_rng(0)
    noisy = (rng.random((96, 128, 3)) * 255).astype(np.uint8)
    data = _write(tmp_path / "full.jpg", noisy).read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ImageReadError, match="cut.jpg"):
        imread_rgb(truncated)


def test_truncated_png_raises(tmp_path):
    data = _write(tmp_path / "full.png", _pattern()).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.png"):
        imread_rgb(tmp_path / "cut.png")


def test_missing_empty_and_junk_files_raise_naming_file(tmp_path):
    with pytest.raises(ImageReadError, match="nothere.jpg.*not found"):
        imread_rgb(tmp_path / "nothere.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.jpg.*empty"):
        imread_rgb(tmp_path / "empty.jpg")
    (tmp_path / "junk.png").write_bytes(b"this is not an image at all")
    with pytest.raises(ImageReadError, match="junk.png"):
        imread_rgb(tmp_path / "junk.png")
    assert issubclass(ImageReadError, ValueError)


def test_jpeg4py_failure_falls_back_to_opencv(tmp_path, monkeypatch):
    monkeypatch.setattr(image_loader, "jpeg4py_available", lambda: True)
    monkeypatch.setattr(image_loader, "_decode_jpeg4py", lambda buffer, reduction=1: None)
    out = imread_rgb(_write(tmp_path / "a.jpg", _pattern(), [cv2.IMWRITE_JPEG_QUALITY, 98]))
    assert np.abs(out[12, 4].astype(int) - (255, 0, 0)).max() < 30


def test_backends_agree(tmp_path, monkeypatch):
    if not image_loader.jpeg4py_available():
        skip_or_fail_in_ci("libturbojpeg not usable here")
    path = _write(tmp_path / "a.jpg", _pattern())
    fast = imread_rgb(path)
    monkeypatch.setattr(image_loader, "jpeg4py_available", lambda: False)
    slow = imread_rgb(path)
    assert np.abs(fast.astype(int) - slow.astype(int)).max() <= 3
