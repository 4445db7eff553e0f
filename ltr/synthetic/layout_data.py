"""Training data in the real LaSOT and GOT-10k train layouts, built from the demo benchmark's train sequences.

For measuring the paper's training pipeline (JPEG decoding, official split lists, annotation parsing) without the
real datasets: ``python -m ltr.benchmark_training atom_ebm_paper --data_root OUT --datasets lasot got10k``.
Every demo train sequence is written twice (same frames, same boxes):

- ``OUT/lasot/<class>/<class>-<k>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt}``.
  The names are taken from the official train list (``ltr/data_specs/lasot_train_sequences.txt``), one class after
  the other (the first sequence of every class, then the second, ...), so ``Lasot(split='train')`` finds them.
  ``groundtruth.txt`` holds integer ``x,y,w,h`` rows (as LaSOT), the flag files one line of comma-separated 0/1.
- ``OUT/got10k/train/{list.txt, GOT-10k_Train_%06d/{%08d.jpg, groundtruth.txt, absence.label, cover.label,
  cut_by_image.label, meta_info.ini}}``. ``list.txt`` names all 9335 official train folders
  ``GOT-10k_Train_000001 .. GOT-10k_Train_009335``; the sequences are written at list indices of pytracking's
  ``vottrain`` split (about 90%) and ``votval`` split (the rest, at least one when there are two or more), so
  ``Got10k(split='vottrain')`` and ``'votval'`` find them. ``absence = occluded or out of view``,
  ``cover = 0`` when absent else 8, ``cut_by_image = 1`` when the box crosses the image border; 4-decimal boxes.

Both datasets report the listed sequences that are not on disk once (a partial download, to them).

``frame_size=(W, H)`` re-encodes the frames at that size (JPEG quality 90, boxes scaled by ``W/w, H/h``; LaSOT
frames are mostly 1280x720), which makes the decoding cost realistic; without it the demo's JPEG bytes are copied.
A build writes ``OUT/layout_data.json``; the same parameters again is a no-op, other parameters rebuild. A
non-empty ``OUT`` without that file is refused.

CLI: ``python -m ltr.synthetic.layout_data --out DIR [--frame-size 1280x720] [--sequences N] [--workers N]``
(the source is the settings' demo benchmark, built on first use, or ``--source DIR``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ltr.data_specs import spec_path
from ltr.dataset.annotation_io import read_lines
from ltr.synthetic.demo_benchmark import ensure_demo_benchmark, read_sequence_annotations

__all__ = ["GOT10K_TRAIN_SIZE", "build_layout_data", "lasot_train_names", "got10k_train_indices", "main"]

MANIFEST = "layout_data.json"
#: number of sequences in GOT-10k's official train split (``train/list.txt``)
GOT10K_TRAIN_SIZE = 9335
JPEG_QUALITY = 90


def lasot_train_names(count: int) -> list[str]:
    """``count`` names of LaSOT's official train list, round-robin over its classes in file order."""
    by_class: dict[str, list[str]] = {}
    for name in read_lines(spec_path("lasot_train_sequences.txt")):
        by_class.setdefault(name.rsplit("-", 1)[0], []).append(name)
    columns = max(len(v) for v in by_class.values())
    ordered = [names[i] for i in range(columns) for names in by_class.values() if i < len(names)]
    if count > len(ordered):
        raise ValueError(f"count: LaSOT's train list has {len(ordered)} sequences, asked for {count}")
    return ordered[:count]


def got10k_train_indices(count: int) -> tuple[list[int], list[int]]:
    """``(vottrain indices, votval indices)``, 0-based into ``train/list.txt``, ``count`` in all (the smallest
    indices of each split; ``count // 10`` votval ones, at least one when ``count >= 2``)."""
    num_val = count // 10 if count >= 10 else (1 if count >= 2 else 0)
    train = sorted(int(x) for x in read_lines(spec_path("got10k_vot_train_split.txt")))
    val = sorted(int(x) for x in read_lines(spec_path("got10k_vot_val_split.txt")))
    if count - num_val > len(train) or num_val > len(val):
        raise ValueError(f"count: GOT-10k's vot splits hold {len(train)} + {len(val)} sequences, asked for {count}")
    return train[:count - num_val], val[:num_val]


@dataclass(frozen=True)
class _Job:
    layout: str            # 'lasot' or 'got10k'
    source_dir: str        # the demo sequence folder
    target_dir: str        # the sequence folder to write
    name: str
    object_class: str
    frame_size: tuple[int, int] | None


def _flags_line(values: np.ndarray) -> str:
    return ",".join(str(int(v)) for v in values) + "\n"


