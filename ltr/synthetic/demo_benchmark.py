"""The offline demo benchmark: procedural sequences written in the LaSOT layout.

Layout (as LaSOT, see ``ltr/dataset/lasot.py``)::

    <root>/<class>/<class>-<k>/img/00000001.jpg ...   # JPEG, fixed quality, 1-based
    <root>/<class>/<class>-<k>/groundtruth.txt        # one "x,y,w,h" row per frame (float, comma)
    <root>/<class>/<class>-<k>/full_occlusion.txt     # ONE line of comma-separated 0/1
    <root>/<class>/<class>-<k>/out_of_view.txt        # ONE line of comma-separated 0/1
    <root>/<class>/<class>-<k>/nlp.txt                # one sentence
    <root>/train.txt, <root>/test.txt                 # sequence names, one per line
    <root>/manifest.json                              # version, seed, parameters, hashes, attributes

``<class>`` is the photograph the target was cut from (``blob`` for procedural targets); ``k`` counts
per class over train then test, so names never collide. Train and test never share a photograph
(objects or backgrounds; see ``scenes.PHOTO_POOLS``) and are drawn from independent random streams.
The ground truth of every frame is the geometric tight box of the target's mask, also while it is
out of view or occluded (as LaSOT); those frames are flagged.

Defaults: 12 test sequences x 150 frames and 40 train sequences x 100 frames at 480x360, i.e. 1800
test frames (about 1 min for a 30 fps tracker) and 4000 train frames; about 180 MB of JPEG. The
build costs about 4 ms of CPU per frame (render + JPEG): ~20 s on 2 idle cores with the 2 default
workers. Reference scores on the default test split (AUC over visible frames): OpenCV KCF 0.19,
CSRT 0.58-0.60. ``docs/demo_benchmark_frames.png`` shows test frames with their boxes.

Idempotent: a build whose ``manifest.json`` has the same configuration hash (generator version +
parameters) is not redone; a changed version or parameter rebuilds. The build goes to a temporary
sibling folder renamed into place at the end, so an interrupted build leaves nothing half-written.

CLI: ``python -m ltr.synthetic.demo_benchmark [--root DIR] [--num_test N] [--num_train N] ...``
(the root defaults to the ``demo`` dataset path of the local settings).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from tqdm import tqdm

from ltr.synthetic.scenes import (GENERATOR_VERSION, PHOTO_POOLS, SceneConfig, build_assets, plan_sequence,
                                  render_frame)

MANIFEST = "manifest.json"
DEFAULT_NUM_TRAIN = 40
DEFAULT_NUM_TEST = 12
DEFAULT_NUM_FRAMES = 150
DEFAULT_NUM_TRAIN_FRAMES = 100
DEFAULT_IMAGE_SIZE = (480, 360)
DEFAULT_JPEG_QUALITY = 90


@dataclass(frozen=True)
class _SequenceJob:
    name: str
    object_class: str
    split: str
    index: int
    seed: int
    config: SceneConfig
    jpeg_quality: int


def _format_flags(flags: np.ndarray) -> str:
    return ",".join("1" if f else "0" for f in flags) + "\n"


def _write_sequence(job: _SequenceJob, build_root: str) -> tuple[str, str, int]:
    """Render and write one sequence; returns ``(name, sha256 of its files, number of frames)``."""
    plan = plan_sequence(job.seed, job.split, job.index, job.config)
    assets = build_assets(plan)
    seq_dir = Path(build_root) / job.object_class / job.name
    (seq_dir / "img").mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for t in range(plan.num_frames):
        frame = render_frame(plan, assets, t)
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(frame[:, :, ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, job.jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {job.name} frame {t}")
        data = buf.tobytes()
        digest.update(data)
        (seq_dir / "img" / f"{t + 1:08d}.jpg").write_bytes(data)
    texts = {
        "groundtruth.txt": "".join(",".join(f"{v:.4f}" for v in box) + "\n" for box in plan.boxes),
        "full_occlusion.txt": _format_flags(plan.full_occlusion),
        "out_of_view.txt": _format_flags(plan.out_of_view),
        "nlp.txt": plan.description() + "\n",
    }
    for fname, text in texts.items():
        data = text.encode()
        digest.update(data)
        (seq_dir / fname).write_bytes(data)
    return job.name, digest.hexdigest(), plan.num_frames


def benchmark_parameters(num_train: int = DEFAULT_NUM_TRAIN, num_test: int = DEFAULT_NUM_TEST,
                         num_frames: int = DEFAULT_NUM_FRAMES,
                         num_train_frames: int | None = DEFAULT_NUM_TRAIN_FRAMES,
                         image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE, seed: int = 0,
                         jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> dict:
    """The canonical parameter dict (what the configuration hash covers); validates every value."""
    for arg, value, lowest in (("num_train", num_train, 0), ("num_test", num_test, 0),
                               ("num_frames", num_frames, 1)):
        if int(value) != value or value < lowest:
            raise ValueError(f"{arg}: expected an integer >= {lowest}, got {value!r}")
    if num_train + num_test < 1:
        raise ValueError("num_train, num_test: at least one sequence is needed")
    train_frames = num_frames if num_train_frames is None else num_train_frames
    if int(train_frames) != train_frames or train_frames < 1:
        raise ValueError(f"num_train_frames: expected an integer >= 1 or None, got {num_train_frames!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality: expected 1..100, got {jpeg_quality}")
    SceneConfig(tuple(image_size), int(num_frames))  # validates image_size
    return {"num_train": int(num_train), "num_test": int(num_test), "num_frames": int(num_frames),
            "num_train_frames": int(train_frames), "image_size": [int(image_size[0]), int(image_size[1])],
            "seed": int(seed), "jpeg_quality": int(jpeg_quality)}


def config_hash(params: dict) -> str:
    """sha256 of the generator version and the canonical parameters."""
    text = json.dumps({"generator_version": GENERATOR_VERSION, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The manifest of a built benchmark, or None when there is none (or it is unreadable)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_up_to_date(root: str | os.PathLike, params: dict) -> bool:
    manifest = read_manifest(root)
    return (manifest is not None and manifest.get("config_hash") == config_hash(params)
            and (Path(root) / "train.txt").is_file() and (Path(root) / "test.txt").is_file())


def _plan_jobs(params: dict) -> tuple[list[_SequenceJob], dict]:
    """Name every sequence (class from its target's photograph, k counted per class); also the plans."""
    jobs: list[_SequenceJob] = []
    plans = {}
    counts: dict[str, int] = {}
    size = tuple(params["image_size"])
    for split, count, frames in (("train", params["num_train"], params["num_train_frames"]),
                                 ("test", params["num_test"], params["num_frames"])):
        config = SceneConfig(size, frames)
        for index in range(count):
            plan = plan_sequence(params["seed"], split, index, config)
            counts[plan.object_class] = counts.get(plan.object_class, 0) + 1
            name = f"{plan.object_class}-{counts[plan.object_class]}"
            jobs.append(_SequenceJob(name, plan.object_class, split, index, params["seed"], config,
                                     params["jpeg_quality"]))
            plans[name] = plan
    return jobs, plans


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_builds(root: Path) -> None:
    """Temporary folders of interrupted builds (their process is gone) are deleted."""
    for path in root.parent.glob(f".{root.name}.building-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def build_demo_benchmark(root: str | os.PathLike, num_train: int = DEFAULT_NUM_TRAIN,
                         num_test: int = DEFAULT_NUM_TEST, num_frames: int = DEFAULT_NUM_FRAMES,
                         image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE, seed: int = 0, progress: bool = True,
                         num_train_frames: int | None = DEFAULT_NUM_TRAIN_FRAMES,
                         jpeg_quality: int = DEFAULT_JPEG_QUALITY, workers: int | None = None,
                         force: bool = False) -> Path:
    """Write the demo benchmark to ``root`` (see the module docstring); a no-op when up to date.

    ``num_frames`` is the length of test sequences, ``num_train_frames`` of train sequences (None:
    the same). ``workers``: processes rendering sequences in parallel (default: up to 2; the output
    does not depend on it). ``force`` rebuilds even when the manifest matches.
    Returns the root as a ``Path``.
    """
    root = Path(root).expanduser().resolve()
    params = benchmark_parameters(num_train, num_test, num_frames, num_train_frames, image_size, seed,
                                  jpeg_quality)
    if not force and is_up_to_date(root, params):
        return root
    if root.exists() and any(root.iterdir()) and read_manifest(root) is None:
        raise ValueError(f"root: {root} exists, is not empty and holds no {MANIFEST}; refusing to overwrite it")
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(root)
    start = time.perf_counter()
    jobs, plans = _plan_jobs(params)
    build = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
    digests: dict[str, str] = {}
    total = sum(j.config.num_frames for j in jobs)
    with tqdm(total=total, unit="frame", desc=f"demo benchmark -> {root.name}", disable=not progress) as bar:
        if workers == 1:
            for job in jobs:
                name, digest, count = _write_sequence(job, str(build))
                digests[name] = digest
                bar.update(count)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_write_sequence, job, str(build)) for job in jobs]
                for future in futures:
                    name, digest, count = future.result()
                    digests[name] = digest
                    bar.update(count)
    splits = {s: [j.name for j in jobs if j.split == s] for s in ("train", "test")}
    for split, names in splits.items():
        (build / f"{split}.txt").write_text("".join(n + "\n" for n in names))
    content = hashlib.sha256()
    for job in jobs:
        content.update(f"{job.name}:{digests[job.name]}\n".encode())
    attributes = {}
    for job in jobs:
        plan = plans[job.name]
        attributes[job.name] = {"split": job.split, "challenges": list(plan.challenges),
                                "background": plan.background_source,
                                "target_shape": plan.target.shape.kind,
                                "distractors": len(plan.distractors), "occluders": len(plan.occluders),
                                "out_of_view_frames": int(plan.out_of_view.sum()),
                                "full_occlusion_frames": int(plan.full_occlusion.sum())}
    manifest = {"generator": "ltr.synthetic.demo_benchmark", "generator_version": GENERATOR_VERSION,
                "params": params, "config_hash": config_hash(params), "content_sha256": content.hexdigest(),
                "sequences": splits, "sequence_sha256": digests, "attributes": attributes,
                "photo_pools": PHOTO_POOLS, "build_seconds": round(time.perf_counter() - start, 2)}
    (build / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    install_build(build, root, lambda path: is_up_to_date(path, params))
    return root


def install_build(build: Path, root: Path, up_to_date: Callable[[Path], bool]) -> None:
    """Move a finished build folder to ``root``, replacing an outdated build there (never a foreign folder: the
    callers refuse those before building). If a concurrent build finished first (``up_to_date(root)``), this
    build is dropped. Shared by the demo and the validation benchmark."""
    old = None
    if root.exists():
        if up_to_date(root):  # a concurrent build finished first
            shutil.rmtree(build, ignore_errors=True)
            return
        if any(root.iterdir()):
            old = root.parent / f".{root.name}.old-{os.getpid()}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(root, old)
        else:
            root.rmdir()
    try:
        os.replace(build, root)
    except OSError:
        if not up_to_date(root):
            raise
        shutil.rmtree(build, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def benchmark_root_from_settings(key: str) -> Path:
    """The ``[datasets] <key>`` path of the local settings (``demo``, ``validation``), resolved relative to the
    settings file; ``SettingsError`` naming the key and the file when it is not set."""
    from ltr.admin.local_settings import SettingsError, load_settings

    settings = load_settings()
    raw = settings.datasets.get(key, "")
    if not raw:
        raise SettingsError(f"dataset root '{key}' is not set: set [datasets] {key} = \"workspace/{key}_benchmark\" "
                            f"in {settings.file}")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else settings.file.parent / path


def demo_root_from_settings() -> Path:
    """The ``demo`` dataset path of the local settings, resolved relative to the settings file."""
    return benchmark_root_from_settings("demo")


def ensure_demo_benchmark(root: str | os.PathLike | None = None, progress: bool = True, **kwargs) -> Path:
    """Build the demo benchmark with default parameters on first use; returns its root.

    ``root`` defaults to :func:`demo_root_from_settings`; ``kwargs`` go to :func:`build_demo_benchmark`.
    """
    target = Path(root) if root is not None else demo_root_from_settings()
    return build_demo_benchmark(target, progress=progress, **kwargs)


def read_sequence_annotations(seq_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Parse one sequence folder: ``boxes [N, 4]``, ``full_occlusion [N]``, ``out_of_view [N]`` (bool)."""
    seq_dir = Path(seq_dir)
    boxes = np.loadtxt(seq_dir / "groundtruth.txt", delimiter=",", ndmin=2)
    flags = {}
    for name in ("full_occlusion", "out_of_view"):
        text = (seq_dir / f"{name}.txt").read_text().strip()
        flags[name] = np.array([int(v) for v in text.split(",")], dtype=np.int64).astype(bool)
    return {"boxes": boxes, **flags}


def render_contact_sheet(root: str | os.PathLike, out_path: str | os.PathLike, split: str = "test",
                         num_sequences: int = 6, frames_per_row: int = 5, thumb_width: int = 240) -> Path:
    """A PNG grid of frames read back from disk with their ground-truth boxes drawn.

    Green boxes: visible target; orange: out of view or fully occluded. One row per sequence.
    """
    root = Path(root)
    names = (root / f"{split}.txt").read_text().split()[:num_sequences]
    manifest = read_manifest(root) or {}
    rows = []
    for name in names:
        seq_dir = root / name.rsplit("-", 1)[0] / name
        ann = read_sequence_annotations(seq_dir)
        n = len(ann["boxes"])
        picks = np.linspace(0, n - 1, frames_per_row).round().astype(int)
        tiles = []
        for t in picks:
            image = cv2.imread(str(seq_dir / "img" / f"{t + 1:08d}.jpg"), cv2.IMREAD_COLOR)
            scale = thumb_width / image.shape[1]
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x, y, w, h = ann["boxes"][t] * scale
            hidden = ann["out_of_view"][t] or ann["full_occlusion"][t]
            colour = (0, 140, 255) if hidden else (0, 255, 0)  # BGR
            cv2.rectangle(image, (int(round(x * 4)), int(round(y * 4))),
                          (int(round((x + w) * 4)), int(round((y + h) * 4))), colour, 2, cv2.LINE_AA, 2)
            challenges = manifest.get("attributes", {}).get(name, {}).get("challenges", [])
            label = f"{name} #{t + 1}" + (" OOV" if ann["out_of_view"][t] else "") + (
                " OCC" if ann["full_occlusion"][t] else "")
            cv2.putText(image, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            if t == picks[0] and challenges:
                cv2.putText(image, ",".join(challenges), (4, image.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX,
                            0.35, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(image)
        rows.append(np.hstack(tiles))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_path), np.vstack(rows)):
        raise ValueError(f"out_path: could not write {out_path}")
    return out_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.synthetic.demo_benchmark",
                                     description="Build the offline demo benchmark (LaSOT layout).")
    parser.add_argument("--root", default=None, help="output folder (default: [datasets] demo of the settings)")
    parser.add_argument("--num_train", type=int, default=DEFAULT_NUM_TRAIN, help="train sequences")
    parser.add_argument("--num_test", type=int, default=DEFAULT_NUM_TEST, help="test sequences")
    parser.add_argument("--num_frames", type=int, default=DEFAULT_NUM_FRAMES, help="frames per test sequence")
    parser.add_argument("--num_train_frames", type=int, default=DEFAULT_NUM_TRAIN_FRAMES,
                        help="frames per train sequence")
    parser.add_argument("--width", type=int, default=DEFAULT_IMAGE_SIZE[0], help="frame width in pixels")
    parser.add_argument("--height", type=int, default=DEFAULT_IMAGE_SIZE[1], help="frame height in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    parser.add_argument("--jpeg_quality", type=int, default=DEFAULT_JPEG_QUALITY, help="JPEG quality of the frames")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: up to 2)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the manifest matches")
    parser.add_argument("--contact_sheet", default=None, help="also write a PNG of test frames with boxes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    root = Path(args.root) if args.root else demo_root_from_settings()
    start = time.perf_counter()
    out = build_demo_benchmark(root, num_train=args.num_train, num_test=args.num_test, num_frames=args.num_frames,
                               image_size=(args.width, args.height), seed=args.seed, progress=not args.quiet,
                               num_train_frames=args.num_train_frames, jpeg_quality=args.jpeg_quality,
                               workers=args.workers, force=args.force)
    manifest = read_manifest(out) or {}
    print(f"[demo benchmark] {out}: {len(manifest.get('sequences', {}).get('train', []))} train, "
          f"{len(manifest.get('sequences', {}).get('test', []))} test sequences "
          f"(content sha256 {manifest.get('content_sha256', '?')[:12]}); {time.perf_counter() - start:.1f} s")
    if args.contact_sheet:
        print(f"[demo benchmark] contact sheet: {render_contact_sheet(out, args.contact_sheet)}")


if __name__ == "__main__":
    main()
