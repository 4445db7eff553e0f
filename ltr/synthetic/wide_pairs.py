"""Wide training pairs: a reference frame and a test frame of one target cut from a bank photograph
(:mod:`ltr.synthetic.photo_bank`), rendered on their own (no video), with the challenges of issue 11.

A pair is drawn in two steps: :func:`sample_pair_params` draws every number (cheap, no pixels) and
:func:`render_pair` makes the two frames from them. Both take their randomness from one
``numpy.random.Generator``, so a pair is a function of its seed. Per pair, randomly:

- target: a crop of a bank photo (aspect as the target's), mask rectangle / ellipse / rounded rectangle /
  convex polygon; aspect ``w / h`` log-uniform in [1/8, 8]; rotation uniform in +-45 deg with probability
  0.6 (else 0) and a test-frame change of N(0, 12 deg), clipped to +-45;
- scale: geometric size ``sqrt(w h)`` of the reference target in [14, 90] px, test/reference ratio
  log-uniform in [1/5, 5] (both sizes kept in [8, 200] px);
- background: another bank photo seen through a camera that pans (up to 15 % of the view) and zooms
  (x0.8-1.25) between the two frames;
- out of view (p 0.2): the test target placed so that 30-70 % of its box lies outside the image;
- motion blur (p 0.3, test frame): a line kernel of 3-15 px (:func:`ltr.synthetic.rendering.motion_kernel`);
- occluder (p 0.3, test frame; p 0.1 reference): a rectangle or ellipse cut from a third photo covering
  20-60 % of the target's box;
- look-alike distractor (p 0.3): a mirrored, recoloured copy of the target 1-2.5 target sizes away;
- illumination (p 0.5, test frame): per-channel gain 0.6-1.4 times a colour cast of +-10 %;
- sensor noise (p 0.5 per frame): Gaussian, sigma 2-10 grey levels.

Ground truth (the validation benchmark's convention, :mod:`ltr.synthetic.validation_scenes`): the tight
axis-aligned box ``[x, y, w, h]`` (continuous pixel coordinates, pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``)
of the mapped corners of the target mask's pixels with coverage >= 0.5, before blur, occlusion included
(the box of the whole target, seen or covered). It is NOT clipped to the image: a partly out-of-view target
keeps its full box, as in the demo and validation benchmarks; at least 30 % of the box area stays inside the
image. Frames are :data:`IMAGE_SIZE` (480 x 360) RGB uint8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ltr.synthetic.rendering import motion_kernel

__all__ = ["IMAGE_SIZE", "MASK_KINDS", "PairParams", "add_sensor_noise", "box_wh", "camera_view", "composite",
           "mask_box", "photo_crop", "placement", "render_pair", "sample_pair_params", "target_mask", "wide_pair"]

IMAGE_SIZE = (480, 360)
MASK_KINDS = ("rectangle", "ellipse", "rounded", "polygon")
MAX_ASPECT = 8.0
MAX_ROTATION = 45.0
MAX_SCALE_RATIO = 5.0
OUT_OF_VIEW_VISIBLE = (0.3, 0.7)


@dataclass(frozen=True)
class PairParams:
    """Every number of one pair (sizes in px, angles in degrees, centres in image coordinates)."""

    target_photo: int
    background_photo: int
    occluder_photo: int
    mask_kind: str
    aspect: float                 # w / h of the unrotated target
    ref_size: float               # sqrt(w h), reference frame
    scale_ratio: float            # test size / reference size
    ref_angle: float
    test_angle: float
    ref_center: tuple[float, float]
    test_center: tuple[float, float]
    out_of_view: bool
    blur: tuple[float, float] | None      # motion vector of the test frame
    occluder_test: float                  # fraction of the target box covered (0 = none)
    occluder_ref: float
    distractor: bool
    illumination: tuple[float, float, float] | None
    noise: tuple[float, float]            # sigma ref, test (0 = none)
    camera_pan: tuple[float, float]       # test view shift, fraction of the view
    camera_zoom: float

    @property
    def test_size(self) -> float:
        return self.ref_size * self.scale_ratio


def box_wh(size: float, aspect: float) -> tuple[float, float]:
    return size * math.sqrt(aspect), size / math.sqrt(aspect)


def _rotated_extent(w: float, h: float, angle: float) -> tuple[float, float]:
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return w * c + h * s, w * s + h * c


def sample_pair_params(rng: np.random.Generator, num_photos: int) -> PairParams:
    """Draw the numbers of one pair (see the module docstring); no pixels."""
    if num_photos < 3:
        raise ValueError(f"num_photos must be >= 3, got {num_photos}")
    photos = rng.choice(num_photos, 3, replace=False)
    img_w, img_h = IMAGE_SIZE
    aspect = float(math.exp(rng.uniform(-math.log(MAX_ASPECT), math.log(MAX_ASPECT))))
    ratio = float(math.exp(rng.uniform(-math.log(MAX_SCALE_RATIO), math.log(MAX_SCALE_RATIO))))
    lo, hi = max(14.0, 8.0 / ratio), min(90.0, 200.0 / ratio)
    ref_size = float(math.exp(rng.uniform(math.log(lo), math.log(max(hi, lo)))))
    ref_angle = float(rng.uniform(-MAX_ROTATION, MAX_ROTATION)) if rng.random() < 0.6 else 0.0
    test_angle = float(np.clip(ref_angle + rng.normal(0.0, 12.0), -MAX_ROTATION, MAX_ROTATION))

    def inside_center(size: float, angle: float) -> tuple[float, float]:
        ew, eh = _rotated_extent(*box_wh(size, aspect), angle)
        mx, my = min(ew / 2, img_w / 2), min(eh / 2, img_h / 2)
        return float(rng.uniform(mx, img_w - mx)), float(rng.uniform(my, img_h - my))

    ref_center = inside_center(ref_size, ref_angle)
    out_of_view = bool(rng.random() < 0.2)
    test_size = ref_size * ratio
    if out_of_view:  # push the box over one image edge until 30-70 % of its area is outside
        ew, eh = _rotated_extent(*box_wh(test_size, aspect), test_angle)
        visible = rng.uniform(*OUT_OF_VIEW_VISIBLE)
        side = int(rng.integers(4))
        cx, cy = inside_center(test_size, test_angle)
        if side == 0:
            cx = visible * ew - ew / 2
        elif side == 1:
            cx = img_w - visible * ew + ew / 2
        elif side == 2:
            cy = visible * eh - eh / 2
        else:
            cy = img_h - visible * eh + eh / 2
        test_center = (float(cx), float(cy))
    else:
        test_center = inside_center(test_size, test_angle)
    blur = None
    if rng.random() < 0.3:
        length, direction = rng.uniform(3.0, 15.0), rng.uniform(0.0, 2 * math.pi)
        blur = (float(length * math.cos(direction)), float(length * math.sin(direction)))
    illumination = None
    if rng.random() < 0.5:
        gain = rng.uniform(0.6, 1.4)
        illumination = tuple(float(gain * c) for c in rng.uniform(0.9, 1.1, 3))
    noise = tuple(float(rng.uniform(2.0, 10.0)) if rng.random() < 0.5 else 0.0 for _ in range(2))
    return PairParams(
        target_photo=int(photos[0]), background_photo=int(photos[1]), occluder_photo=int(photos[2]),
        mask_kind=str(MASK_KINDS[int(rng.integers(len(MASK_KINDS)))]), aspect=aspect, ref_size=ref_size,
        scale_ratio=ratio, ref_angle=ref_angle, test_angle=test_angle, ref_center=ref_center,
        test_center=test_center, out_of_view=out_of_view, blur=blur,
        occluder_test=float(rng.uniform(0.2, 0.6)) if rng.random() < 0.3 else 0.0,
        occluder_ref=float(rng.uniform(0.2, 0.6)) if rng.random() < 0.1 else 0.0,
        distractor=bool(rng.random() < 0.3), illumination=illumination, noise=noise,
        camera_pan=(float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))),
        camera_zoom=float(math.exp(rng.uniform(math.log(0.8), math.log(1.25)))))


# ---------------------------------------------------------------------------------------------- pixels
def photo_crop(photo: np.ndarray, aspect: float, rng: np.random.Generator, rel: tuple[float, float]) -> np.ndarray:
    """A random crop of ``photo`` with width/height ``aspect``, its long side ``rel`` of the photo's fitting side."""
    ph, pw = photo.shape[:2]
    frac = rng.uniform(*rel)
    cw = min(pw, ph * aspect) * frac
    ch = cw / aspect
    cw, ch = max(2, int(cw)), max(2, int(ch))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    return photo[y0:y0 + ch, x0:x0 + cw]


