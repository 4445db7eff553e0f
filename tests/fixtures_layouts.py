"""Writers of tiny datasets in the official on-disk layouts (LaSOT, GOT-10k, TrackingNet, COCO, UAV123).

For tests of training and evaluation loaders. Each ``make_*`` writes under ``root`` and returns what
it wrote, so tests can assert real values. Frames are tiny JPEGs (default 32x24): a flat grey
background whose level encodes the frame index (:func:`frame_marker`, recover it with
:func:`read_marker`) and a coloured rectangle filling the ground-truth box. Boxes move by one pixel
a frame (:func:`default_boxes`). Nothing here downloads anything.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

BOX_COLOUR = (255, 40, 40)


@dataclass
class SequenceFixture:
    """What a ``make_*`` wrote for one sequence."""

    name: str
    directory: Path                 # the sequence folder (or annotation file's folder)
    boxes: np.ndarray               # [N, 4] xywh as written (NaN rows written as NaN)
    visible: np.ndarray             # [N] bool: the visibility the loader should derive
    frame_paths: list[Path] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def frame_marker(frame_index: int) -> int:
    """Background grey level of frame ``frame_index``: distinct for 0..22, then repeating."""
    return 20 + 10 * (frame_index % 23)


def read_marker(image: np.ndarray) -> int:
    """The frame index encoded by :func:`frame_marker` (from the top-left pixel; boxes never cover it)."""
    return int(round((float(image[0, 0].mean()) - 20) / 10)) % 23


def default_boxes(n_frames: int, image_size: tuple[int, int] = (32, 24), offset: int = 0) -> np.ndarray:
    """``[n, 4]`` boxes moving one pixel per frame, 1/4 of the image wide and high, never touching (0, 0)."""
    width, height = image_size
    bw, bh = max(2, width // 4), max(2, height // 4)
    span_x, span_y = max(1, width - bw - 2), max(1, height - bh - 2)
    i = np.arange(n_frames) + offset
    return np.stack([2 + i % span_x, 2 + i % span_y, np.full(n_frames, bw), np.full(n_frames, bh)],
                    axis=1).astype(np.float64)


def draw_frame(box: Sequence[float] | None, frame_index: int = 0, image_size: tuple[int, int] = (32, 24),
               colour: tuple[int, int, int] = BOX_COLOUR) -> np.ndarray:
    """RGB uint8 frame: grey background :func:`frame_marker` and a filled rectangle at ``box`` (if finite)."""
    width, height = image_size
    image = np.full((height, width, 3), frame_marker(frame_index), dtype=np.uint8)
    if box is not None and np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0:
        x, y, w, h = (int(round(v)) for v in box)
        image[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = colour
    return image


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB image (format from the extension; JPEG quality 95)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f"could not write {path}")
    return path


def write_boxes(path: str | os.PathLike, boxes: np.ndarray, delimiter: str = ",") -> Path:
    """One ``x,y,w,h`` row per box; NaN written as ``NaN``; integers without decimals."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def fmt(v: float) -> str:
        return "NaN" if not np.isfinite(v) else (str(int(v)) if float(v).is_integer() else f"{v:.2f}")

    path.write_text("".join(delimiter.join(fmt(v) for v in row) + "\n" for row in np.asarray(boxes)))
    return path


