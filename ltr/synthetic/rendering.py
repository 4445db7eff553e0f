"""Rendering: the time-invariant pixels of a plan (:func:`build_assets`) and frame ``t`` of it,
independently of every other frame (:func:`render_frame`)."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ltr.synthetic.planning import ObjectPlan, SequencePlan
from ltr.synthetic.scene_config import GENERATOR_VERSION, NOISE_MARGIN
from ltr.synthetic.shapes import Shape, rotation_scale
from ltr.synthetic.textures import colour_jitter, mip_pyramid, photo_crop, procedural_texture

__all__ = ["ObjectAssets", "SceneAssets", "build_assets", "render_frame"]


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
    return ObjectAssets(mip_pyramid(tex_a), mip_pyramid(tex_b), mip_pyramid(shape.mask(tw, th)))


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


def motion_kernel(vec: np.ndarray) -> np.ndarray | None:
    """A normalised anti-aliased line kernel along ``vec`` (motion blur; None when shorter than 1.5 px)."""
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
    composite(frame, x0, y0, premult, alpha, blur_vec)


def composite(frame: np.ndarray, x0: int, y0: int, premult: np.ndarray, alpha: np.ndarray,
              blur_vec: np.ndarray) -> None:
    """Blend a layer over ``frame`` (float32 ``[H, W, 3]``, in place) at ``(x0, y0)``: both the premultiplied
    colour ``premult = colour * alpha`` and ``alpha`` are motion-blurred along ``blur_vec`` (:func:`motion_kernel`),
    then ``frame = frame * (1 - alpha) + premult`` over the layer's extent."""
    kernel = motion_kernel(blur_vec)
    if kernel is not None:
        premult = cv2.filter2D(premult, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        alpha = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    region = frame[y0:y0 + alpha.shape[0], x0:x0 + alpha.shape[1]]
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
