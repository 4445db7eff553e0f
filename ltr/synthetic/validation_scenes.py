"""The validation benchmark's sequences: fixed scenarios, planned from a seed, rendered on real footage.

Each sequence of :data:`SCENARIOS` states its challenge (thin or elongated target up to 1:8, rotation
up to +-45 deg, fast motion with blur, out-of-view frames and re-appearance, approach or retreat with
2-3.5x scale change, occluders, a look-alike distractor); the seed draws the crops, start positions,
the random walks and event times (:mod:`ltr.synthetic.validation_motion`). Sources are those of
:mod:`ltr.synthetic.validation_sources` (never used by the demo benchmark).

Geometry: an object is a texture with a raster mask; ``p = c + L q`` maps normalised texture
coordinates ``q`` in ``[-0.5, 0.5]^2`` to the image, ``L = R(angle) diag(w, h)`` (as in
:mod:`ltr.synthetic.scenes`). The ground truth is the tight box of the mapped mask: min/max of the
mapped corners of the mask's pixels with coverage >= 0.5 (their convex hull). ``out_of_view``: fewer
than 25 % of the mask's sample points inside the image; ``full_occlusion``: in view but fewer than
10 % of its in-image points uncovered by occluders (the demo's thresholds).

Rendering of frame ``t``: the background video's frame (ping-pong over the clip) seen through a
slowly panning, zoomed view; then the distractor, the target (linear motion blur over
``blur_exposure`` of its displacement since the last frame) and the occluders; then sensor noise.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ltr.synthetic.rendering import composite
from ltr.synthetic.scenes import rotation_scale
from ltr.synthetic.validation_motion import (approach_scale, random_walk_path, raised_cosine_window, rotation_walk,
                                             speed_profile)
from ltr.synthetic.validation_sources import load_mask_image, load_target_image, load_video

#: Bump when planning or rendering changes the output.
VALIDATION_GENERATOR_VERSION = 1
OUT_OF_VIEW_FRACTION = 0.25
FULL_OCCLUSION_FRACTION = 0.1
TEXTURE_LONG_SIDE = 160
IMAGE_SIZE = (480, 360)


@dataclass(frozen=True)
class Scenario:
    """One sequence's recipe (sizes in pixels at the first frame, speeds in px/frame).

    ``mask``: 'rect' | 'ellipse' | 'rounded' | 'horse' (the silhouette);
    ``scale_growth``: scale at the end relative to the start (perspective approach, >1 grows);
    ``out_of_view``: frames ``(start, stop)`` the target spends outside the image (None: never);
    ``occluders``: kinds ('full' or 'partial'), one per occluder.
    """

    name: str
    num_frames: int
    target: str
    mask: str
    size: tuple[float, float]
    background: str
    challenges: tuple[str, ...]
    speed: tuple[float, float] = (1.5, 4.0)
    max_angle_deg: float = 0.0
    scale_growth: float = 1.0
    aspect_growth: float = 1.0
    out_of_view: tuple[int, int] | None = None
    occluders: tuple[str, ...] = ()
    distractor: bool = False
    blur_exposure: float = 0.5


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("thinpole", 200, "grace_hopper", "rect", (14, 100), "bikes",
             ("thin", "rotation", "fast_motion", "scale_change"), speed=(1.0, 9.0), max_angle_deg=45,
             scale_growth=0.55),
    Scenario("bikecrop", 200, "bikes", "ellipse", (56, 50), "bikes",
             ("fast_motion", "motion_blur", "out_of_view"), speed=(6.0, 15.0), out_of_view=(96, 106),
             blur_exposure=0.8),
    Scenario("carphone", 180, "carphone", "ellipse", (40, 48), "bunny",
             ("scale_change", "approach", "aspect_change"), speed=(1.0, 3.0), scale_growth=3.5,
             aspect_growth=1.4),
    Scenario("retina", 180, "microaneurysms", "rounded", (64, 48), "carphone",
             ("occlusion",), speed=(1.5, 4.0), occluders=("full", "partial", "partial")),
    Scenario("bunny", 200, "bunny", "rect", (60, 44), "bikes",
             ("distractor", "rotation"), speed=(2.0, 5.0), max_angle_deg=20, distractor=True),
    Scenario("hopperband", 200, "grace_hopper", "rect", (128, 16), "bunny",
             ("elongated", "rotation"), speed=(1.5, 5.0), max_angle_deg=45),
    Scenario("horse", 200, "bunny", "horse", (90, 70), "bikes",
             ("scale_change", "retreat", "occlusion"), speed=(1.0, 4.0), scale_growth=0.4, occluders=("partial",)),
    Scenario("carphonefast", 180, "carphone", "rect", (36, 44), "carphone",
             ("fast_motion", "motion_blur", "scale_change"), speed=(8.0, 13.0), scale_growth=2.0,
             blur_exposure=0.8),
    Scenario("hoppercombo", 200, "grace_hopper", "rounded", (48, 40), "bunny",
             ("distractor", "rotation", "out_of_view", "occlusion"), speed=(2.0, 6.0), max_angle_deg=30,
             out_of_view=(134, 140), occluders=("partial",), distractor=True),
)


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIOS]


@dataclass(eq=False)
class Layer:
    """An object over all frames: texture and mask pyramids, normalised hull and sample points, state."""

    texture: list[np.ndarray]   # float32 [h, w, 3] pyramid
    alpha: list[np.ndarray]     # float32 [h, w] pyramid
    hull: np.ndarray            # [K, 2] normalised corners of the mask's convex hull
    samples: np.ndarray         # [S, 2] normalised points inside the mask
    center: np.ndarray          # [N, 2]
    size: np.ndarray            # [N, 2] unrotated (w, h)
    angle: np.ndarray           # [N] radians
    blur_exposure: float = 0.5

    def boxes(self) -> np.ndarray:
        """``[N, 4]`` tight boxes ``[x, y, w, h]`` of the mapped mask."""
        mapped = self.center[:, None, :] + np.einsum("nij,kj->nki", rotation_scale(self.angle, self.size), self.hull)
        lo, hi = mapped.min(axis=1), mapped.max(axis=1)
        return np.concatenate([lo, hi - lo], axis=1)

    def covers(self, points: np.ndarray) -> np.ndarray:
        """Bool ``[N, K]``: image points ``[N, K, 2]`` under this object's mask (coverage >= 0.5)."""
        inv = np.linalg.inv(rotation_scale(self.angle, self.size))
        q = np.einsum("nij,nkj->nki", inv, points - self.center[:, None, :])
        mask = self.alpha[0]
        h, w = mask.shape
        col = np.floor((q[..., 0] + 0.5) * w).astype(np.int64)
        row = np.floor((q[..., 1] + 0.5) * h).astype(np.int64)
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        out = np.zeros(q.shape[:2], bool)
        out[inside] = mask[row[inside], col[inside]] >= 0.5
        return out


