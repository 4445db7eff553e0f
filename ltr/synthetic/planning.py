"""Planning: every geometric quantity of a sequence for all frames at once (:func:`plan_sequence`), and
the annotations that follow from it without rendering a pixel. Conventions: :mod:`ltr.synthetic.scenes`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ltr.synthetic.scene_config import (CAMOUFLAGE_PROB, CHALLENGES, FULL_OCCLUSION_FRACTION, GENERATOR_VERSION,
                                        OUT_OF_VIEW_FRACTION, PHOTO_POOLS, PROCEDURAL_CLASS, SPLIT_CODES, SceneConfig,
                                        TEXTURE_LONG_SIDE)
from ltr.synthetic.shapes import Shape, random_shape, rotation_scale

__all__ = ["ObjectPlan", "SequencePlan", "plan_sequence", "smooth_curve"]


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
        _push_out_of_view(rng, center, lo, hi, img_w, img_h, image_wh)

    gain = np.ones((n, 3))
    blend = np.zeros(n)
    if "appearance_change" in challenges:
        blend = rng.uniform(0.5, 0.85) * _window(n, int(rng.integers(0, n // 3 + 1)), n + n, n // 2)
        gain = gain * np.exp(0.25 * smooth_curve(rng, n, 1.0))[:, None] * (
            1 + 0.1 * np.stack([smooth_curve(rng, n, 1.0) for _ in range(3)], 1))
    target = ObjectPlan("target", shape, source, tex_size, center, size, angle, gain, blend,
                        blur_exposure=0.8 if "fast_motion" in challenges else 0.5)

    # --- distractors: same source, similar shape and size, behind the target
    distractors = _plan_distractors(rng, challenges, shape, size, angle, center, speed, image_wh, still, source,
                                    tex_size)

    # --- occluders: patches from background photos passing over the target
    occluders = _plan_occluders(rng, challenges, size, center, still, pools, config)

    # --- camera, illumination, noise
    background_source, canvas_size, camera, illumination, noise_sigma = _plan_camera_and_light(
        rng, challenges, source, n, still, pools, config)

    if not still:  # the first frames (the tracker's initial box) are never occluded
        pts = _mask_points(shape)
        head = min(n, 3)
        image_pts = center[:head, None, :] + np.einsum("nij,kj->nki", rotation_scale(angle[:head], size[:head]), pts)
        occluders = [o for o in occluders if not _covers(o, image_pts, slice(0, head)).any()]
    plan = SequencePlan(split, index, seed, config, object_class, challenges_t, background_source, target,
                        distractors, occluders, camera, canvas_size, illumination, noise_sigma)
    _annotate(plan)
    return plan


def _push_out_of_view(rng: np.random.Generator, center: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      img_w: int, img_h: int, image_wh: np.ndarray) -> None:
    """The out-of-view event: a window of frames during which ``center [n, 2]`` is pushed (in place) past
    the image edge nearest the event's middle, the whole box 10 % of its size beyond it."""
    n = center.shape[0]
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


def _plan_distractors(rng: np.random.Generator, challenges: set[str], shape: Shape, size: np.ndarray,
                      angle: np.ndarray, center: np.ndarray, speed: float, image_wh: np.ndarray, still: bool,
                      source: str, tex_size: tuple[int, int]) -> list[ObjectPlan]:
    """Distractors: same source, similar shape and size, behind the target (orbiting and crossing it with
    the ``distractors`` challenge)."""
    n = center.shape[0]
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
    return distractors


def _plan_occluders(rng: np.random.Generator, challenges: set[str], size: np.ndarray, center: np.ndarray,
                    still: bool, pools: dict[str, tuple[str, ...]], config: SceneConfig) -> list[ObjectPlan]:
    """Occluders: patches from background photos passing over the target (one full occluder with the
    ``occlusion`` challenge)."""
    n = center.shape[0]
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
            o_center = (center[:1] + perp * np.array([-direction[1], direction[0]])[None]
                        + rng.uniform(0.3, 0.6) * ext_t * direction)
            o_center = o_center.repeat(n, 0)
            o_size = o_size * 0.6
        o_shape = random_shape(rng, ("ellipse", "rounded_rect"))
        o_src = (str(rng.choice(pools["backgrounds"])) if rng.random() < config.photo_fraction else "procedural")
        occluders.append(ObjectPlan("occluder", o_shape, o_src, _texture_size(o_aspect), o_center,
                                    np.repeat(o_size[None], n, 0), np.full(n, rng.uniform(-0.3, 0.3)),
                                    np.ones((n, 3)), np.zeros(n), blur_exposure=0.3))
    return occluders


def _plan_camera_and_light(rng: np.random.Generator, challenges: set[str], source: str, n: int, still: bool,
                           pools: dict[str, tuple[str, ...]], config: SceneConfig
                           ) -> tuple[str, tuple[int, int], np.ndarray, np.ndarray, float]:
    """``(background source, canvas size, camera [n, 3] (x, y, zoom), illumination [n, 3], noise sigma)``."""
    img_w, img_h = config.image_size
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
    return background_source, canvas_size, camera, illumination, noise_sigma


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