def replace_line(path: str | os.PathLike, line_number: int, text: str) -> None:
    """Replace 1-based line ``line_number`` of a text file by ``text`` (to inject bad annotation lines)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    lines[line_number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _flag_array(n_frames: int, frames: Iterable[int] | None) -> np.ndarray:
    flags = np.zeros(n_frames, dtype=np.int64)
    for f in frames or ():
        flags[f] = 1
    return flags


def _write_frames(folder: Path, boxes: np.ndarray, image_size, pattern: str, first_number: int) -> list[Path]:
    return [write_image(folder / pattern.format(i + first_number), draw_frame(box, i, image_size))
            for i, box in enumerate(boxes)]


# --------------------------------------------------------------------------------------------- LaSOT
def make_lasot(root: str | os.PathLike, sequences: Sequence[str] = ("airplane-1", "airplane-2", "bird-1"),
               n_frames: int = 5, image_size: tuple[int, int] = (32, 24),
               occluded: dict[str, Iterable[int]] | None = None,
               out_of_view: dict[str, Iterable[int]] | None = None) -> dict[str, SequenceFixture]:
    """``<root>/<class>/<class>-<k>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt, nlp.txt}``.

    ``occluded`` / ``out_of_view``: per sequence name, 0-based frames flagged 1.
    """
    root = Path(root)
    written = {}
    for s, name in enumerate(sequences):
        seq_dir = root / name.rsplit("-", 1)[0] / name
        boxes = default_boxes(n_frames, image_size, offset=s)
        frames = _write_frames(seq_dir / "img", boxes, image_size, "{:08d}.jpg", 1)
        write_boxes(seq_dir / "groundtruth.txt", boxes)
        occ = _flag_array(n_frames, (occluded or {}).get(name))
        oov = _flag_array(n_frames, (out_of_view or {}).get(name))
        (seq_dir / "full_occlusion.txt").write_text(",".join(map(str, occ)) + "\n")
        (seq_dir / "out_of_view.txt").write_text(",".join(map(str, oov)) + "\n")
        (seq_dir / "nlp.txt").write_text(f"the {name.rsplit('-', 1)[0]} moving right\n")
        written[name] = SequenceFixture(name, seq_dir, boxes, (occ == 0) & (oov == 0), frames)
    return written


# --------------------------------------------------------------------------------------------- GOT-10k
_GOT10K_PREFIX = {"train": "GOT-10k_Train", "val": "GOT-10k_Val", "test": "GOT-10k_Test"}


def make_got10k(root: str | os.PathLike, split: str = "train", n_sequences: int = 3, n_frames: int = 5,
                image_size: tuple[int, int] = (32, 24), absent: dict[str, Iterable[int]] | None = None,
                cover: dict[str, Sequence[int]] | None = None, object_class: str = "zebra",
                list_names: Sequence[str] | None = None) -> dict[str, SequenceFixture]:
    """``<root>/<split>/{list.txt, GOT-10k_<Split>_%06d/{%08d.jpg, groundtruth.txt, absence.label, cover.label,
    cut_by_image.label, meta_info.ini}}``; the test split has ``groundtruth.txt`` with the first row only.

    ``absent``: per name, frames with absence 1 (their cover is 0). ``cover``: per name, full cover list.
    ``list_names``: write these names into list.txt instead of the created ones (to simulate partial downloads).
    """
    if split not in _GOT10K_PREFIX:
        raise ValueError(f"split: expected train, val or test, got {split!r}")
    split_dir = Path(root) / split
    written = {}
    for s in range(n_sequences):
        name = f"{_GOT10K_PREFIX[split]}_{s + 1:06d}"
        seq_dir = split_dir / name
        boxes = default_boxes(n_frames, image_size, offset=s)
        frames = _write_frames(seq_dir, boxes, image_size, "{:08d}.jpg", 1)
        if split == "test":
            write_boxes(seq_dir / "groundtruth.txt", boxes[:1])
            visible = np.ones(n_frames, dtype=bool)
        else:
            write_boxes(seq_dir / "groundtruth.txt", boxes)
            absence = _flag_array(n_frames, (absent or {}).get(name))
            covers = np.asarray((cover or {}).get(name, [8] * n_frames), dtype=np.int64)
            covers = np.where(absence == 1, 0, covers)
            (seq_dir / "absence.label").write_text("".join(f"{v}\n" for v in absence))
            (seq_dir / "cover.label").write_text("".join(f"{v}\n" for v in covers))
            (seq_dir / "cut_by_image.label").write_text("0\n" * n_frames)
            (seq_dir / "meta_info.ini").write_text(
                "[METAINFO]\nurl: https://example.invalid/video\nbegin: 00:00:01\nend: 00:00:02\n"
                f"anno_fps: 10Hz\nobject_class: {object_class}\nmotion_class: running\nmajor_class: ungulate\n"
                f"root_class: animal\nmotion_adverb: slowly\nresolution: ({image_size[0]}, {image_size[1]})\n")
            visible = (absence == 0) & (covers > 0)
        written[name] = SequenceFixture(name, seq_dir, boxes, visible, frames)
    names = list(written) if list_names is None else list(list_names)
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "list.txt").write_text("".join(f"{n}\n" for n in names))
    return written


# --------------------------------------------------------------------------------------------- TrackingNet
def make_trackingnet(root: str | os.PathLike, chunks: Sequence[int] = (0,), videos_per_chunk: int = 2,
                     n_frames: int = 12, image_size: tuple[int, int] = (32, 24),
                     test: bool = False) -> dict[str, SequenceFixture]:
    """``<root>/TRAIN_k/{frames/<video>/<n>.jpg (0-based, unpadded), anno/<video>.txt}`` for k in ``chunks``.

    ``test=True`` also writes ``<root>/TEST`` (same frames, anno holding only the first row). Keys are
    ``TRAIN_k/<video>`` (and ``TEST/<video>``). Default 12 frames so that 10.jpg, 11.jpg exist.
    """
    root = Path(root)
    written = {}
    folders = [f"TRAIN_{k}" for k in chunks] + (["TEST"] if test else [])
    for c, folder in enumerate(folders):
        for v in range(videos_per_chunk):
            video = f"vid{c}x{v}_{v}"
            boxes = default_boxes(n_frames, image_size, offset=c + v)
            frames = _write_frames(root / folder / "frames" / video, boxes, image_size, "{}.jpg", 0)
            write_boxes(root / folder / "anno" / f"{video}.txt", boxes[:1] if folder == "TEST" else boxes)
            written[f"{folder}/{video}"] = SequenceFixture(f"{folder}/{video}", root / folder / "frames" / video,
                                                           boxes, np.ones(n_frames, dtype=bool), frames)
    return written


# --------------------------------------------------------------------------------------------- COCO
def make_coco(root: str | os.PathLike, n_images: int = 2, objects_per_image: int = 2,
              image_size: tuple[int, int] = (64, 48), split: str = "train", version: str = "2017",
              images_subdir: bool = True, crowd: bool = True, tiny: bool = True) -> dict:
    """``<root>/annotations/instances_<split><version>.json`` + images in ``<root>/images/<split><version>/``
    (or ``<root>/<split><version>/`` with ``images_subdir=False``).

    Each image gets ``objects_per_image`` usable objects (12x9 boxes); ``crowd`` adds one iscrowd
    annotation and ``tiny`` one 2x2 box per image (both must be skipped). Returns
    ``{'usable': [(annotation_id, file_name, bbox, category_name)], 'json': path, 'image_dir': path}``.
    """
    root = Path(root)
    folder = f"{split}{version}"
    image_dir = root / "images" / folder if images_subdir else root / folder
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 18, "name": "dog", "supercategory": "animal"}]
    images, annotations, usable = [], [], []
    ann_id = 100
    for i in range(n_images):
        image_id = 1000 + i
        file_name = f"{image_id:012d}.jpg"
        image = np.full((image_size[1], image_size[0], 3), frame_marker(i), dtype=np.uint8)
        for o in range(objects_per_image):
            bbox = [2.0 + 14 * o, 3.0 + 2 * i, 12.0, 9.0]
            x, y, w, h = (int(v) for v in bbox)
            image[y:y + h, x:x + w] = BOX_COLOUR
            category = categories[o % len(categories)]
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": category["id"], "bbox": bbox,
                                "area": bbox[2] * bbox[3], "iscrowd": 0, "segmentation": []})
            usable.append((ann_id, file_name, bbox, category["name"]))
            ann_id += 1
        if crowd:
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [1.0, 30.0, 20.0, 10.0],
                                "area": 200.0, "iscrowd": 1, "segmentation": {"counts": [], "size": [1, 1]}})
            ann_id += 1
        if tiny:
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": 18, "bbox": [40.0, 40.0, 2.0, 2.0],
                                "area": 4.0, "iscrowd": 0, "segmentation": []})
            ann_id += 1
        write_image(image_dir / file_name, image)
        images.append({"id": image_id, "file_name": file_name, "width": image_size[0], "height": image_size[1]})
    json_path = root / "annotations" / f"instances_{folder}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return {"usable": usable, "json": json_path, "image_dir": image_dir}


# --------------------------------------------------------------------------------------------- UAV123
DEFAULT_UAV_SEQUENCES = (("uav_bike1", "bike1", 1, 6), ("uav_car1_1", "car1", 1, 4), ("uav_car1_2", "car1", 4, 8))


def make_uav123(root: str | os.PathLike,
                sequences: Sequence[tuple[str, str, int, int]] = DEFAULT_UAV_SEQUENCES,
                image_size: tuple[int, int] = (32, 24),
                nan_frames: dict[str, Iterable[int]] | None = None) -> dict[str, SequenceFixture]:
    """``<root>/data_seq/UAV123/<folder>/%06d.jpg`` (1-based) and ``<root>/anno/UAV123/<name without uav_>.txt``.

    ``sequences``: ``(name, folder, start_frame, end_frame)`` rows as in ``uav123_sequences.csv``
    (1-based, inclusive; sub-sequences of one folder may share frames). Frame ``k`` of a folder has
    box ``default_boxes`` row ``k - 1``; ``nan_frames`` (0-based within the sequence) are written ``NaN``.
    """
    root = Path(root)
    last_frame: dict[str, int] = {}
    for _, folder, start, end in sequences:
        if start < 1 or end < start:
            raise ValueError(f"sequences: bad frame range {start}..{end} for folder {folder}")
        last_frame[folder] = max(last_frame.get(folder, 0), end)
    folder_boxes = {f: default_boxes(n, image_size, offset=k) for k, (f, n) in enumerate(last_frame.items())}
    for folder, boxes in folder_boxes.items():
        for k, box in enumerate(boxes):
            write_image(root / "data_seq" / "UAV123" / folder / f"{k + 1:06d}.jpg", draw_frame(box, k, image_size))
    written = {}
    for name, folder, start, end in sequences:
        boxes = folder_boxes[folder][start - 1:end].copy()
        for f in (nan_frames or {}).get(name, ()):
            boxes[f] = np.nan
        anno_path = write_boxes(root / "anno" / "UAV123" / f"{name.removeprefix('uav_')}.txt", boxes)
        frames = [root / "data_seq" / "UAV123" / folder / f"{k:06d}.jpg" for k in range(start, end + 1)]
        written[name] = SequenceFixture(name, anno_path.parent, boxes, np.isfinite(boxes).all(axis=1), frames,
                                        extra={"folder": folder, "start_frame": start, "end_frame": end})
    return written


def write_settings(path: str | os.PathLike, datasets: dict[str, str | os.PathLike] | None = None,
                   workspace: str | os.PathLike = "workspace") -> Path:
    """A ``local_settings.toml`` with the given dataset roots (use with env ``EBMTRACK_SETTINGS``)."""
    path = Path(path)
    lines = ["[paths]", f'workspace = "{Path(workspace).as_posix()}"', "", "[datasets]"]
    lines += [f'{k} = "{Path(v).as_posix() if v else ""}"' for k, v in (datasets or {}).items()]
    path.write_text("\n".join(lines) + "\n")
    return path
