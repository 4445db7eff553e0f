"""The validation benchmark: a second offline benchmark, written in the LaSOT layout, used only to report.

Nothing is tuned on it: no weight, step length, gate or other number of the project may be chosen
by its scores (they come from the demo benchmark's train split and train-side pairs). It differs
from the demo benchmark (:mod:`ltr.synthetic.demo_benchmark`) in every part of the generator:
photographs and footage (:mod:`ltr.synthetic.validation_sources`, none used by the demo), real
video backgrounds, the motion model (:mod:`ltr.synthetic.validation_motion`) and fixed scenarios
(:mod:`ltr.synthetic.validation_scenes`: 9 sequences, 1740 frames at 480x360).

Layout (as LaSOT)::

    <root>/<scenario>/<scenario>-1/img/00000001.jpg ...   groundtruth.txt, full_occlusion.txt,
    <root>/test.txt                                         out_of_view.txt, nlp.txt
    <root>/manifest.json        version, seed, parameters, configuration and content hashes, attributes

Built deterministically from ``seed``; a build whose manifest has the same configuration hash is
not redone (cached); the build goes to a temporary sibling folder renamed into place at the end.

    python -m ltr.synthetic.validation_benchmark [--root DIR] [--seed S] [--max_frames N] [--force]

(the root defaults to the ``validation`` dataset path of the local settings).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ltr.admin.cli import cli_parser
from ltr.synthetic.demo_benchmark import benchmark_root_from_settings, install_build, read_manifest
from ltr.synthetic.sequence_writer import write_lasot_sequence
from ltr.synthetic.validation_scenes import (IMAGE_SIZE, SCENARIOS, VALIDATION_GENERATOR_VERSION, Scenario,
                                             plan_validation_sequence, render_validation_frame)
from ltr.synthetic.validation_sources import BACKGROUND_VIDEOS, MASK_SOURCES, TARGET_SOURCES

MANIFEST = "manifest.json"
SPLIT = "test"
JPEG_QUALITY = 90
DEFAULT_SEED = 0


def validation_parameters(seed: int = DEFAULT_SEED, max_frames: int | None = None) -> dict:
    """The canonical parameter dict (what the configuration hash covers); validates the values.

    ``max_frames``: cut every sequence to its first ``max_frames`` frames (None: full length), for
    quick runs; the scores of a cut benchmark are not comparable with the full one's.
    """
    if int(seed) != seed:
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    if max_frames is not None and (int(max_frames) != max_frames or max_frames < 2):
        raise ValueError(f"max_frames: expected an integer >= 2 or None, got {max_frames!r}")
    return {"seed": int(seed), "max_frames": None if max_frames is None else int(max_frames),
            "jpeg_quality": JPEG_QUALITY, "image_size": list(IMAGE_SIZE),
            "scenarios": [s.name for s in SCENARIOS]}


def config_hash(params: dict) -> str:
    """sha256 of the generator version and the canonical parameters."""
    text = json.dumps({"generator_version": VALIDATION_GENERATOR_VERSION, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def is_up_to_date(root: str | os.PathLike, params: dict) -> bool:
    manifest = read_manifest(root)
    return (manifest is not None and manifest.get("config_hash") == config_hash(params)
            and (Path(root) / f"{SPLIT}.txt").is_file())


def _write_sequence(scenario: Scenario, seed: int, max_frames: int | None, build_root: str
                    ) -> tuple[str, str, int, dict]:
    """Render and write one sequence: ``(name, sha256 of its files, frames, attributes)``."""
    plan = plan_validation_sequence(scenario, seed)
    n = plan.num_frames if max_frames is None else min(plan.num_frames, max_frames)
    name = f"{scenario.name}-1"
    digest = write_lasot_sequence(Path(build_root) / scenario.name / name,
                                  (render_validation_frame(plan, t) for t in range(n)), plan.boxes[:n],
                                  plan.full_occlusion[:n], plan.out_of_view[:n], plan.description(), JPEG_QUALITY)
    boxes = plan.boxes[:n]
    area = boxes[:, 2] * boxes[:, 3]
    speed = np.hypot(*np.diff(plan.target.center[:n], axis=0).T) if n > 1 else np.zeros(1)
    attributes = {"challenges": list(scenario.challenges), "target": scenario.target, "mask": scenario.mask,
                  "background": scenario.background, "frames": n,
                  "out_of_view_frames": int(plan.out_of_view[:n].sum()),
                  "full_occlusion_frames": int(plan.full_occlusion[:n].sum()),
                  "max_speed_px": round(float(speed.max()), 2),
                  "scale_range": round(float(np.sqrt(area.max() / area.min())), 2),
                  "min_box_side_px": round(float(boxes[:, 2:].min()), 2),
                  "max_aspect": round(float(max(scenario.size) / min(scenario.size)), 2),
                  "distractors": len(plan.distractors), "occluders": len(plan.occluders)}
    return name, digest, n, attributes


def build_validation_benchmark(root: str | os.PathLike, seed: int = DEFAULT_SEED, max_frames: int | None = None,
                               progress: bool = True, workers: int | None = None, force: bool = False) -> Path:
    """Write the validation benchmark to ``root`` (module docstring); a no-op when up to date.

    ``workers``: processes rendering sequences in parallel (default up to 2; the output does not
    depend on it). Returns the root.
    """
    root = Path(root).expanduser().resolve()
    params = validation_parameters(seed, max_frames)
    if not force and is_up_to_date(root, params):
        return root
    if root.exists() and any(root.iterdir()) and read_manifest(root) is None:
        raise ValueError(f"root: {root} exists, is not empty and holds no {MANIFEST}; refusing to overwrite it")
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    workers = max(1, min(2, os.cpu_count() or 1)) if workers is None else max(1, int(workers))
    results = {}
    total = sum(s.num_frames if max_frames is None else min(s.num_frames, max_frames) for s in SCENARIOS)
    with tqdm(total=total, unit="frame", desc=f"validation benchmark -> {root.name}", disable=not progress) as bar:
        if workers == 1:
            for scenario in SCENARIOS:
                out = _write_sequence(scenario, params["seed"], max_frames, str(build))
                results[scenario.name] = out
                bar.update(out[2])
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {s.name: pool.submit(_write_sequence, s, params["seed"], max_frames, str(build))
                           for s in SCENARIOS}
                for key, future in futures.items():
                    results[key] = future.result()
                    bar.update(results[key][2])
    names = [results[s.name][0] for s in SCENARIOS]
    (build / f"{SPLIT}.txt").write_text("".join(n + "\n" for n in names))
    content = hashlib.sha256()
    for s in SCENARIOS:
        name, digest, _, _ = results[s.name]
        content.update(f"{name}:{digest}\n".encode())
    manifest = {"generator": "ltr.synthetic.validation_benchmark",
                "generator_version": VALIDATION_GENERATOR_VERSION, "params": params,
                "config_hash": config_hash(params), "content_sha256": content.hexdigest(),
                "sequences": {SPLIT: names}, "sequence_sha256": {r[0]: r[1] for r in results.values()},
                "attributes": {r[0]: r[3] for r in results.values()},
                "sources": {"targets": list(TARGET_SOURCES), "masks": list(MASK_SOURCES),
                            "background_videos": list(BACKGROUND_VIDEOS),
                            "licences": "docs/validation_benchmark.md"},
                "use": "report only: never choose a number on this benchmark",
                "build_seconds": round(time.perf_counter() - start, 2)}
    (build / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    install_build(build, root, lambda path: is_up_to_date(path, params))
    return root


def validation_root_from_settings() -> Path:
    """The ``validation`` dataset path of the local settings (default ``workspace/validation_benchmark``)."""
    return benchmark_root_from_settings("validation")


def ensure_validation_benchmark(root: str | os.PathLike | None = None, progress: bool = True, **kwargs) -> Path:
    """Build the validation benchmark on first use (default parameters); returns its root."""
    target = Path(root) if root is not None else validation_root_from_settings()
    return build_validation_benchmark(target, progress=progress, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("ltr.synthetic.validation_benchmark", __doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="output folder (default: [datasets] validation of the settings)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the generator (default {DEFAULT_SEED})")
    parser.add_argument("--max_frames", type=int, default=None, help="cut every sequence (quick runs)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: up to 2)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the manifest matches")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out = build_validation_benchmark(args.root or validation_root_from_settings(), args.seed, args.max_frames,
                                         progress=not args.quiet, workers=args.workers, force=args.force)
    except ValueError as err:
        parser.error(str(err))
    manifest = read_manifest(out) or {}
    frames = sum(a["frames"] for a in manifest.get("attributes", {}).values())
    print(f"[validation benchmark] {out}: {len(manifest.get('sequences', {}).get(SPLIT, []))} sequences, "
          f"{frames} frames (content sha256 {manifest.get('content_sha256', '?')[:12]})")


if __name__ == "__main__":
    main()