@dataclass(eq=False)
class ValidationPlan:
    """One sequence: its scenario, layers, background view and the annotations."""

    scenario: Scenario
    seed: int
    target: Layer
    distractors: list[Layer]
    occluders: list[Layer]
    background_frames: np.ndarray   # [N] index into the video per frame
    view: np.ndarray                # [N, 3]: view centre x, y in the video frame (px), zoom
    noise_sigma: float
    boxes: np.ndarray = field(default=None)
    out_of_view: np.ndarray = field(default=None)
    full_occlusion: np.ndarray = field(default=None)

    @property
    def num_frames(self) -> int:
        return self.scenario.num_frames

    def description(self) -> str:
        return f"the {self.scenario.target.replace('_', ' ')} target ({', '.join(self.scenario.challenges)})"


def _pyramid(image: np.ndarray, min_side: int = 4) -> list[np.ndarray]:
    levels = [np.ascontiguousarray(image, dtype=np.float32)]
    while min(levels[-1].shape[:2]) >= 2 * min_side:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _texture_shape(aspect: float) -> tuple[int, int]:
    """``(width, height)`` of a texture with aspect ``w/h``, long side :data:`TEXTURE_LONG_SIDE`."""
    if aspect >= 1:
        return TEXTURE_LONG_SIDE, max(4, int(round(TEXTURE_LONG_SIDE / aspect)))
    return max(4, int(round(TEXTURE_LONG_SIDE * aspect))), TEXTURE_LONG_SIDE