def _write_sequence(job: _Job) -> int:
    """Write one sequence in its layout; returns the number of bytes of JPEG written."""
    src = Path(job.source_dir)
    ann = read_sequence_annotations(src)
    boxes = np.asarray(ann["boxes"], dtype=np.float64)
    frames = sorted((src / "img").glob("*.jpg"))
    if len(frames) != len(boxes):
        raise ValueError(f"{src}: {len(frames)} frames but {len(boxes)} rows in groundtruth.txt")
    first = cv2.imread(str(frames[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise ValueError(f"cannot read image {frames[0]}")
    height, width = first.shape[:2]
    if job.frame_size is not None and tuple(job.frame_size) != (width, height):
        scale = np.array([job.frame_size[0] / width, job.frame_size[1] / height] * 2)
        width, height = job.frame_size
    else:
        scale = None
    target = Path(job.target_dir)
    img_dir = target / "img" if job.layout == "lasot" else target
    img_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for i, frame in enumerate(frames):
        out = img_dir / f"{i + 1:08d}.jpg"
        if scale is None:
            shutil.copyfile(frame, out)
        else:
            image = cv2.imread(str(frame), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read image {frame}")
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError(f"JPEG encoding failed for {out}")
            out.write_bytes(buf.tobytes())
        written += out.stat().st_size
    if scale is not None:
        boxes = boxes * scale
    occluded, out_of_view = ann["full_occlusion"], ann["out_of_view"]
    if job.layout == "lasot":
        (target / "groundtruth.txt").write_text(
            "".join(",".join(str(int(round(v))) for v in box) + "\n" for box in boxes))
        (target / "full_occlusion.txt").write_text(_flags_line(occluded))
        (target / "out_of_view.txt").write_text(_flags_line(out_of_view))
        nlp = src / "nlp.txt"
        (target / "nlp.txt").write_text(nlp.read_text() if nlp.is_file() else f"the {job.object_class}\n")
    else:
        absent = occluded | out_of_view
        cut = ((boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 0] + boxes[:, 2] > width)
               | (boxes[:, 1] + boxes[:, 3] > height))
        (target / "groundtruth.txt").write_text("".join(",".join(f"{v:.4f}" for v in box) + "\n" for box in boxes))
        (target / "absence.label").write_text("".join(f"{int(a)}\n" for a in absent))
        (target / "cover.label").write_text("".join(f"{0 if a else 8}\n" for a in absent))
        (target / "cut_by_image.label").write_text("".join(f"{int(c)}\n" for c in cut))
        (target / "meta_info.ini").write_text(
            f"[METAINFO]\nurl: demo_benchmark/{src.name}\nbegin: 00:00:00\nend: 00:00:00\nanno_fps: 10Hz\n"
            f"object_class: {job.object_class}\nmotion_class: moving\nmajor_class: {job.object_class}\n"
            f"root_class: object\nmotion_adverb: smoothly\nresolution: ({width}, {height})\n")
    return written


def _plan(source: Path, out: Path, count: int, frame_size: tuple[int, int] | None) -> tuple[list[_Job], dict]:
    demo_names = (source / "train.txt").read_text().split()
    if count > len(demo_names):
        raise ValueError(f"sequences: the demo benchmark {source} has {len(demo_names)} train sequences, "
                         f"asked for {count}")
    demo_names = demo_names[:count]
    lasot_names = lasot_train_names(count)
    train_idx, val_idx = got10k_train_indices(count)
    jobs = []
    for demo, name in zip(demo_names, lasot_names):
        cls = name.rsplit("-", 1)[0]
        jobs.append(_Job("lasot", str(source / demo.rsplit("-", 1)[0] / demo), str(out / "lasot" / cls / name), name,
                         cls, frame_size))
    for demo, index in zip(demo_names, train_idx + val_idx):
        name = f"GOT-10k_Train_{index + 1:06d}"
        jobs.append(_Job("got10k", str(source / demo.rsplit("-", 1)[0] / demo), str(out / "got10k" / "train" / name),
                         name, demo.rsplit("-", 1)[0], frame_size))
    summary = {"lasot": lasot_names, "got10k_vottrain": [f"GOT-10k_Train_{i + 1:06d}" for i in train_idx],
               "got10k_votval": [f"GOT-10k_Train_{i + 1:06d}" for i in val_idx], "demo_sequences": demo_names}
    return jobs, summary


def build_layout_data(out: str | os.PathLike, source: str | os.PathLike | None = None,
                      num_sequences: int | None = None, frame_size: tuple[int, int] | None = None,
                      workers: int | None = None, progress: bool = True) -> dict:
    """Write ``out/lasot`` and ``out/got10k`` (see the module docstring); returns the manifest.

    ``source``: a built demo benchmark (default: the settings' one, built on first use with ``workers``).
    ``num_sequences``: how many of its train sequences (default all). ``workers``: processes (default: all CPUs).
    """
    out = Path(out).expanduser().resolve()
    workers = max(1, int(workers)) if workers is not None else max(1, os.cpu_count() or 1)
    if frame_size is not None:
        frame_size = (int(frame_size[0]), int(frame_size[1]))
        if min(frame_size) < 16:
            raise ValueError(f"frame_size: expected (width, height) >= 16, got {frame_size}")
    src = Path(source).expanduser().resolve() if source is not None else \
        ensure_demo_benchmark(progress=progress, workers=workers)
    if not (src / "train.txt").is_file():
        raise ValueError(f"source: {src} is not a built demo benchmark (no train.txt)")
    demo_manifest = src / "manifest.json"
    count = len((src / "train.txt").read_text().split()) if num_sequences is None else int(num_sequences)
    if count < 1:
        raise ValueError(f"num_sequences: expected >= 1, got {num_sequences}")
    params = {"source": str(src), "num_sequences": count, "frame_size": list(frame_size) if frame_size else None,
              "source_content": json.loads(demo_manifest.read_text()).get("content_sha256")
              if demo_manifest.is_file() else None, "jpeg_quality": JPEG_QUALITY}
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text())
        if old.get("params") == params:
            return old
        for sub in ("lasot", "got10k"):
            shutil.rmtree(out / sub, ignore_errors=True)
        manifest_path.unlink()
    elif out.exists() and any(out.iterdir()):
        raise ValueError(f"out: {out} exists, is not empty and holds no {MANIFEST}; refusing to write into it")
    start = time.perf_counter()
    jobs, summary = _plan(src, out, count, frame_size)
    got_dir = out / "got10k" / "train"
    got_dir.mkdir(parents=True, exist_ok=True)
    (got_dir / "list.txt").write_text("".join(f"GOT-10k_Train_{i + 1:06d}\n" for i in range(GOT10K_TRAIN_SIZE)))
    total = 0
    with tqdm(total=len(jobs), unit="seq", desc=f"layout data -> {out.name}", disable=not progress) as bar:
        if workers == 1:
            for job in jobs:
                total += _write_sequence(job)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                for written in pool.map(_write_sequence, jobs):
                    total += written
                    bar.update(1)
    frames = sum(len(read_sequence_annotations(job.source_dir)["boxes"]) for job in jobs)
    manifest = {"params": params, "frames": frames, "jpeg_bytes": total,
                "build_seconds": round(time.perf_counter() - start, 2), "sequences": summary,
                "roots": {"lasot": str(out / "lasot"), "got10k": str(out / "got10k")}}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--frame_size: expected WIDTHxHEIGHT, e.g. 1280x720, got {text!r}") from None
    return w, h


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import add_alias, cli_parser
    parser = cli_parser("ltr.synthetic.layout_data", "Write the demo benchmark's train sequences in the LaSOT and "
                                                      "GOT-10k train layouts.")
    parser.add_argument("--out", required=True, help="output folder (gets lasot/ and got10k/)")
    parser.add_argument("--source", default=None, help="a built demo benchmark (default: the settings' demo root, "
                                                        "built on first use)")
    parser.add_argument("--sequences", type=int, default=None, help="demo train sequences to use (default all)")
    parser.add_argument("--frame_size", type=_parse_size, default=None,
                        help="re-encode frames at WIDTHxHEIGHT (default: copy the demo's JPEGs)")
    add_alias(parser, "--frame-size", "--frame_size")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    m = build_layout_data(args.out, args.source, args.sequences, args.frame_size, args.workers,
                          progress=not args.quiet)
    size = m["params"]["frame_size"]
    print(f"[layout data] {Path(args.out).resolve()}: LaSOT {len(m['sequences']['lasot'])} sequences, GOT-10k "
          f"{len(m['sequences']['got10k_vottrain'])} vottrain + {len(m['sequences']['got10k_votval'])} votval; "
          f"{m['frames']} frames ({'x'.join(map(str, size)) if size else 'demo size'}), "
          f"{m['jpeg_bytes'] / 1e6:.0f} MB of JPEG, {m['build_seconds']} s. "
          f"Use with --data_root {Path(args.out).resolve()}")


if __name__ == "__main__":
    main()