def target_mask(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """float32 ``[h, w]`` mask in [0, 1] of shape ``kind`` filling its box."""
    if kind == "rectangle":
        return np.ones((h, w), np.float32)
    s = 4  # supersampled drawing, then area-resized (anti-aliased edge)
    big = np.zeros((h * s, w * s), np.uint8)
    if kind == "ellipse":
        cv2.ellipse(big, (w * s // 2, h * s // 2), (w * s // 2, h * s // 2), 0, 0, 360, 255, -1)
    elif kind == "rounded":
        r = int(min(w, h) * s * rng.uniform(0.15, 0.5))
        cv2.rectangle(big, (r, 0), (w * s - 1 - r, h * s - 1), 255, -1)
        cv2.rectangle(big, (0, r), (w * s - 1, h * s - 1 - r), 255, -1)
        for cx, cy in ((r, r), (w * s - 1 - r, r), (r, h * s - 1 - r), (w * s - 1 - r, h * s - 1 - r)):
            cv2.circle(big, (cx, cy), r, 255, -1)
    else:
        n = int(rng.integers(5, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        pts = np.stack([np.cos(ang), np.sin(ang)], 1)
        pts = (pts - pts.min(0)) / np.maximum(pts.max(0) - pts.min(0), 1e-6)  # fill the box
        pts = np.round(pts * [w * s - 1, h * s - 1]).astype(np.int32)
        cv2.fillConvexPoly(big, cv2.convexHull(pts), 255)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def placement(w: float, h: float, angle: float, center: tuple[float, float], tex_w: int, tex_h: int) -> np.ndarray:
    """Affine ``[2, 3]`` from texture pixels to the image: texture box -> rotated ``w x h`` box at ``center``."""
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    lin = rot @ np.diag([w / tex_w, h / tex_h])
    t = np.asarray(center) - lin @ np.array([tex_w / 2, tex_h / 2])
    return np.hstack([lin, t[:, None]])


def mask_box(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Tight xywh box of the mapped corners of the mask's pixels with coverage >= 0.5 (their convex hull)."""
    pts = cv2.findNonZero((mask >= 0.5).astype(np.uint8))
    if pts is None:
        raise ValueError("target mask is empty")
    hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)
    corners = (hull[:, None, :] + np.array([[0, 0], [1, 0], [0, 1], [1, 1]])[None]).reshape(-1, 2)
    mapped = corners @ affine[:, :2].T + affine[:, 2]
    lo, hi = mapped.min(0), mapped.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])


def composite(frame: np.ndarray, texture: np.ndarray, alpha: np.ndarray, affine: np.ndarray,
               blur: np.ndarray | None = None) -> None:
    """Warp ``texture`` (float32 RGB) with ``alpha`` by ``affine`` into ``frame`` (float32, in place), only
    inside the layer's bounding box; optional blur kernel on the premultiplied layer."""
    img_h, img_w = frame.shape[:2]
    th, tw = alpha.shape
    corners = np.array([[0, 0], [tw, 0], [0, th], [tw, th]], np.float64) @ affine[:, :2].T + affine[:, 2]
    pad = 0 if blur is None else blur.shape[0]
    x0, y0 = (np.floor(corners.min(0)) - pad - 1).astype(int)
    x1, y1 = (np.ceil(corners.max(0)) + pad + 1).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, img_w), min(y1, img_h)
    if x1 <= x0 or y1 <= y0:
        return
    local = affine.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    premult = np.concatenate([texture * alpha[:, :, None], alpha[:, :, None]], axis=2)
    layer = cv2.warpAffine(premult, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if blur is not None:
        layer = cv2.filter2D(layer, -1, blur, borderType=cv2.BORDER_CONSTANT)
    a = layer[:, :, 3:4]
    roi = frame[y0:y1, x0:x1]
    roi *= 1.0 - a
    roi += layer[:, :, :3]


def camera_view(photo: np.ndarray, view: tuple[float, float, float, float]) -> np.ndarray:
    """The image seen by a camera whose view is the photo rectangle ``(x, y, w, h)`` (float32)."""
    img_w, img_h = IMAGE_SIZE
    x, y, w, h = view
    affine = np.array([[img_w / w, 0, -x * img_w / w], [0, img_h / h, -y * img_h / h]])
    interp = cv2.INTER_AREA if w > img_w * 1.5 else cv2.INTER_LINEAR
    if interp == cv2.INTER_AREA:  # warpAffine has no area filter: pre-shrink
        f = img_w / w * 1.5
        small = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        affine[:, :2] /= f
        photo = small
    return cv2.warpAffine(photo, affine, IMAGE_SIZE, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101).astype(np.float32)


def add_sensor_noise(frame: np.ndarray, sigma: float, rng: np.random.Generator) -> None:
    """Add Gaussian noise of ``sigma`` grey levels to ``frame`` (float32, in place): a 128 x 128 tile drawn from
    ``rng``, tiled and shifted (cheap and seeded)."""
    img_h, img_w = frame.shape[:2]
    tile = rng.standard_normal((128, 128, 3)).astype(np.float32) * np.float32(sigma)
    reps = (img_h // 128 + 2, img_w // 128 + 2, 1)
    oy, ox = rng.integers(0, 128, 2)
    frame += np.tile(tile, reps)[oy:oy + img_h, ox:ox + img_w]


def render_pair(bank: list[np.ndarray], p: PairParams, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(reference image, reference box, test image, test box)``: RGB uint8 ``[360, 480, 3]`` and float64 xywh
    boxes (convention: module docstring). Pixel randomness (crops, mask, noise) comes from ``rng``."""
    img_w, img_h = IMAGE_SIZE
    # --- target texture and mask, at the larger frame's resolution
    big = max(p.ref_size, p.test_size)
    bw, bh = box_wh(big, p.aspect)
    tw, th = max(2, int(round(bw))), max(2, int(round(bh)))
    crop = photo_crop(bank[p.target_photo], p.aspect, rng, (0.2, 0.9))
    texture = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = target_mask(p.mask_kind, tw, th, rng)
    # --- background views: the test view is the reference view panned and zoomed
    photo = bank[p.background_photo]
    ph, pw = photo.shape[:2]
    vw = min(pw, ph * img_w / img_h) * rng.uniform(0.5, 0.8)
    vh = vw * img_h / img_w
    vx, vy = rng.uniform(0, pw - vw), rng.uniform(0, ph - vh)
    views = [(vx, vy, vw, vh)]
    tw2, th2 = vw / p.camera_zoom, vh / p.camera_zoom
    cx2, cy2 = vx + vw / 2 + p.camera_pan[0] * vw, vy + vh / 2 + p.camera_pan[1] * vh
    views.append((cx2 - tw2 / 2, cy2 - th2 / 2, tw2, th2))
    occ_photo = bank[p.occluder_photo]
    frames, boxes = [], []
    for k, (size, angle, center) in enumerate(((p.ref_size, p.ref_angle, p.ref_center),
                                               (p.test_size, p.test_angle, p.test_center))):
        is_test = k == 1
        frame = camera_view(photo, views[k])
        w, h = box_wh(size, p.aspect)
        if p.distractor:  # a mirrored, recoloured copy beside the target, behind it
            d_tex = np.ascontiguousarray(texture[:, ::-1]) * rng.uniform(0.75, 1.25, 3).astype(np.float32)
            d_dir = rng.uniform(0, 2 * math.pi)
            dist = rng.uniform(1.0, 2.5) * max(w, h)
            d_center = (float(np.clip(center[0] + dist * math.cos(d_dir), 0, img_w)),
                        float(np.clip(center[1] + dist * math.sin(d_dir), 0, img_h)))
            d_aff = placement(w * rng.uniform(0.85, 1.15), h * rng.uniform(0.85, 1.15),
                               angle + rng.normal(0, 10), d_center, tw, th)
            composite(frame, np.clip(d_tex, 0, 255), np.ascontiguousarray(mask[:, ::-1]), d_aff)
        affine = placement(w, h, angle, center, tw, th)
        blur = motion_kernel(np.asarray(p.blur)) if is_test and p.blur is not None else None
        composite(frame, texture, mask, affine, blur)
        box = mask_box(mask, affine)
        covered = p.occluder_test if is_test else p.occluder_ref
        if covered > 0:  # a piece of another photo over part of the target's box
            ow = max(2, int(box[2] * math.sqrt(covered) * rng.uniform(0.8, 1.25)))
            oh = max(2, int(box[2] * box[3] * covered / ow))
            o_tex = cv2.resize(photo_crop(occ_photo, ow / oh, rng, (0.1, 0.5)), (ow, oh),
                               interpolation=cv2.INTER_AREA).astype(np.float32)
            o_mask = target_mask(str(rng.choice(("rectangle", "ellipse"))), ow, oh, rng)
            oc = (box[0] + rng.uniform(0, 1) * box[2], box[1] + rng.uniform(0, 1) * box[3])
            composite(frame, o_tex, o_mask, placement(ow, oh, rng.uniform(-30, 30), oc, ow, oh))
        if is_test and p.illumination is not None:
            frame *= np.asarray(p.illumination, np.float32)
        if p.noise[k] > 0:
            add_sensor_noise(frame, p.noise[k], rng)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
        boxes.append(box)
    return frames[0], boxes[0], frames[1], boxes[1]


def wide_pair(bank: list[np.ndarray], rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, PairParams]:
    """One pair from ``rng``: :func:`sample_pair_params` then :func:`render_pair` (plus the parameters)."""
    params = sample_pair_params(rng, len(bank))
    return (*render_pair(bank, params, rng), params)


def contact_sheet(bank: list[np.ndarray], num_pairs: int = 16, seed: int = 0, tile_width: int = 240) -> np.ndarray:
    """RGB uint8 picture of ``num_pairs`` pairs (reference | test, green ground-truth boxes), two pairs a row."""
    scale = tile_width / IMAGE_SIZE[0]
    rows = []
    for i in range(num_pairs):
        ref, ref_box, test, test_box, _ = wide_pair(bank, np.random.default_rng([seed, i]))
        tiles = []
        for image, box in ((ref, ref_box), (test, test_box)):
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x, y, w, h = box * scale
            cv2.rectangle(small, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))),
                          (0, 255, 0), 1)
            tiles.append(small)
        tiles.append(np.full((small.shape[0], 6, 3), 255, np.uint8))
        rows.append(np.hstack(tiles))
    pairs = [np.hstack(rows[i:i + 2]) for i in range(0, len(rows) - 1, 2)]
    return np.vstack(pairs)


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ltr.synthetic.wide_pairs",
                                     description="Write a picture of rendered wide training pairs.")
    parser.add_argument("--bank", default=None, help="photo bank folder (default: <workspace>/photo_bank)")
    parser.add_argument("--out", required=True, help="output image (e.g. pairs.jpg)")
    parser.add_argument("--num_pairs", type=int, default=16, help="number of pairs (even)")
    parser.add_argument("--seed", type=int, default=0, help="seed")
    return parser


def main(argv: list[str] | None = None) -> None:
    from ltr.synthetic.photo_bank import default_bank_path, load_bank

    parser = build_parser()
    args = parser.parse_args(argv)
    bank = load_bank(args.bank or default_bank_path())
    sheet = contact_sheet(bank, args.num_pairs, args.seed)
    cv2.imwrite(args.out, np.ascontiguousarray(sheet[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(args.out)


if __name__ == "__main__":
    main()
