"""Pixels of objects and backgrounds: photographs shipped with scikit-image (no download), procedural
textures, colour jitter and mip-pyramids."""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np

__all__ = ["colour_jitter", "is_grey_photo", "load_photo", "mip_pyramid", "photo_crop", "procedural_texture"]


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """A photograph of ``skimage.data`` as RGB uint8 (grey images repeated; RGBA put on white)."""
    import skimage.data

    if not hasattr(skimage.data, name):
        raise ValueError(f"photo name: skimage.data has no image {name!r}")
    image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # stereo pairs: the left view
        image = image[0]
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
    image = np.ascontiguousarray(image[:, :, :3])
    image.setflags(write=False)
    return image


@functools.lru_cache(maxsize=None)
def is_grey_photo(name: str) -> bool:
    """Whether photograph ``name`` has no colour (its three channels are equal)."""
    image = load_photo(name)
    return bool(np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(image[:, :, 0], image[:, :, 2]))


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3).astype(np.float32)


def _duotone(grey01: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour a [0, 1] map by interpolating between two or three random colours (a 256-entry palette)."""
    c0, c1, c2 = _random_colour(rng), _random_colour(rng), _random_colour(rng)
    g = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]
    if rng.random() < 0.5:
        palette = c0 * (1 - g) + c1 * g
    else:
        palette = np.where(g < 0.5, c0 + (c1 - c0) * (2 * g), c1 + (c2 - c1) * (2 * g - 1))
    index = np.clip(grey01 * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(cv2.merge([index, index, index]), palette.reshape(256, 1, 3).astype(np.float32))


def _smooth_noise(rng: np.random.Generator, width: int, height: int, octaves: int = 4,
                  base_cells: int = 3) -> np.ndarray:
    """Multi-octave value noise in [0, 1], ``float32 [height, width]``."""
    out = np.zeros((height, width), np.float32)
    total = 0.0
    for k in range(octaves):
        cells = base_cells * 2 ** k
        ch = max(2, int(round(cells * height / max(width, height))) + 1)
        cw = max(2, int(round(cells * width / max(width, height))) + 1)
        grid = rng.random((ch, cw)).astype(np.float32)
        weight = 0.55 ** k
        out += weight * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += weight
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def procedural_texture(rng: np.random.Generator, width: int, height: int, kind: str | None = None
                       ) -> np.ndarray:
    """A procedural colour texture ``float32 [height, width, 3]`` in [0, 255].

    ``kind``: 'noise' (coloured value noise), 'stripes', 'checker', 'shapes' (gradient with random
    rectangles and discs); random when None.
    """
    kinds = ("noise", "stripes", "checker", "shapes")
    kind = kind or kinds[int(rng.integers(len(kinds)))]
    if kind == "noise":
        return _duotone(_smooth_noise(rng, width, height, base_cells=int(rng.integers(2, 6))), rng)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind in ("stripes", "checker"):
        period = float(rng.uniform(6, 24))
        a = float(rng.uniform(0, np.pi))
        u = (xx * np.cos(a) + yy * np.sin(a)) / period
        if kind == "stripes":
            g = 0.5 + 0.5 * np.sin(2 * np.pi * u)
        else:
            v = (-xx * np.sin(a) + yy * np.cos(a)) / period
            g = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
            g = cv2.GaussianBlur(g, (0, 0), 0.8)
        g = 0.8 * g + 0.2 * _smooth_noise(rng, width, height, octaves=3)
        return _duotone(g, rng)
    if kind == "shapes":
        if rng.random() < 0.5:  # linear gradient
            c0, c1 = _random_colour(rng), _random_colour(rng)
            a = float(rng.uniform(0, 2 * np.pi))
            ramp = (xx * np.cos(a) + yy * np.sin(a))
            ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
            img = (c0 * (1 - ramp[:, :, None]) + c1 * ramp[:, :, None]).astype(np.float32)
        else:  # coloured noise
            img = np.ascontiguousarray(_duotone(_smooth_noise(rng, width, height, base_cells=4), rng),
                                       dtype=np.float32)
        for _ in range(int(rng.integers(6, 20))):
            colour = tuple(float(c) for c in _random_colour(rng))
            cx, cy = int(rng.integers(width)), int(rng.integers(height))
            r = int(rng.integers(max(2, min(width, height) // 30), max(3, min(width, height) // 6)))
            if rng.random() < 0.5:
                cv2.circle(img, (cx, cy), r, colour, -1, cv2.LINE_AA)
            else:
                rh = int(rng.integers(max(2, r // 3), 2 * r + 1))
                cv2.rectangle(img, (cx - r, cy - rh), (cx + r, cy + rh), colour, -1, cv2.LINE_AA)
        return img
    raise ValueError(f"kind: unknown procedural texture {kind!r}")


def photo_crop(rng: np.random.Generator, name: str, width: int, height: int,
               rel_size: tuple[float, float] = (0.2, 0.6), anchor: np.ndarray | None = None,
               shift: float = 0.0, palette_seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A crop of photograph ``name`` with aspect ``width/height``, resized to ``[height, width, 3]`` float32.

    The crop's side is ``rel_size`` of the photo's shorter side. ``anchor`` (a previous crop's
    ``[x0, y0, cw, ch]``) with ``shift`` moves that crop by ``shift`` of its size in a random direction
    instead of drawing a new position. Grey photographs are coloured with a random duotone (drawn from
    ``palette_seed`` when given, so several crops can share one colouring).
    Returns the texture and the crop ``[x0, y0, cw, ch]``.
    """
    photo = load_photo(name)
    ph, pw = photo.shape[:2]
    aspect = width / height
    if anchor is None:
        side = rng.uniform(*rel_size) * min(pw, ph)
        cw = min(pw, side * math.sqrt(aspect))
        ch = min(ph, side / math.sqrt(aspect))
        cw, ch = min(cw, ch * aspect), min(ch, cw / aspect)
        x0 = rng.uniform(0, pw - cw)
        y0 = rng.uniform(0, ph - ch)
    else:
        x0, y0, cw, ch = (float(v) for v in anchor)
        a = rng.uniform(0, 2 * np.pi)
        x0 = float(np.clip(x0 + shift * cw * np.cos(a), 0, pw - cw))
        y0 = float(np.clip(y0 + shift * ch * np.sin(a), 0, ph - ch))
    sx, sy = width / cw, height / ch
    mat = np.array([[sx, 0, sx * (0.5 - x0) - 0.5], [0, sy, sy * (0.5 - y0) - 0.5]])
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
    src = photo
    if sx < 0.5:  # pre-shrink to avoid aliasing in warpAffine
        f = sx * 1.5
        src = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        mat = mat @ np.array([[1 / f, 0, 0.5 / f - 0.5], [0, 1 / f, 0.5 / f - 0.5], [0, 0, 1]])
        interp = cv2.INTER_LINEAR
    tex = cv2.warpAffine(src, mat, (width, height), flags=interp, borderMode=cv2.BORDER_REFLECT)
    tex = tex.astype(np.float32)
    if is_grey_photo(name):
        palette_rng = rng if palette_seed is None else np.random.default_rng(palette_seed)
        tex = _duotone(tex[:, :, 0] / 255.0, palette_rng)
    return tex, np.array([x0, y0, cw, ch])


def colour_jitter(tex: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Per-channel gain and offset: ``tex * (1 + strength u) + 40 strength v``, u, v ~ U(-1, 1)^3, clipped."""
    gain = 1 + strength * rng.uniform(-1, 1, 3)
    offset = 40 * strength * rng.uniform(-1, 1, 3)
    out = cv2.multiply(np.ascontiguousarray(tex, dtype=np.float32), (*gain.tolist(), 0.0))
    out = cv2.add(out, (*offset.tolist(), 0.0))
    return np.clip(out, 0, 255, out=out)


def mip_pyramid(image: np.ndarray, min_side: int = 8) -> list[np.ndarray]:
    levels = [np.ascontiguousarray(image, dtype=np.float32)]
    while min(levels[-1].shape[:2]) >= 2 * min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels
