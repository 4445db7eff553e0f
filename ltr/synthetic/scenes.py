"""Procedural tracking scenes from real photographs: planning (geometry) and rendering (pixels).

A sequence is fully determined by ``(seed, split, index, SceneConfig)``. It is built in two steps:

1. :func:`plan_sequence` draws every geometric quantity for all frames at once (cheap numpy arrays):
   the target's trajectory, size, aspect ratio and rotation, distractors, occluders, out-of-view
   events, the camera path and the illumination. From the plan come the annotations
   (``boxes``, ``out_of_view``, ``full_occlusion``) without rendering a pixel.
2. :func:`build_assets` makes the pixels that do not change over time (object textures with their
   masks as mip-pyramids, the background canvas, a sensor-noise tile); :func:`render_frame` then
   renders frame ``t`` independently of every other frame (random access; a few ms for 480x360).

Geometry conventions. Continuous image coordinates: pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``,
so a box ``[x, y, w, h]`` covering pixels 10..19 has ``x = 10, w = 10``. Every object is a shape in
normalised coordinates ``q`` in ``[-0.5, 0.5]^2`` (its unrotated tight box is that square) mapped to
the image by ``p = c + L q`` with ``L = R(angle) diag(w, h)``. The ground-truth box is the tight box
of the mapped shape, computed in closed form (float precision, not clipped to the image):

- ellipse inscribed in the square: half-extent along x is ``sqrt(L00^2 + L01^2) / 2`` (y alike);
- rounded square with corner radius ``r``: ``(|L00| + |L01|) (1/2 - r) + r sqrt(L00^2 + L01^2)``
  (the shape is a square Minkowski-summed with a disc, and linear maps preserve Minkowski sums);
- polygon: min/max of the mapped vertices.

Visibility flags come from sample points spread over the target's mask: ``out_of_view`` when fewer
than :data:`OUT_OF_VIEW_FRACTION` of them lie inside the image; ``full_occlusion`` when the target
is in view but fewer than :data:`FULL_OCCLUSION_FRACTION` of its in-image points are uncovered by
occluders. Distractors are drawn behind the target and never occlude it.

Photographs (``skimage.data``, shipped with scikit-image, no download) are split per role and per
split so that train and test never share a photograph (:data:`PHOTO_POOLS`); procedural textures
(noise, stripes, checkers, shapes) are used in both splits with independent seeds.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Bump when the rendering or planning changes in a way that alters the output.
GENERATOR_VERSION = 1

#: Photographs by split and role. Train and test are disjoint (no photograph in both).
PHOTO_POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "objects": ("astronaut", "coffee", "immunohistochemistry", "colorwheel", "clock", "coins"),
        "backgrounds": ("stereo_motorcycle", "grass", "brick", "page", "cell"),
    },
    "test": {
        "objects": ("chelsea", "rocket", "camera", "retina", "logo"),
        "backgrounds": ("hubble_deep_field", "gravel", "moon", "text"),
    },
}
SPLIT_CODES = {"train": 1, "test": 2}

#: Challenges; each sequence has a primary one (cycled by index) and random secondary ones.
CHALLENGES = ("scale_change", "occlusion", "distractors", "out_of_view", "fast_motion",
              "small_target", "illumination", "appearance_change")

OUT_OF_VIEW_FRACTION = 0.25
FULL_OCCLUSION_FRACTION = 0.1
TEXTURE_LONG_SIDE = 160
NOISE_MARGIN = 64
PROCEDURAL_CLASS = "blob"
#: Probability that a photo target is shown on its own photograph (camouflage).
CAMOUFLAGE_PROB = 0.3


# ----------------------------------------------------------------------------------------------
# configuration and shapes


@dataclass(frozen=True)
class SceneConfig:
    """Parameters shared by all sequences of a set.

    ``image_size`` is ``(width, height)``; ``photo_fraction`` the probability that an object or a
    background is a photograph crop rather than procedural; ``secondary_challenge_prob`` the
    probability of each non-primary challenge.
    """

    image_size: tuple[int, int] = (480, 360)
    num_frames: int = 150
    photo_fraction: float = 0.7
    secondary_challenge_prob: float = 0.25

    def __post_init__(self) -> None:
        w, h = self.image_size
        if int(w) != w or int(h) != h or w < 32 or h < 32:
            raise ValueError(f"image_size: expected integers (width, height) >= 32, got {self.image_size!r}")
        if self.num_frames < 1:
            raise ValueError(f"num_frames: expected >= 1, got {self.num_frames}")
        if not 0.0 <= self.photo_fraction <= 1.0:
            raise ValueError(f"photo_fraction: expected in [0, 1], got {self.photo_fraction}")


@dataclass(frozen=True, eq=False)
class Shape:
    """An object's mask in normalised coordinates ``[-0.5, 0.5]^2`` (its tight box is that square).

    ``kind``: 'ellipse' | 'rounded_rect' | 'polygon'; ``radius``: corner radius of the rounded
    square (normalised, <= 0.5); ``vertices``: ``[V, 2]`` polygon in order.
    """

    kind: str
    radius: float = 0.0
    vertices: np.ndarray | None = None

    def contains(self, q: np.ndarray) -> np.ndarray:
        """Bool ``[...]``: points ``q [..., 2]`` (normalised coordinates) inside the shape."""
        x, y = q[..., 0], q[..., 1]
        if self.kind == "ellipse":
            return (2 * x) ** 2 + (2 * y) ** 2 <= 1.0
        if self.kind == "rounded_rect":
            r = self.radius
            dx = np.maximum(np.abs(x) - (0.5 - r), 0.0)
            dy = np.maximum(np.abs(y) - (0.5 - r), 0.0)
            return (np.abs(x) <= 0.5) & (np.abs(y) <= 0.5) & (dx ** 2 + dy ** 2 <= r * r)
        if self.kind == "polygon":
            inside = np.zeros(x.shape, dtype=bool)
            v = self.vertices
            for k in range(len(v)):  # even-odd ray casting, vectorised over points
                x1, y1 = v[k]
                x2, y2 = v[(k + 1) % len(v)]
                crosses = (y1 > y) != (y2 > y)
                with np.errstate(divide="ignore", invalid="ignore"):
                    x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                inside ^= crosses & (x < x_at)
            return inside
        raise ValueError(f"Shape.kind: unknown {self.kind!r}")

    def box_offsets(self, lin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tight box of the mapped shape relative to its centre: ``(lo [N, 2], hi [N, 2])``.

        ``lin [N, 2, 2]`` are the linear maps ``L``; the box is ``[c + lo, c + hi]``.
        """
        if self.kind == "polygon":
            mapped = np.einsum("nij,vj->nvi", lin, self.vertices)
            return mapped.min(axis=1), mapped.max(axis=1)
        row_norm = np.sqrt(lin[:, :, 0] ** 2 + lin[:, :, 1] ** 2)  # [N, 2]
        if self.kind == "ellipse":
            half = 0.5 * row_norm
        elif self.kind == "rounded_rect":
            r = self.radius
            half = (np.abs(lin[:, :, 0]) + np.abs(lin[:, :, 1])) * (0.5 - r) + r * row_norm
        else:
            raise ValueError(f"Shape.kind: unknown {self.kind!r}")
        return -half, half

    def mask(self, width: int, height: int, supersample: int = 4) -> np.ndarray:
        """Anti-aliased coverage ``float32 [height, width]`` of the shape stretched over the array."""
        s = supersample
        if self.kind != "polygon":  # closed-form inside test: 2x supersampling is enough
            s = min(s, 2)
        if self.kind == "polygon":  # rasterised at s x resolution with sub-pixel vertices
            pts = (self.vertices + 0.5) * np.array([width * s, height * s]) - 0.5
            big = np.zeros((height * s, width * s), np.uint8)
            cv2.fillPoly(big, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
            inside = big.astype(np.float32) / 255.0
        else:
            xs = ((np.arange(width * s) + 0.5) / (width * s) - 0.5)[None, :, None]
            ys = ((np.arange(height * s) + 0.5) / (height * s) - 0.5)[:, None, None]
            grid = np.concatenate(np.broadcast_arrays(xs, ys), axis=-1)
            inside = self.contains(grid).astype(np.float32)
        return cv2.resize(inside, (width, height), interpolation=cv2.INTER_AREA)


def random_shape(rng: np.random.Generator, kinds: tuple[str, ...] = ("ellipse", "rounded_rect", "polygon")
                 ) -> Shape:
    """A random shape: inscribed ellipse, rounded square, or star-shaped polygon spanning the square."""
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "rounded_rect":
        return Shape("rounded_rect", radius=float(rng.uniform(0.08, 0.35)))
    if kind == "polygon":
        nv = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, nv))
        ang = np.linspace(0, 2 * np.pi, nv, endpoint=False) * 0.5 + ang * 0.5  # spread the vertices
        ang = np.sort(ang)
        rad = rng.uniform(0.65, 1.0, nv)
        v = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
        v = (v - (v.min(0) + v.max(0)) / 2) / (v.max(0) - v.min(0))  # tight box = unit square
        return Shape("polygon", vertices=v)
    return Shape("ellipse")


def rotation_scale(angle: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``L = R(angle) diag(w, h)``: ``[N, 2, 2]`` from angles ``[N]`` (radians) and sizes ``[N, 2]``."""
    c, s = np.cos(angle), np.sin(angle)
    lin = np.empty((len(angle), 2, 2))
    lin[:, 0, 0] = c * size[:, 0]
    lin[:, 0, 1] = -s * size[:, 1]
    lin[:, 1, 0] = s * size[:, 0]
    lin[:, 1, 1] = c * size[:, 1]
    return lin


# ----------------------------------------------------------------------------------------------
# photographs and textures


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


def _pyramid(image: np.ndarray, min_side: int = 8) -> list[np.ndarray]:
    levels = [np.ascontiguousarray(image, dtype=np.float32)]
    while min(levels[-1].shape[:2]) >= 2 * min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


# ----------------------------------------------------------------------------------------------
# planning (geometry for all frames)


@dataclass(eq=False)
class ObjectPlan:
    """One object over all frames: shape, texture recipe and per-frame state (arrays over frames)."""

    role: str                 # 'target' | 'distractor' | 'occluder'
    shape: Shape
    source: str               # photograph name or 'procedural'
    texture_size: tuple[int, int]
    center: np.ndarray        # [N, 2]
    size: np.ndarray          # [N, 2] (w, h) of the unrotated object
    angle: np.ndarray         # [N] radians
    gain: np.ndarray          # [N, 3] per-channel brightness of this object
    blend: np.ndarray         # [N] weight of the second texture (appearance change)
    blur_exposure: float = 0.5

    @property
    def linear(self) -> np.ndarray:
        return rotation_scale(self.angle, self.size)

    def boxes(self) -> np.ndarray:
        """``[N, 4]`` tight boxes ``[x, y, w, h]`` (closed form, see the module docstring)."""
        lo, hi = self.shape.box_offsets(self.linear)
        return np.concatenate([self.center + lo, hi - lo], axis=1)


@dataclass(eq=False)
class SequencePlan:
    """Everything about one sequence except pixels; annotations included."""

    split: str
    index: int
    seed: int
    config: SceneConfig
    object_class: str
    challenges: tuple[str, ...]
    background_source: str
    target: ObjectPlan
    distractors: list[ObjectPlan]
    occluders: list[ObjectPlan]
    camera: np.ndarray        # [N, 3]: view centre x, y in the canvas, zoom
    canvas_size: tuple[int, int]
    illumination: np.ndarray  # [N, 3] per-channel global gain
    noise_sigma: float
    boxes: np.ndarray = field(default=None)           # [N, 4]
    out_of_view: np.ndarray = field(default=None)     # [N] bool
    full_occlusion: np.ndarray = field(default=None)  # [N] bool
    visible_fraction: np.ndarray = field(default=None)  # [N] share of the mask in view and uncovered

    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    @property
    def visible(self) -> np.ndarray:
        return ~(self.out_of_view | self.full_occlusion)

    def rng_key(self, *extra: int) -> list[int]:
        return [GENERATOR_VERSION, self.seed, SPLIT_CODES[self.split], self.index, *extra]

    def description(self) -> str:
        """One sentence for ``nlp.txt``."""
        what = {"ellipse": "oval", "rounded_rect": "rounded tile", "polygon": "polygonal piece"}[self.target.shape.kind]
        src = ("a procedural texture" if self.target.source == "procedural"
               else f"the {self.target.source.replace('_', ' ')} photograph")
        extra = f", among {len(self.distractors)} similar objects" if self.distractors else ""
        return f"the {what} cut from {src}{extra}"


def smooth_curve(rng: np.random.Generator, num_frames: int, cycles_per_100: float, num_terms: int = 3
                 ) -> np.ndarray:
    """A smooth function of time in [-1, 1]: normalised sum of sinusoids.

    ``u(t) = sum_k a_k sin(2 pi f_k t / 100 + phi_k) / sum_k a_k`` with ``f_k ~ U(0.15, 1) * cycles_per_100``.
    Always draws ``3 * num_terms`` numbers, whatever ``num_frames``.
    """
    t = np.arange(num_frames, dtype=np.float64)
    freqs = rng.uniform(0.15, 1.0, num_terms) * cycles_per_100
    phases = rng.uniform(0, 2 * np.pi, num_terms)
    amps = rng.uniform(0.3, 1.0, num_terms)
    u = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None] / 100.0 + phases[:, None])).sum(0)
    return u / amps.sum()


def _spread(u: np.ndarray, gain: float = 1.8) -> np.ndarray:
    """Push a [-1, 1] curve towards its ends while staying smooth: ``tanh(g u) / tanh(g)``."""
    return np.tanh(gain * u) / np.tanh(gain)


def _window(num_frames: int, start: int, stop: int, ramp: int) -> np.ndarray:
    """0 outside ``[start, stop]``, 1 on the plateau, raised-cosine ramps of ``ramp`` frames."""
    t = np.arange(num_frames, dtype=np.float64)
    up = np.clip((t - start) / max(ramp, 1), 0, 1)
    down = np.clip((stop - t) / max(ramp, 1), 0, 1)
    w = np.minimum(up, down)
    return 0.5 - 0.5 * np.cos(np.pi * w)


def _keep_inside(center_u: np.ndarray, lo: np.ndarray, hi: np.ndarray, image_wh: np.ndarray) -> np.ndarray:
    """Map ``u`` in [-1, 1]^2 to centres that keep the box ``[c + lo, c + hi]`` inside the image."""
    low = -lo + 1.0
    high = image_wh[None] - hi - 1.0
    mid = (low + high) / 2
    half = np.maximum((high - low) / 2, 0.0)
    return mid + half * center_u


def plan_sequence(seed: int, split: str, index: int, config: SceneConfig,
                  still: bool = False) -> SequencePlan:
    """Plan sequence ``index`` of ``split`` (deterministic in ``(seed, split, index, config)``).

    ``still``: a still-image sample (one frame, no motion events; used by ``StillImagePairs``).
    """
    if split not in PHOTO_POOLS:
        raise ValueError(f"split: expected one of {sorted(PHOTO_POOLS)}, got {split!r}")
    if index < 0:
        raise ValueError(f"index: expected >= 0, got {index}")
    n = config.num_frames
    img_w, img_h = config.image_size
    image_wh = np.array([img_w, img_h], np.float64)
    rng = np.random.default_rng([GENERATOR_VERSION, seed, SPLIT_CODES[split], index, 0 if not still else 7])
    pools = PHOTO_POOLS[split]

    primary = CHALLENGES[index % len(CHALLENGES)]
    challenges = {primary} | {c for c in CHALLENGES if rng.random() < config.secondary_challenge_prob}
    if still:
        challenges -= {"out_of_view", "fast_motion", "scale_change", "illumination", "appearance_change"}
    if n < 30:
        challenges.discard("out_of_view")
    challenges_t = tuple(c for c in CHALLENGES if c in challenges)

    # --- target appearance
    use_photo = rng.random() < config.photo_fraction
    source = str(rng.choice(pools["objects"])) if use_photo else "procedural"
    object_class = source if use_photo else PROCEDURAL_CLASS
    shape = random_shape(rng)
    aspect0 = float(np.exp(rng.uniform(np.log(0.45), np.log(2.2))))
    short = min(img_w, img_h)
    if "small_target" in challenges:
        side0 = rng.uniform(0.05, 0.09) * short
    else:
        side0 = rng.uniform(0.12, 0.3) * short
    base_wh = np.array([side0 * math.sqrt(aspect0), side0 / math.sqrt(aspect0)])
    tex_size = _texture_size(aspect0)

    # --- size, aspect ratio, rotation over time
    t01 = np.arange(n) / max(n - 1, 1) - 0.5
    if "scale_change" in challenges:
        trend = float(rng.choice([-1.0, 1.0]) * rng.uniform(np.log(1.8), np.log(3.0)))
        wobble, aspect_amp = 0.15, 0.3
        aspect_trend = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0))
    else:
        trend = float(rng.uniform(-np.log(1.3), np.log(1.3)))
        wobble, aspect_amp = 0.07, 0.2
        aspect_trend = float(rng.uniform(-0.4, 0.4))
    log_s = trend * t01 + wobble * smooth_curve(rng, n, 1.0)
    log_a = aspect_trend * t01 + aspect_amp * smooth_curve(rng, n, 1.0)
    size = base_wh[None] * np.exp(log_s)[:, None] * np.stack([np.exp(log_a / 2), np.exp(-log_a / 2)], 1)
    geo = np.sqrt(size[:, 0] * size[:, 1])
    min_side = 12.0 if "small_target" in challenges else 16.0
    size *= (np.clip(geo, min_side, 0.55 * short) / geo)[:, None]
    angle = rng.uniform(-0.12, 0.12) + rng.uniform(0.0, 0.35) * smooth_curve(rng, n, 0.8)
    if still:
        size, angle = size[:1].repeat(n, 0), angle[:1].repeat(n)

    # --- trajectory
    speed = rng.uniform(2.5, 4.0) if "fast_motion" in challenges else rng.uniform(0.5, 1.6)
    lin = rotation_scale(angle, size)
    lo, hi = shape.box_offsets(lin)
    u = np.stack([_spread(smooth_curve(rng, n, speed)), _spread(smooth_curve(rng, n, speed))], 1)
    center = _keep_inside(0.95 * u, lo, hi, image_wh)

    if "out_of_view" in challenges:
        dur = int(rng.integers(max(8, n // 10), max(9, n // 5) + 1))
        ramp = max(3, dur // 4)
        start = int(rng.integers(int(0.3 * n), max(int(0.3 * n) + 1, int(0.85 * n) - dur)))
        stop = min(start + dur, n - 1)
        win = _window(n, start, stop, ramp)
        plateau = win > 0.999
        mid = (start + stop) // 2
        # nearest edge at the event's middle: push the whole box past it by 10% of its size
        dists = np.array([center[mid, 0], img_w - center[mid, 0], center[mid, 1], img_h - center[mid, 1]])
        edge = int(np.argmin(dists))
        axis = edge // 2
        extent = hi[:, axis] - lo[:, axis]
        if edge % 2 == 0:   # left / top: need c + hi < -margin
            need = center[:, axis] + hi[:, axis] + 0.1 * extent
            shift = -np.max(need[plateau]) if plateau.any() else 0.0
        else:               # right / bottom: need c + lo > W + margin
            need = image_wh[axis] + 0.1 * extent - (center[:, axis] + lo[:, axis])
            shift = np.max(need[plateau]) if plateau.any() else 0.0
        center[:, axis] += shift * win

    gain = np.ones((n, 3))
    blend = np.zeros(n)
    if "appearance_change" in challenges:
        blend = rng.uniform(0.5, 0.85) * _window(n, int(rng.integers(0, n // 3 + 1)), n + n, n // 2)
        gain = gain * np.exp(0.25 * smooth_curve(rng, n, 1.0))[:, None] * (
            1 + 0.1 * np.stack([smooth_curve(rng, n, 1.0) for _ in range(3)], 1))
    target = ObjectPlan("target", shape, source, tex_size, center, size, angle, gain, blend,
                        blur_exposure=0.8 if "fast_motion" in challenges else 0.5)

    # --- distractors: same source, similar shape and size, behind the target
    num_d = int(rng.integers(2, 5)) if "distractors" in challenges else int(rng.integers(0, 3))
    distractors = []
    for _ in range(num_d):
        d_shape = shape if rng.random() < 0.7 else random_shape(rng)
        d_size = size * rng.uniform(0.8, 1.2) * np.exp(rng.uniform(-0.15, 0.15) * np.array([1, -1]))[None]
        d_angle = angle + rng.uniform(-0.2, 0.2)
        if "distractors" in challenges:  # orbit the target and cross it
            radius = rng.uniform(0.6, 1.6) * np.sqrt(size[:, 0] * size[:, 1])
            off = np.stack([smooth_curve(rng, n, max(speed, 1.0)), smooth_curve(rng, n, max(speed, 1.0))], 1)
            d_center = center + 1.5 * radius[:, None] * off
        else:
            d_lo, d_hi = d_shape.box_offsets(rotation_scale(d_angle, d_size))
            d_u = np.stack([_spread(smooth_curve(rng, n, speed)), _spread(smooth_curve(rng, n, speed))], 1)
            d_center = _keep_inside(0.95 * d_u, d_lo, d_hi, image_wh)
        if still:
            d_center = d_center[:1].repeat(n, 0)
        distractors.append(ObjectPlan("distractor", d_shape, source, tex_size, d_center, d_size, d_angle,
                                      np.ones((n, 3)), np.zeros(n)))

    # --- occluders: patches from background photos passing over the target
    if "occlusion" in challenges:
        num_o, kinds = int(rng.integers(2, 4)), ["full"] + ["partial"] * 3
    else:
        num_o, kinds = int(rng.integers(0, 2)), ["partial"] * 3
    occluders = []
    lo_t, hi_t = int(0.2 * n), int(0.92 * n)
    for k in range(num_o):
        kind = kinds[k]
        t_k = int(rng.integers(lo_t, max(lo_t + 1, hi_t))) if not still else 0
        ext_t = float(np.sqrt(size[t_k, 0] * size[t_k, 1]))
        if kind == "full":
            o_side = ext_t * rng.uniform(1.6, 2.2)
            cross = int(rng.integers(20, 36))
            perp = 0.0
        else:
            o_side = ext_t * rng.uniform(0.5, 0.9)
            cross = int(rng.integers(8, 24))
            perp = rng.uniform(0.2, 0.5) * ext_t * rng.choice([-1.0, 1.0])
        o_aspect = float(np.exp(rng.uniform(-0.5, 0.5)))
        o_size = np.array([o_side * math.sqrt(o_aspect), o_side / math.sqrt(o_aspect)])
        phi = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(phi), np.sin(phi)])
        speed_rel = (ext_t + o_side) / cross
        tt = np.arange(n, dtype=np.float64) - t_k
        follow = 0.7 * center + 0.3 * center[t_k][None]
        o_center = follow + perp * np.array([-direction[1], direction[0]])[None] + tt[:, None] * speed_rel * direction
        if still:
            o_center = center[:1] + perp * np.array([-direction[1], direction[0]])[None] + rng.uniform(0.3, 0.6) * ext_t * direction
            o_center = o_center.repeat(n, 0)
            o_size = o_size * 0.6
        o_shape = random_shape(rng, ("ellipse", "rounded_rect"))
        o_src = (str(rng.choice(pools["backgrounds"])) if rng.random() < config.photo_fraction else "procedural")
        occluders.append(ObjectPlan("occluder", o_shape, o_src, _texture_size(o_aspect), o_center,
                                    np.repeat(o_size[None], n, 0), np.full(n, rng.uniform(-0.3, 0.3)),
                                    np.ones((n, 3)), np.zeros(n), blur_exposure=0.3))

    # --- camera, illumination, noise
    camouflage = rng.random() < CAMOUFLAGE_PROB and source != "procedural"
    bg_photo = rng.random() < config.photo_fraction
    background_source = str(rng.choice(pools["backgrounds"])) if bg_photo else "procedural"
    if camouflage:  # the background is another part of the target's own photograph
        background_source = source
    canvas_size = (int(math.ceil(img_w * 1.3)), int(math.ceil(img_h * 1.3)))
    zoom = 1.0 + 0.12 * (smooth_curve(rng, n, 0.6) + 1) / 2
    cam_u = np.stack([smooth_curve(rng, n, 0.6), smooth_curve(rng, n, 0.6)], 1)
    half_view = np.stack([img_w / (2 * zoom), img_h / (2 * zoom)], 1)
    canvas_half = np.array(canvas_size, np.float64)[None] / 2
    cam_xy = canvas_half + (canvas_half - half_view) * 0.9 * cam_u
    camera = np.concatenate([cam_xy, zoom[:, None]], 1)
    illum_amp, cast_amp = (0.35, 0.12) if "illumination" in challenges else (0.1, 0.04)
    illumination = np.exp(illum_amp * smooth_curve(rng, n, 1.2))[:, None] * (
        1 + cast_amp * np.stack([smooth_curve(rng, n, 1.0) for _ in range(3)], 1))
    noise_sigma = float(rng.uniform(1.0, 4.0))
    if still:
        camera, illumination = camera[:1].repeat(n, 0), illumination[:1].repeat(n, 0)

    if not still:  # the first frames (the tracker's initial box) are never occluded
        pts = _mask_points(shape)
        head = min(n, 3)
        image_pts = center[:head, None, :] + np.einsum("nij,kj->nki", rotation_scale(angle[:head], size[:head]), pts)
        occluders = [o for o in occluders if not _covers(o, image_pts, slice(0, head)).any()]
    plan = SequencePlan(split, index, seed, config, object_class, challenges_t, background_source, target,
                        distractors, occluders, camera, canvas_size, illumination, noise_sigma)
    _annotate(plan)
    return plan


def _mask_points(shape: Shape, grid: int = 20) -> np.ndarray:
    """``[K, 2]`` normalised sample points on a ``grid x grid`` lattice inside ``shape``."""
    g = (np.arange(grid) + 0.5) / grid - 0.5
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    return pts[shape.contains(pts)]


def _covers(occ: ObjectPlan, image_pts: np.ndarray, frames: slice) -> np.ndarray:
    """Bool ``[N, K]``: image points ``[N, K, 2]`` (of frames ``frames``) inside occluder ``occ``."""
    inv = np.linalg.inv(rotation_scale(occ.angle[frames], occ.size[frames]))
    q = np.einsum("nij,nkj->nki", inv, image_pts - occ.center[frames][:, None, :])
    return occ.shape.contains(q)


def _texture_size(aspect: float) -> tuple[int, int]:
    if aspect >= 1:
        return TEXTURE_LONG_SIDE, max(8, int(round(TEXTURE_LONG_SIDE / aspect)))
    return max(8, int(round(TEXTURE_LONG_SIDE * aspect))), TEXTURE_LONG_SIDE


def _annotate(plan: SequencePlan, grid: int = 20) -> None:
    """Boxes and visibility flags from the geometry (sample points on the target's mask)."""
    target = plan.target
    plan.boxes = target.boxes()
    pts = _mask_points(target.shape, grid)
    image_pts = target.center[:, None, :] + np.einsum("nij,kj->nki", target.linear, pts)  # [N, K, 2]
    w, h = plan.config.image_size
    in_image = ((image_pts[..., 0] >= 0) & (image_pts[..., 0] < w)
                & (image_pts[..., 1] >= 0) & (image_pts[..., 1] < h))
    covered = np.zeros_like(in_image)
    for occ in plan.occluders:
        covered |= _covers(occ, image_pts, slice(None))
    visible = in_image & ~covered
    frac_in = in_image.mean(1)
    frac_vis = visible.mean(1)
    plan.visible_fraction = frac_vis
    plan.out_of_view = frac_in < OUT_OF_VIEW_FRACTION
    uncovered_of_in = frac_vis / np.maximum(frac_in, 1e-9)
    plan.full_occlusion = ~plan.out_of_view & (uncovered_of_in < FULL_OCCLUSION_FRACTION)


# ----------------------------------------------------------------------------------------------
# assets and rendering


@dataclass(eq=False)
class ObjectAssets:
    texture_a: list[np.ndarray]   # pyramid of float32 [h, w, 3]
    texture_b: list[np.ndarray]   # second appearance (same pyramid shapes)
    mask: list[np.ndarray]        # pyramid of float32 [h, w] coverage


@dataclass(eq=False)
class SceneAssets:
    canvas: np.ndarray            # uint8 [ch, cw, 3] background
    noise_tile: np.ndarray        # float32 [H + 64, W + 64, 3] unit Gaussian noise (shared, read-only)
    target: ObjectAssets
    distractors: list[ObjectAssets]
    occluders: list[ObjectAssets]


def _object_assets(tex_a: np.ndarray, tex_b: np.ndarray, shape: Shape) -> ObjectAssets:
    th, tw = tex_a.shape[:2]
    return ObjectAssets(_pyramid(tex_a), _pyramid(tex_b), _pyramid(shape.mask(tw, th)))


def build_assets(plan: SequencePlan) -> SceneAssets:
    """The pixels of a sequence that do not change over time (deterministic in the plan)."""
    rng = np.random.default_rng(plan.rng_key(1))
    tw, th = plan.target.texture_size
    t = plan.target
    palette_seed = int(rng.integers(2 ** 31))  # one colouring for all crops of a grey photograph
    if t.source == "procedural":
        kind = ("noise", "stripes", "checker", "shapes")[int(rng.integers(4))]
        tex_a = procedural_texture(np.random.default_rng(palette_seed), tw, th, kind)
        tex_b = colour_jitter(procedural_texture(np.random.default_rng(palette_seed + 1), tw, th, kind), rng, 0.3)
        crop = None
    else:
        tex_a, crop = photo_crop(rng, t.source, tw, th, palette_seed=palette_seed)
        tex_b, _ = photo_crop(rng, t.source, tw, th, anchor=crop, shift=rng.uniform(0.3, 0.6),
                              palette_seed=palette_seed)
        tex_b = colour_jitter(tex_b, rng, 0.2)
    target = _object_assets(tex_a, tex_b, t.shape)

    distractors = []
    for d in plan.distractors:
        if t.source == "procedural":
            tex = colour_jitter(procedural_texture(np.random.default_rng(palette_seed + 2 + len(distractors)),
                                                   tw, th, kind), rng, 0.25)
        elif rng.random() < 0.6:  # the target's own crop, mirrored and recoloured
            tex = colour_jitter(tex_a[:, ::-1] if rng.random() < 0.5 else tex_a[::-1], rng, 0.2)
        else:
            tex, _ = photo_crop(rng, t.source, tw, th, anchor=crop, shift=rng.uniform(0.5, 1.5),
                                palette_seed=palette_seed)
            tex = colour_jitter(tex, rng, 0.15)
        distractors.append(_object_assets(tex, tex, d.shape))

    occluders = []
    for o in plan.occluders:
        ow, oh = o.texture_size
        if o.source == "procedural":
            tex = procedural_texture(rng, ow, oh)
        else:
            tex, _ = photo_crop(rng, o.source, ow, oh, rel_size=(0.15, 0.5))
        occluders.append(_object_assets(tex, tex, o.shape))

    cw, ch = plan.canvas_size
    if plan.background_source == "procedural":
        canvas = procedural_texture(rng, cw, ch, ("noise", "shapes", "shapes")[int(rng.integers(3))])
    else:
        same = plan.background_source == t.source
        canvas, _ = photo_crop(rng, plan.background_source, cw, ch, rel_size=(0.6, 1.0),
                               palette_seed=palette_seed if same else None)
        canvas = colour_jitter(canvas, rng, 0.3 if same else 0.15)
    canvas = np.clip(canvas, 0, 255).round().astype(np.uint8)
    return SceneAssets(canvas, _noise_tile(*plan.config.image_size), target, distractors, occluders)


@functools.lru_cache(maxsize=4)
def _noise_tile(width: int, height: int) -> np.ndarray:
    """Unit Gaussian noise ``float32 [height + 64, width + 64, 3]``, one fixed tile per image size."""
    tile = np.random.default_rng([GENERATOR_VERSION, width, height]).standard_normal(
        (height + NOISE_MARGIN, width + NOISE_MARGIN, 3), dtype=np.float32)
    tile.setflags(write=False)
    return tile


def _motion_kernel(vec: np.ndarray) -> np.ndarray | None:
    length = float(np.hypot(*vec))
    if length < 1.5:
        return None
    k = 2 * int(math.ceil(length / 2)) + 1
    kernel = np.zeros((k, k), np.float32)
    c = (k - 1) / 2
    frac_bits = 4  # sub-pixel end points: coordinates in 1/16 px
    p0 = (int(round((c - vec[0] / 2) * 16)), int(round((c - vec[1] / 2) * 16)))
    p1 = (int(round((c + vec[0] / 2) * 16)), int(round((c + vec[1] / 2) * 16)))
    cv2.line(kernel, p0, p1, 1.0, 1, cv2.LINE_AA, frac_bits)
    total = float(kernel.sum())
    return kernel / total if total > 0 else None


def _draw_object(frame: np.ndarray, plan_obj: ObjectPlan, assets: ObjectAssets, t: int,
                 colour_gain: np.ndarray, alpha_out: np.ndarray | None = None) -> None:
    """Composite object ``plan_obj`` at frame ``t`` into ``frame`` (float32, in place)."""
    img_h, img_w = frame.shape[:2]
    lin = rotation_scale(plan_obj.angle[t:t + 1], plan_obj.size[t:t + 1])
    lo, hi = plan_obj.shape.box_offsets(lin)
    c = plan_obj.center[t]
    prev = plan_obj.center[max(t - 1, 0)]
    blur_vec = (c - prev) * plan_obj.blur_exposure
    margin = int(math.ceil(np.hypot(*blur_vec) / 2)) + 2
    x0 = max(int(math.floor(c[0] + lo[0, 0])) - margin, 0)
    y0 = max(int(math.floor(c[1] + lo[0, 1])) - margin, 0)
    x1 = min(int(math.ceil(c[0] + hi[0, 0])) + margin, img_w)
    y1 = min(int(math.ceil(c[1] + hi[0, 1])) + margin, img_h)
    if x1 <= x0 or y1 <= y0:
        return
    size = plan_obj.size[t]
    th0, tw0 = assets.mask[0].shape
    ratio = min(tw0 / max(size[0], 1e-6), th0 / max(size[1], 1e-6))  # texture px per image px
    level = int(np.clip(math.floor(math.log2(max(ratio, 1.0))), 0, len(assets.mask) - 1))
    mask = assets.mask[level]
    th, tw = mask.shape
    beta = float(plan_obj.blend[t])
    tex = assets.texture_a[level] if beta <= 0 else (
        (1 - beta) * assets.texture_a[level] + beta * assets.texture_b[level])
    a_mat = lin[0] @ np.diag([1.0 / tw, 1.0 / th])
    b_vec = c - np.array([x0, y0]) - 0.5 + a_mat @ np.array([0.5, 0.5]) - lin[0] @ np.array([0.5, 0.5])
    mat = np.hstack([a_mat, b_vec[:, None]])
    dsize = (x1 - x0, y1 - y0)
    colour = cv2.warpAffine(tex, mat, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, mat, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
    if alpha_out is not None:
        alpha_out[y0:y1, x0:x1] = np.maximum(alpha_out[y0:y1, x0:x1], alpha)
    premult = colour * (alpha[:, :, None] * colour_gain[None, None, :].astype(np.float32))
    kernel = _motion_kernel(blur_vec)
    if kernel is not None:
        premult = cv2.filter2D(premult, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        alpha = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    region = frame[y0:y1, x0:x1]
    region *= (1.0 - alpha)[:, :, None]
    region += premult


def render_frame(plan: SequencePlan, assets: SceneAssets, t: int, return_target_alpha: bool = False
                 ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Frame ``t`` as RGB uint8 ``[H, W, 3]`` (independent of other frames).

    Layers, back to front: background canvas seen by the moving, zooming camera; distractors; the
    target (appearance blend, own gain, motion blur along its velocity); occluders; then the global
    illumination gain and sensor noise. ``return_target_alpha`` also returns the target's coverage
    ``float32 [H, W]`` before motion blur (for checking the ground truth).
    """
    if not 0 <= t < plan.num_frames:
        raise ValueError(f"t: frame index {t} outside [0, {plan.num_frames})")
    img_w, img_h = plan.config.image_size
    cx, cy, z = plan.camera[t]
    ox, oy = cx - img_w / (2 * z), cy - img_h / (2 * z)
    cam = np.array([[z, 0, z * (0.5 - ox) - 0.5], [0, z, z * (0.5 - oy) - 0.5]])
    frame = cv2.warpAffine(assets.canvas, cam, (img_w, img_h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    ones = np.ones(3)
    for obj, obj_assets in zip(plan.distractors, assets.distractors):
        _draw_object(frame, obj, obj_assets, t, ones)
    alpha = np.zeros((img_h, img_w), np.float32) if return_target_alpha else None
    _draw_object(frame, plan.target, assets.target, t, plan.target.gain[t], alpha)
    for obj, obj_assets in zip(plan.occluders, assets.occluders):
        _draw_object(frame, obj, obj_assets, t, ones)
    gain = plan.illumination[t]
    frame = cv2.multiply(frame, (float(gain[0]), float(gain[1]), float(gain[2]), 0.0))
    rng = np.random.default_rng(plan.rng_key(2, t))
    dx, dy = (int(v) for v in rng.integers(0, NOISE_MARGIN + 1, 2))
    frame = cv2.scaleAdd(np.ascontiguousarray(assets.noise_tile[dy:dy + img_h, dx:dx + img_w]),
                         plan.noise_sigma, frame)
    out = cv2.add(frame, 0.0, dtype=cv2.CV_8U)  # saturating, rounded
    if return_target_alpha:
        return out, alpha
    return out
