"""Wide train sequences: a TRAIN-SIDE closed-loop benchmark drawn by the wide pairs' renderer
(:mod:`ltr.synthetic.wide_pairs`), for choosing weights and parameter values on the distribution the wide heads
were trained on. It uses the photo bank (:mod:`ltr.synthetic.photo_bank`, the training photographs) and nothing of
the validation benchmark (its photographs, footage and random-walk motion model) or of the demo's test split.

Every sequence (``wide-<k>``, :data:`NUM_FRAMES` frames of 480 x 360) is drawn from ``seed`` and ``k``
(:func:`plan_wide_sequence`), with the challenges of the wide pairs spread over time:

- target: a crop of a bank photo, mask rectangle / ellipse / rounded rectangle / convex polygon, aspect ``w / h``
  log-uniform in [1/8, 8]; rotation (p 0.6) as a sinusoid of amplitude 5-30 deg around a start angle, within +-45;
- scale: start size ``sqrt(w h)`` in [14, 90] px, changed by a factor log-uniform in [1/5, 5] (sizes kept in
  [8, 200] px) along a smoothstep between two random frames;
- motion: a sum of two sinusoids per axis (a Lissajous path) whose peak speed per axis is 2, 5 or 10 px/frame,
  held so that the rotated target stays inside the image;
- camera: the background photo seen through a view that pans (up to 15 % of the view) and zooms (x0.8-1.25)
  linearly over the sequence;
- out of view (p 0.2): over 10-25 frames the target moves over an image edge until 30-70 % of its box is outside,
  and back (the box stays annotated, unclipped, as in the other benchmarks);
- motion blur (p 0.3): a line kernel along each frame's displacement times an exposure of 0.7-1.5 (>= 3 px);
- occluder (p 0.3): a piece of a third photo, covering 20-60 % of the box's area, that sweeps across the target
  over 10-30 frames;
- look-alike distractor (p 0.3): a mirrored, recoloured copy circling the target at 1-2.5 target sizes, behind it;
- illumination (p 0.5): a per-channel gain ramp from 1 to 0.6-1.4 (colour cast +-10 %) between two frames;
- sensor noise (p 0.5): Gaussian, sigma 2-10 grey levels, fresh each frame.

Ground truth: the wide pairs' convention (:func:`ltr.synthetic.wide_pairs.mask_box`: the tight box of the target's
mask, before blur, occlusion included, not clipped to the image). Layout: LaSOT, split ``train``::

    <root>/wide/wide-<k>/img/00000001.jpg ...  groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt
    <root>/train.txt, <root>/manifest.json     (parameters, bank digest, content hashes, challenges per sequence)

``--contact_sheet FILE`` also writes a picture of six sequences with their boxes (``docs/wide_train_sequences.jpg``).

``python -m ltr.synthetic.wide_sequences [--root DIR] [--bank DIR] [--num_sequences N] [--seed S]`` (the root
defaults to the ``wide_train`` dataset path of the local settings; the bank to ``<workspace>/photo_bank``). A build
with the same parameters and bank is not redone.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from tqdm import tqdm

from ltr.admin.cli import cli_parser
from ltr.synthetic.demo_benchmark import benchmark_root_from_settings, install_build, read_manifest
from ltr.synthetic.rendering import motion_kernel
from ltr.synthetic.sequence_writer import write_lasot_sequence
from ltr.synthetic.wide_pairs import (IMAGE_SIZE, MASK_KINDS, MAX_ASPECT, MAX_ROTATION, MAX_SCALE_RATIO,
                                      OUT_OF_VIEW_VISIBLE, add_sensor_noise, box_wh, camera_view, composite, mask_box,
                                      photo_crop, placement, target_mask)

__all__ = ["NUM_FRAMES", "PROFILES", "WideProfile", "WideSequencePlan", "build_wide_sequences", "ensure_wide_sequences",
           "get_profile", "plan_wide_sequence", "profile_of_dataset", "render_wide_sequence",
           "wide_sequences_parameters"]

GENERATOR_VERSION = 1
NUM_FRAMES = 100
DEFAULT_NUM_SEQUENCES = 40
DEFAULT_SEED = 0
SPLIT = "train"
JPEG_QUALITY = 90
MANIFEST = "manifest.json"
PEAK_SPEEDS = (2.0, 5.0, 10.0)


@dataclass(frozen=True)
class WideProfile:
    """What differs between the train-side sets this renderer draws: the target's scale-change factor (log-uniform
    in ``[1 / max_scale_ratio, max_scale_ratio]``), the camera zoom (log-uniform in ``[1 / max_zoom, max_zoom]``),
    the sequence class name, the settings key of its root and its defaults (seed, sequences, frames)."""

    class_name: str
    settings_key: str
    max_scale_ratio: float
    max_zoom: float
    seed: int
    num_sequences: int
    num_frames: int


#: ``wide``: the wide pairs' scale range (every target changes size, up to 5x); ``steady``: targets that keep their
#: size to within 1.25x over longer sequences (camera zoom to 1.1x), where the classifier's box alone is already
#: good and a refinement can only keep it or harm it (how most frames of real benchmarks look);
#: ``wide_check`` / ``steady_check``: the same two profiles drawn with seeds no search has used, a train-side check of a
#: decision made on ``wide_train`` / ``steady_train`` (never used to choose among values)
PROFILES = {
    "wide": WideProfile("wide", "wide_train", MAX_SCALE_RATIO, 1.25, DEFAULT_SEED, DEFAULT_NUM_SEQUENCES, NUM_FRAMES),
    "steady": WideProfile("steady", "steady_train", 1.25, 1.1, 1, 40, 150),
}
PROFILES["wide_check"] = replace(PROFILES["wide"], class_name="widecheck", settings_key="wide_check", seed=100)
PROFILES["steady_check"] = replace(PROFILES["steady"], class_name="steadycheck", settings_key="steady_check", seed=101)


def get_profile(name: str) -> WideProfile:
    """The profile ``name`` of :data:`PROFILES`; ``ValueError`` naming ``--profile`` for any other name."""
    if name not in PROFILES:
        raise ValueError(f"--profile: {name!r} is not one of {sorted(PROFILES)}")
    return PROFILES[name]


def profile_of_dataset(dataset_name: str) -> str:
    """The profile whose set is registered as ``dataset_name`` (``wide_train`` -> ``wide``, ``steady_train`` ->
    ``steady``, ``wide_check`` -> ``wide_check``, ...); ``ValueError`` for any other name."""
    for name, profile in PROFILES.items():
        if profile.settings_key == dataset_name:
            return name
    raise ValueError(f"--dataset_name: {dataset_name!r} is not a set of ltr.synthetic.wide_sequences")


@dataclass(frozen=True)
class WideSequencePlan:
    """Every number of one sequence; per-frame arrays have :attr:`num_frames` rows (sizes in px, angles in degrees,
    image coordinates). ``None`` / 0 marks a challenge that is absent."""

    name: str
    seed: tuple[int, int]
    target_photo: int
    background_photo: int
    occluder_photo: int
    mask_kind: str
    aspect: float
    size: np.ndarray                  # [T] sqrt(w h)
    angle: np.ndarray                 # [T]
    center: np.ndarray                # [T, 2]
    view: np.ndarray                  # [T, 4] camera view (x, y, w, h) as fractions of the photo's fitting view
    exposure: float                   # motion blur: kernel = exposure x displacement (0 = no blur)
    occluder: tuple[int, int, float, int] | None      # (first frame, last frame, area fraction, axis 0 x / 1 y)
    distractor: tuple[float, float, float] | None     # (distance in target sizes, start angle rad, rad / frame)
    illumination: tuple[int, int, tuple[float, float, float]] | None   # (ramp start, ramp end, final gains)
    noise: float                      # sigma in grey levels (0 = none)
    out_of_view: tuple[int, int] | None                # (first frame, last frame) of the excursion

    @property
    def num_frames(self) -> int:
        return len(self.size)

    def challenges(self) -> list[str]:
        """The challenges this sequence has (names as in the manifest)."""
        area = self.size.max() / self.size.min()
        names = [f"aspect 1:{max(self.aspect, 1 / self.aspect):.1f}"]
        if area > 1.5:
            names.append(f"scale change x{area:.1f}")
        if np.ptp(self.angle) > 1:
            names.append("rotation")
        flags = (("out of view", self.out_of_view), ("motion blur", self.exposure), ("occluder", self.occluder),
                 ("distractor", self.distractor), ("illumination", self.illumination), ("noise", self.noise))
        return names + [n for n, v in flags if v]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _smoothstep(num_frames: int, start: int, stop: int) -> np.ndarray:
    """0 before ``start``, 1 after ``stop``, the cubic ``3u^2 - 2u^3`` between."""
    u = np.clip((np.arange(num_frames) - start) / max(stop - start, 1), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _rotated_half_extent(size: np.ndarray, aspect: float, angle: np.ndarray) -> np.ndarray:
    """``[T, 2]`` half width and height of the rotated target's bounding box."""
    w, h = size * math.sqrt(aspect), size / math.sqrt(aspect)
    c, s = np.abs(np.cos(np.radians(angle))), np.abs(np.sin(np.radians(angle)))
    return 0.5 * np.stack([w * c + h * s, w * s + h * c], axis=1)