def _crop(rng: np.random.Generator, image: np.ndarray, aspect: float, tex_wh: tuple[int, int],
          rel_side: tuple[float, float]) -> np.ndarray:
    """A random crop of ``image`` with aspect ``aspect`` (w/h), resized to ``tex_wh``; float32."""
    ih, iw = image.shape[:2]
    side = rng.uniform(*rel_side) * min(iw, ih)
    cw = min(iw, side * math.sqrt(aspect))
    ch = min(ih, side / math.sqrt(aspect))
    cw, ch = min(cw, ch * aspect), min(ch, cw / aspect)
    x0, y0 = rng.uniform(0, iw - cw), rng.uniform(0, ih - ch)
    patch = image[int(y0):int(math.ceil(y0 + ch)), int(x0):int(math.ceil(x0 + cw))]
    return cv2.resize(patch, tex_wh, interpolation=cv2.INTER_AREA).astype(np.float32)


def _mask(kind: str, tex_wh: tuple[int, int]) -> np.ndarray:
    w, h = tex_wh
    if kind == "rect":
        return np.ones((h, w), np.float32)
    if kind in ("ellipse", "rounded"):
        s = 4
        yy, xx = np.mgrid[0:h * s, 0:w * s].astype(np.float32)
        qx, qy = (xx + 0.5) / (w * s) - 0.5, (yy + 0.5) / (h * s) - 0.5
        if kind == "ellipse":
            inside = (2 * qx) ** 2 + (2 * qy) ** 2 <= 1.0
        else:
            r = 0.2
            dx, dy = np.maximum(np.abs(qx) - (0.5 - r), 0), np.maximum(np.abs(qy) - (0.5 - r), 0)
            inside = dx ** 2 + dy ** 2 <= r * r
        return cv2.resize(inside.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    if kind == "horse":
        return cv2.resize(load_mask_image("horse"), (w, h), interpolation=cv2.INTER_AREA)
    raise ValueError(f"mask: unknown kind {kind!r}")


def _hull_and_samples(mask: np.ndarray, num_samples: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convex hull of the covered pixels' corners and up to ``num_samples`` inside points."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask >= 0.5)
    if rows.size == 0:
        raise ValueError("mask: no pixel with coverage >= 0.5")
    corners = np.concatenate([np.stack([cols + dx, rows + dy], 1) for dx in (0, 1) for dy in (0, 1)])
    hull = cv2.convexHull(corners.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    hull = hull / np.array([w, h]) - 0.5
    pick = np.linspace(0, rows.size - 1, min(num_samples, rows.size)).round().astype(np.int64)
    samples = np.stack([(cols[pick] + 0.5) / w - 0.5, (rows[pick] + 0.5) / h - 0.5], 1)
    return hull, samples


def _layer(texture: np.ndarray, mask: np.ndarray, center: np.ndarray, size: np.ndarray, angle: np.ndarray,
           blur_exposure: float) -> Layer:
    hull, samples = _hull_and_samples(mask)
    return Layer(_pyramid(texture), _pyramid(mask), hull, samples, center, size, angle, blur_exposure)


def _jitter(texture: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    gain = 1 + strength * rng.uniform(-1, 1, 3)
    offset = 30 * strength * rng.uniform(-1, 1, 3)
    return np.clip(texture * gain[None, None].astype(np.float32) + offset[None, None].astype(np.float32), 0, 255)


def _name_key(name: str) -> int:
    """A stable integer of a scenario name (for the random streams)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def plan_validation_sequence(scenario: Scenario, seed: int) -> ValidationPlan:
    """Plan one sequence (deterministic in ``(scenario, seed)``; see the module docstring)."""
    n = scenario.num_frames
    img_w, img_h = IMAGE_SIZE
    key = [VALIDATION_GENERATOR_VERSION, seed, _name_key(scenario.name)]
    rng = np.random.default_rng(key)

    # --- target texture and mask
    base = np.array(scenario.size, np.float64)
    aspect = base[0] / base[1]
    tex_wh = _texture_shape(aspect)
    texture = _crop(rng, load_target_image(scenario.target), aspect, tex_wh, (0.25, 0.6))
    mask = _mask(scenario.mask, tex_wh)

    # --- size, aspect, rotation
    start, stop = int(0.15 * n), int(0.9 * n)
    scale = approach_scale(n, scenario.scale_growth, start, stop)
    aspect_factor = approach_scale(n, scenario.aspect_growth, start, stop) if scenario.aspect_growth != 1 else np.ones(n)
    size = base[None] * scale[:, None] * np.stack([np.sqrt(aspect_factor), 1 / np.sqrt(aspect_factor)], 1)
    angle = (rotation_walk(rng, n, scenario.max_angle_deg, max_rate_deg=3.0) if scenario.max_angle_deg > 0
             else np.zeros(n))

    # --- position: random walk inside the image (margins from the rotated box), optional excursion
    half_extent = 0.5 * (np.abs(np.cos(angle))[:, None] * size + np.abs(np.sin(angle))[:, None] * size[:, ::-1])
    lo = half_extent + 4.0
    hi = np.array([img_w, img_h], np.float64)[None] - half_extent - 4.0
    hi = np.maximum(hi, lo + 1.0)
    start_xy = np.array([rng.uniform(0.3, 0.7) * img_w, rng.uniform(0.3, 0.7) * img_h])
    speeds = speed_profile(n, *scenario.speed)
    center = random_walk_path(rng, n, start_xy, lo, hi, speeds, accel_sigma=0.25 * max(scenario.speed))
    if scenario.out_of_view is not None:
        t0, t1 = scenario.out_of_view
        mid = (t0 + t1) // 2
        c = center[mid]
        # leave through the nearest border, far enough that the whole box is out
        dists = np.array([c[0], img_w - c[0], c[1], img_h - c[1]])
        side = int(np.argmin(dists))
        target_pt = c.copy()
        out = half_extent[mid] * 1.2 + 10.0
        if side == 0:
            target_pt[0] = -out[0]
        elif side == 1:
            target_pt[0] = img_w + out[0]
        elif side == 2:
            target_pt[1] = -out[1]
        else:
            target_pt[1] = img_h + out[1]
        # ramp long enough that the raised cosine's peak speed (pi/2 x mean) stays near the top speed
        reach = np.hypot(*(target_pt[None] - center[max(t0 - 60, 0):t1 + 60]).T).max()
        ramp = max(6, int(math.ceil(0.5 * math.pi * reach / max(scenario.speed))))
        window = raised_cosine_window(n, t0, t1, ramp)
        center = center + window[:, None] * (target_pt[None] - center)
    target = _layer(texture, mask, center, size, angle, scenario.blur_exposure)

    # --- look-alike distractor: the target's texture mirrored and recoloured, orbiting the target
    distractors = []
    if scenario.distractor:
        d_tex = _jitter(texture[:, ::-1], rng, 0.12)
        t = np.arange(n, dtype=np.float64)
        period = rng.uniform(60, 90)
        phase = rng.uniform(0, 2 * np.pi)
        ext = np.sqrt(size[:, 0] * size[:, 1])
        radius = ext * (0.6 + 1.8 * (0.5 + 0.5 * np.cos(2 * np.pi * t / period + phase)))
        orbit = 2 * np.pi * t / rng.uniform(90, 140) + rng.uniform(0, 2 * np.pi)
        d_center = center + radius[:, None] * np.stack([np.cos(orbit), np.sin(orbit)], 1)
        d_center = np.clip(d_center, lo, hi)
        distractors.append(_layer(d_tex, mask, d_center, size * rng.uniform(0.9, 1.1), -angle * 0.5,
                                  scenario.blur_exposure))

    # --- occluders: crops of real footage crossing the target's path
    occluders = []
    occ_frames = load_video("bikes")
    for k, kind in enumerate(scenario.occluders):
        t_k = int(rng.integers(int(0.25 * n), int(0.85 * n)))
        ext = float(np.sqrt(size[t_k, 0] * size[t_k, 1]))
        side = ext * (rng.uniform(1.7, 2.3) if kind == "full" else rng.uniform(0.5, 0.8))
        cross = int(rng.integers(24, 36)) if kind == "full" else int(rng.integers(10, 20))
        perp = 0.0 if kind == "full" else rng.uniform(0.25, 0.5) * ext * rng.choice([-1.0, 1.0])
        o_aspect = float(np.exp(rng.uniform(-0.4, 0.4)))
        o_size = np.array([side * math.sqrt(o_aspect), side / math.sqrt(o_aspect)])
        phi = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(phi), np.sin(phi)])
        tt = np.arange(n, dtype=np.float64) - t_k
        o_center = (0.6 * center + 0.4 * center[t_k][None] + perp * np.array([-direction[1], direction[0]])[None]
                    + tt[:, None] * ((ext + side) / cross) * direction)
        o_wh = _texture_shape(o_aspect)
        o_tex = _crop(rng, occ_frames[int(rng.integers(len(occ_frames)))], o_aspect, o_wh, (0.2, 0.5))
        o_mask = _mask("ellipse" if k % 2 == 0 else "rounded", o_wh)
        occluders.append(_layer(o_tex, o_mask, o_center, np.repeat(o_size[None], n, 0),
                                np.full(n, rng.uniform(-0.4, 0.4)), 0.3))
    # the first frames (the tracker's initial box) are never occluded
    head = min(n, 3)
    head_pts = center[:head, None, :] + np.einsum("nij,kj->nki", rotation_scale(angle[:head], size[:head]),
                                                  target.samples)
    occluders = [o for o in occluders if not _covers_head(o, head_pts, head)]

    # --- background footage: ping-pong over the clip, a slowly panning zoomed view
    frames = load_video(scenario.background)
    clip_len = len(frames)
    offset = int(rng.integers(clip_len))
    period = max(2 * clip_len - 2, 1)
    idx = (np.arange(n) + offset) % period
    background_frames = np.where(idx < clip_len, idx, period - idx)
    vh, vw = frames[0].shape[:2]
    zoom = max(img_w / vw, img_h / vh) * rng.uniform(1.15, 1.35)
    half_view = np.array([img_w, img_h]) / (2 * zoom)
    room = np.maximum(np.array([vw, vh]) / 2 - half_view, 0)
    a, b = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    s = np.linspace(0, 1, n)[:, None]
    view_xy = np.array([vw, vh])[None] / 2 + room[None] * 0.9 * ((1 - s) * a[None] + s * b[None])
    view = np.concatenate([view_xy, np.full((n, 1), zoom)], 1)

    plan = ValidationPlan(scenario, seed, target, distractors, occluders, background_frames, view,
                          float(rng.uniform(1.0, 3.0)))
    _annotate(plan)
    return plan


def _covers_head(occ: Layer, points: np.ndarray, head: int) -> bool:
    sub = Layer(occ.texture, occ.alpha, occ.hull, occ.samples, occ.center[:head], occ.size[:head], occ.angle[:head])
    return bool(sub.covers(points).any())


def _annotate(plan: ValidationPlan) -> None:
    target = plan.target
    plan.boxes = target.boxes()
    pts = target.center[:, None, :] + np.einsum("nij,kj->nki", rotation_scale(target.angle, target.size),
                                                target.samples)
    w, h = IMAGE_SIZE
    in_image = (pts[..., 0] >= 0) & (pts[..., 0] < w) & (pts[..., 1] >= 0) & (pts[..., 1] < h)
    covered = np.zeros_like(in_image)
    for occ in plan.occluders:
        covered |= occ.covers(pts)
    frac_in = in_image.mean(1)
    frac_vis = (in_image & ~covered).mean(1)
    plan.out_of_view = frac_in < OUT_OF_VIEW_FRACTION
    plan.full_occlusion = ~plan.out_of_view & (frac_vis / np.maximum(frac_in, 1e-9) < FULL_OCCLUSION_FRACTION)


def _draw(frame: np.ndarray, layer: Layer, t: int) -> None:
    """Composite ``layer`` at frame ``t`` into ``frame`` (float32 RGB, in place)."""
    img_h, img_w = frame.shape[:2]
    lin = rotation_scale(layer.angle[t:t + 1], layer.size[t:t + 1])[0]
    mapped = layer.center[t] + layer.hull @ lin.T
    blur = (layer.center[t] - layer.center[max(t - 1, 0)]) * layer.blur_exposure
    margin = int(math.ceil(np.hypot(*blur) / 2)) + 2
    x0 = max(int(math.floor(mapped[:, 0].min())) - margin, 0)
    y0 = max(int(math.floor(mapped[:, 1].min())) - margin, 0)
    x1 = min(int(math.ceil(mapped[:, 0].max())) + margin, img_w)
    y1 = min(int(math.ceil(mapped[:, 1].max())) + margin, img_h)
    if x1 <= x0 or y1 <= y0:
        return
    th0, tw0 = layer.alpha[0].shape
    size = layer.size[t]
    ratio = min(tw0 / max(size[0], 1e-6), th0 / max(size[1], 1e-6))
    level = int(np.clip(math.floor(math.log2(max(ratio, 1.0))), 0, len(layer.alpha) - 1))
    alpha_src, tex = layer.alpha[level], layer.texture[level]
    th, tw = alpha_src.shape
    a_mat = lin @ np.diag([1.0 / tw, 1.0 / th])
    b_vec = layer.center[t] - np.array([x0, y0]) - 0.5 + a_mat @ np.array([0.5, 0.5]) - lin @ np.array([0.5, 0.5])
    mat = np.hstack([a_mat, b_vec[:, None]])
    dsize = (x1 - x0, y1 - y0)
    colour = cv2.warpAffine(tex, mat, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(alpha_src, mat, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
    composite(frame, x0, y0, colour * alpha[:, :, None], alpha, blur)


def render_validation_frame(plan: ValidationPlan, t: int) -> np.ndarray:
    """Frame ``t`` of the sequence as RGB uint8 ``[H, W, 3]`` (independent of other frames)."""
    if not 0 <= t < plan.num_frames:
        raise ValueError(f"t: frame index {t} outside [0, {plan.num_frames})")
    img_w, img_h = IMAGE_SIZE
    video = load_video(plan.scenario.background)
    cx, cy, z = plan.view[t]
    ox, oy = cx - img_w / (2 * z), cy - img_h / (2 * z)
    cam = np.array([[z, 0, z * (0.5 - ox) - 0.5], [0, z, z * (0.5 - oy) - 0.5]])
    frame = cv2.warpAffine(video[int(plan.background_frames[t])], cam, (img_w, img_h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    for layer in plan.distractors:
        _draw(frame, layer, t)
    _draw(frame, plan.target, t)
    for layer in plan.occluders:
        _draw(frame, layer, t)
    rng = np.random.default_rng([VALIDATION_GENERATOR_VERSION, plan.seed, _name_key(plan.scenario.name), t, 3])
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * plan.noise_sigma
    return cv2.add(frame, 0.0, dtype=cv2.CV_8U)