def _lissajous(rng: np.random.Generator, num_frames: int, peak_speed: float, image_size: tuple[int, int]
               ) -> np.ndarray:
    """``[T, 2]`` path: per axis, two sinusoids of random amplitude and phase whose speeds add to ``peak_speed``."""
    t = np.arange(num_frames, dtype=np.float64)
    path = np.zeros((num_frames, 2))
    for axis, extent in enumerate(image_size):
        path[:, axis] = rng.uniform(0.3, 0.7) * extent
        share = rng.uniform(0.3, 0.7)
        for speed in (share * peak_speed, (1 - share) * peak_speed):
            amplitude = rng.uniform(0.08, 0.3) * extent
            path[:, axis] += amplitude * np.sin(speed / amplitude * t + rng.uniform(0, 2 * math.pi))
    return path


def plan_wide_sequence(seed: int, index: int, num_photos: int, num_frames: int = NUM_FRAMES,
                       profile: str = "wide") -> WideSequencePlan:
    """Draw sequence ``<profile's class>-<index + 1>`` of the set with ``seed`` (module docstring); no pixels."""
    spec = get_profile(profile)
    if num_photos < 3:
        raise ValueError(f"the photo bank must hold >= 3 photographs, got {num_photos}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2, got {num_frames}")
    rng = np.random.default_rng([seed, index])
    n = num_frames
    img_w, img_h = IMAGE_SIZE
    photos = rng.choice(num_photos, 3, replace=False)
    aspect = _log_uniform(rng, 1 / MAX_ASPECT, MAX_ASPECT)
    ratio = _log_uniform(rng, 1 / spec.max_scale_ratio, spec.max_scale_ratio)
    lo, hi = max(14.0, 8.0 / ratio), min(90.0, 200.0 / ratio)
    start_size = _log_uniform(rng, lo, max(hi, lo))
    a = int(rng.integers(0, n // 2))
    b = int(rng.integers(min(a + max(n // 5, 1), n - 1), n))
    size = start_size * ratio ** _smoothstep(n, a, b)
    angle = np.zeros(n)
    if rng.random() < 0.6:
        amp, period = rng.uniform(5.0, 30.0), rng.uniform(30.0, 150.0)
        angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION) + amp * np.sin(2 * math.pi * np.arange(n) / period
                                                                         + rng.uniform(0, 2 * math.pi))
        angle = np.clip(angle, -MAX_ROTATION, MAX_ROTATION)
    center = _lissajous(rng, n, float(rng.choice(PEAK_SPEEDS)), IMAGE_SIZE)
    half = _rotated_half_extent(size, aspect, angle)
    bound = np.minimum(half, np.array([img_w / 2, img_h / 2]))
    center = np.clip(center, bound, np.array([img_w, img_h]) - bound)
    out_of_view = None
    if rng.random() < 0.2:  # an excursion over one edge: a raised-cosine bump towards the edge
        length = int(rng.integers(10, 26))
        first = int(rng.integers(1, max(n - length, 2)))
        last = min(first + length, n - 1)
        out_of_view = (first, last)
        visible = rng.uniform(*OUT_OF_VIEW_VISIBLE)
        side = int(rng.integers(4))
        axis = side // 2
        u = np.clip((np.arange(n) - first) / max(last - first, 1), 0, 1)
        weight = 0.5 - 0.5 * np.cos(2 * math.pi * u)
        extent = 2 * half[:, axis]
        edge = (visible * extent - extent / 2) if side % 2 == 0 else (IMAGE_SIZE[axis] - visible * extent + extent / 2)
        center[:, axis] = (1 - weight) * center[:, axis] + weight * edge
    pan = rng.uniform(-0.15, 0.15, 2)
    zoom = _log_uniform(rng, 1 / spec.max_zoom, spec.max_zoom)
    frac = rng.uniform(0.5, 0.8)
    origin = rng.uniform(0, 1, 2)
    u = np.linspace(0, 1, n)
    view_w = frac / zoom ** u
    view_c = (origin[None] * (1 - frac) + frac / 2) + pan[None] * frac * u[:, None]
    view = np.column_stack([view_c - view_w[:, None] / 2, view_w, view_w])
    exposure = float(rng.uniform(0.7, 1.5)) if rng.random() < 0.3 else 0.0
    occluder = None
    if rng.random() < 0.3:
        length = int(rng.integers(10, 31))
        first = int(rng.integers(0, max(n - length, 1)))
        occluder = (first, min(first + length, n - 1), float(rng.uniform(0.2, 0.6)), int(rng.integers(2)))
    distractor = None
    if rng.random() < 0.3:
        distractor = (float(rng.uniform(1.0, 2.5)), float(rng.uniform(0, 2 * math.pi)),
                      float(rng.choice([-1, 1]) * rng.uniform(0.01, 0.05)))
    illumination = None
    if rng.random() < 0.5:
        first = int(rng.integers(0, n - 1))
        gain = rng.uniform(0.6, 1.4)
        illumination = (first, int(rng.integers(first + 1, n)), tuple(float(gain * c) for c in rng.uniform(0.9, 1.1, 3)))
    noise = float(rng.uniform(2.0, 10.0)) if rng.random() < 0.5 else 0.0
    return WideSequencePlan(
        name=f"{spec.class_name}-{index + 1}", seed=(int(seed), int(index)), target_photo=int(photos[0]),
        background_photo=int(photos[1]), occluder_photo=int(photos[2]),
        mask_kind=str(MASK_KINDS[int(rng.integers(len(MASK_KINDS)))]), aspect=aspect, size=size, angle=angle,
        center=center, view=view, exposure=exposure, occluder=occluder, distractor=distractor,
        illumination=illumination, noise=noise, out_of_view=out_of_view)


def _photo_view(photo: np.ndarray, view: np.ndarray) -> tuple[float, float, float, float]:
    """A view given as fractions of the photo's largest 4:3 rectangle -> photo pixels, kept inside the photo."""
    img_w, img_h = IMAGE_SIZE
    ph, pw = photo.shape[:2]
    fit_w = min(pw, ph * img_w / img_h)
    fit_h = fit_w * img_h / img_w
    w, h = view[2] * fit_w, view[2] * fit_h
    x = float(np.clip(view[0] * fit_w + (pw - fit_w) / 2, 0, max(pw - w, 0)))
    y = float(np.clip(view[1] * fit_h + (ph - fit_h) / 2, 0, max(ph - h, 0)))
    return x, y, float(w), float(h)


def render_wide_sequence(bank: list[np.ndarray], plan: WideSequencePlan) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(frame, box)`` for every frame: RGB uint8 ``[360, 480, 3]``, float64 xywh box (module docstring).
    Pixel randomness (crops, masks, colours, noise) comes from the plan's seed, so frames are reproducible."""
    rng = np.random.default_rng([*plan.seed, 1])
    img_w, img_h = IMAGE_SIZE
    bw, bh = box_wh(float(plan.size.max()), plan.aspect)
    tw, th = max(2, int(round(bw))), max(2, int(round(bh)))
    texture = cv2.resize(photo_crop(bank[plan.target_photo], plan.aspect, rng, (0.2, 0.9)), (tw, th),
                         interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = target_mask(plan.mask_kind, tw, th, rng)
    levels = [(texture, mask)]  # a pyramid: each frame warps the smallest level still larger than the target
    while min(levels[-1][1].shape) >= 8:
        t, m = levels[-1]
        levels.append((cv2.pyrDown(t), cv2.resize(m, (t.shape[1] // 2 + t.shape[1] % 2, t.shape[0] // 2 + t.shape[0] % 2),
                                                   interpolation=cv2.INTER_AREA)))
    distractor_texture = None
    if plan.distractor is not None:
        gains = rng.uniform(0.75, 1.25, 3).astype(np.float32)
        distractor_texture = [(np.clip(np.ascontiguousarray(t[:, ::-1]) * gains, 0, 255),
                               np.ascontiguousarray(m[:, ::-1])) for t, m in levels]
        distractor_jitter = (rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), rng.normal(0, 10))
    occluder_layer = None
    photo = bank[plan.background_photo]
    for t in range(plan.num_frames):
        frame = camera_view(photo, _photo_view(photo, plan.view[t]))
        w, h = box_wh(float(plan.size[t]), plan.aspect)
        level = 0
        while level + 1 < len(levels) and levels[level + 1][1].shape[1] >= w and levels[level + 1][1].shape[0] >= h:
            level += 1
        tex, msk = levels[level]
        center = (float(plan.center[t, 0]), float(plan.center[t, 1]))
        if plan.distractor is not None:
            dist, theta0, rate = plan.distractor
            theta = theta0 + rate * t
            d = dist * max(w, h)
            d_center = (float(np.clip(center[0] + d * math.cos(theta), 0, img_w)),
                        float(np.clip(center[1] + d * math.sin(theta), 0, img_h)))
            d_tex, d_msk = distractor_texture[level]
            sw, sh, da = distractor_jitter
            composite(frame, d_tex, d_msk, placement(w * sw, h * sh, float(plan.angle[t]) + da, d_center,
                                                     d_msk.shape[1], d_msk.shape[0]))
        affine = placement(w, h, float(plan.angle[t]), center, msk.shape[1], msk.shape[0])
        blur = None
        if plan.exposure > 0 and t > 0:
            motion = plan.exposure * (plan.center[t] - plan.center[t - 1])
            if np.hypot(*motion) >= 3.0:
                blur = motion_kernel(motion)
        composite(frame, tex, msk, affine, blur)
        box = mask_box(msk, affine)
        if plan.occluder is not None and plan.occluder[0] <= t <= plan.occluder[1]:
            first, last, covered, axis = plan.occluder
            if occluder_layer is None:  # sized on the box of its first frame, then kept
                ow = max(2, int(box[2] * math.sqrt(covered) * rng.uniform(0.8, 1.25)))
                oh = max(2, int(box[2] * box[3] * covered / ow))
                o_tex = cv2.resize(photo_crop(bank[plan.occluder_photo], ow / oh, rng, (0.1, 0.5)), (ow, oh),
                                   interpolation=cv2.INTER_AREA).astype(np.float32)
                occluder_layer = (o_tex, target_mask(str(rng.choice(("rectangle", "ellipse"))), ow, oh, rng),
                                  rng.uniform(-30, 30), rng.uniform(0.25, 0.75))
            o_tex, o_mask, o_angle, lateral = occluder_layer
            u = (t - first) / max(last - first, 1)
            oc = np.array([box[0] + lateral * box[2], box[1] + lateral * box[3]])
            span = box[2 + axis] + o_tex.shape[1 - axis]
            oc[axis] = box[axis] + box[2 + axis] / 2 + (u - 0.5) * span
            composite(frame, o_tex, o_mask, placement(o_tex.shape[1], o_tex.shape[0], o_angle, tuple(oc),
                                                      o_tex.shape[1], o_tex.shape[0]))
        if plan.illumination is not None:
            first, last, gains = plan.illumination
            ramp = float(np.clip((t - first) / max(last - first, 1), 0, 1))
            frame *= (1 + ramp * (np.asarray(gains) - 1)).astype(np.float32)
        if plan.noise > 0:
            add_sensor_noise(frame, plan.noise, rng)
        yield np.clip(frame, 0, 255).astype(np.uint8), box


# ---------------------------------------------------------------------------------------------- the set on disk
def wide_sequences_parameters(seed: int = DEFAULT_SEED, num_sequences: int = DEFAULT_NUM_SEQUENCES,
                              num_frames: int = NUM_FRAMES, bank_digest: str = "", profile: str = "wide") -> dict:
    """The canonical parameter dict (what the configuration hash covers); validates the values. The ``wide``
    profile is left out of it, so its sets keep the hash they had before profiles existed."""
    for name, value, low in (("seed", seed, 0), ("num_sequences", num_sequences, 1), ("num_frames", num_frames, 2)):
        if int(value) != value or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    get_profile(profile)
    params = {"seed": int(seed), "num_sequences": int(num_sequences), "num_frames": int(num_frames),
              "jpeg_quality": JPEG_QUALITY, "image_size": list(IMAGE_SIZE), "bank_digest": bank_digest}
    return params if profile == "wide" else {**params, "profile": profile}


def config_hash(params: dict) -> str:
    text = json.dumps({"generator_version": GENERATOR_VERSION, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _up_to_date(root: Path, params: dict) -> bool:
    manifest = read_manifest(root)
    return (manifest is not None and manifest.get("config_hash") == config_hash(params)
            and (root / f"{SPLIT}.txt").is_file())


def _write_sequence(bank_dir: str, params: dict, index: int, build_root: str) -> tuple[str, str, list[str]]:
    from ltr.synthetic.photo_bank import load_bank

    bank = load_bank(bank_dir)
    profile = params.get("profile", "wide")
    plan = plan_wide_sequence(params["seed"], index, len(bank), params["num_frames"], profile)
    frames, boxes = [], []
    for frame, box in render_wide_sequence(bank, plan):
        frames.append(frame)
        boxes.append(box)
    flags = np.zeros(plan.num_frames, bool)
    digest = write_lasot_sequence(Path(build_root) / get_profile(profile).class_name / plan.name, frames,
                                  np.array(boxes), flags, flags,
                                  f"{profile} train sequence {index + 1}: " + ", ".join(plan.challenges()),
                                  JPEG_QUALITY)
    return plan.name, digest, plan.challenges()


def build_wide_sequences(root: str | os.PathLike, bank_dir: str | os.PathLike, seed: int | None = None,
                         num_sequences: int | None = None, num_frames: int | None = None,
                         workers: int | None = None, progress: bool = True, force: bool = False,
                         profile: str = "wide") -> Path:
    """Write the set to ``root`` (module docstring); a no-op when up to date. Returns the root. Seed, sequence and
    frame counts default to the profile's (:data:`PROFILES`)."""
    from ltr.synthetic.photo_bank import load_bank, manifest_digest

    root = Path(root).expanduser().resolve()
    bank_dir = Path(bank_dir).expanduser().resolve()
    if not (bank_dir / "manifest.json").is_file():
        raise ValueError(f"photo bank {bank_dir} holds no photographs (build it: python -m ltr.synthetic.photo_bank; "
                         "its --help names the Debian wallpaper packages it reads)")
    defaults = get_profile(profile)
    params = wide_sequences_parameters(defaults.seed if seed is None else seed,
                                       defaults.num_sequences if num_sequences is None else num_sequences,
                                       defaults.num_frames if num_frames is None else num_frames,
                                       manifest_digest(bank_dir), profile)
    num_sequences = params["num_sequences"]
    if not force and _up_to_date(root, params):
        return root
    if root.exists() and any(root.iterdir()) and read_manifest(root) is None:
        raise ValueError(f"--root: {root} exists, is not empty and holds no {MANIFEST}; refusing to overwrite it")
    if len(load_bank(bank_dir)) < 3:
        raise ValueError(f"photo bank {bank_dir} holds fewer than 3 photographs")
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
    results = []
    with tqdm(total=num_sequences, unit="seq", desc=f"{profile} train sequences -> {root.name}",
              disable=not progress) as bar:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_write_sequence, str(bank_dir), params, k, str(build)) for k in range(num_sequences)]
            for future in futures:
                results.append(future.result())
                bar.update(1)
    names = [name for name, _, _ in results]
    (build / f"{SPLIT}.txt").write_text("".join(n + "\n" for n in names))
    content = hashlib.sha256("".join(f"{n}:{d}\n" for n, d, _ in results).encode())
    manifest = {"generator": "ltr.synthetic.wide_sequences", "generator_version": GENERATOR_VERSION,
                "params": params, "config_hash": config_hash(params), "content_sha256": content.hexdigest(),
                "sequences": {SPLIT: names}, "sequence_sha256": {n: d for n, d, _ in results},
                "attributes": {n: {"challenges": c} for n, _, c in results}, "bank": str(bank_dir),
                "use": "train side: weights and parameter values may be chosen on it",
                "build_seconds": round(time.perf_counter() - start, 2)}
    (build / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    install_build(build, root, lambda path: _up_to_date(path, params))
    return root


def ensure_wide_sequences(root: str | os.PathLike | None = None, bank_dir: str | os.PathLike | None = None,
                          progress: bool = True, profile: str = "wide", **kwargs) -> Path:
    """The set at ``root`` (default: the settings' path of the profile's set, e.g. ``wide_train``),
    built on first use from ``bank_dir`` (default ``<workspace>/photo_bank``)."""
    from ltr.synthetic.photo_bank import default_bank_path

    target = Path(root) if root is not None else benchmark_root_from_settings(get_profile(profile).settings_key)
    return build_wide_sequences(target, bank_dir or default_bank_path(), progress=progress, profile=profile, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("ltr.synthetic.wide_sequences", __doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="wide",
                        help="wide: the wide_train set (default); steady: the steady_train set (targets that keep "
                             "their size); wide_check, steady_check: the check sets (other seeds)")
    parser.add_argument("--root", default=None,
                        help="output folder (default: the profile's [datasets] entry of the settings)")
    parser.add_argument("--bank", default=None, help="photo bank folder (default: <workspace>/photo_bank)")
    parser.add_argument("--num_sequences", type=int, default=None, help="sequences (default: the profile's, 40)")
    parser.add_argument("--num_frames", type=int, default=None,
                        help="frames a sequence (default: the profile's, wide 100, steady 150)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed (default: the profile's, wide 0, steady 1, wide_check 100, steady_check 101)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: up to 2)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the manifest matches")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--contact_sheet", default=None, help="also write a picture of frames with their boxes")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out = ensure_wide_sequences(args.root, args.bank, progress=not args.quiet, profile=args.profile,
                                    seed=args.seed, num_sequences=args.num_sequences, num_frames=args.num_frames,
                                    workers=args.workers, force=args.force)
    except ValueError as err:
        parser.error(str(err))
    manifest = read_manifest(out) or {}
    label = f"[{args.profile} train sequences]"
    if args.contact_sheet:
        from ltr.synthetic.demo_benchmark import render_contact_sheet
        print(f"{label} contact sheet: {render_contact_sheet(out, args.contact_sheet, split=SPLIT)}")
    print(f"{label} {out}: {len(manifest.get('sequences', {}).get(SPLIT, []))} sequences "
          f"(content sha256 {manifest.get('content_sha256', '?')[:12]})")


if __name__ == "__main__":
    main()
