"""Short generated sequences for the client tests (VOT toolkit, GOT-10k toolkit, create_tracker).

A textured target pasted on a darker textured background (``moving_patch_sequence``), written in the
``folder`` dataset layout: ``<root>/<name>/groundtruth.txt`` and ``<root>/<name>/img/00000001.<ext>``.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pytracking.benchmark_tracker import moving_patch_sequence

#: name -> (seed, amplitude of the motion in px): "easy" moves little, "wide" sweeps further
SEQUENCES = {"easy": (0, (12.0, 8.0)), "wide": (1, (36.0, 20.0))}


def _texture(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    small = rng.integers(0, 256, (max(2, h // cell), max(2, w // cell), 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def make_sequence(num_frames: int, seed: int, amplitude: tuple[float, float],
                  size: tuple[int, int] = (160, 120)) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames ``[H, W, 3]`` and the true boxes ``[N, 4]`` (x, y, w, h)."""
    rng = np.random.default_rng(seed)
    width, height = size
    background = (_texture(rng, height, width, 8) * 0.6).astype(np.uint8)
    target = _texture(rng, 64, 64, 6)
    return moving_patch_sequence(background, target, num_frames, (28, 22), (6, 4), amplitude)


def write_folder_dataset(root: Path, num_frames: int = 12, ext: str = "jpg",
                         names: tuple[str, ...] = ("easy", "wide")) -> dict[str, np.ndarray]:
    """Write the named sequences under ``root`` (folder layout); returns their true boxes by name."""
    truth = {}
    for name in names:
        seed, amplitude = SEQUENCES[name]
        frames, boxes = make_sequence(num_frames, seed, amplitude)
        img = root / name / "img"
        img.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(frames, start=1):
            params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == "jpg" else []
            assert cv2.imwrite(str(img / f"{index:08d}.{ext}"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        np.savetxt(root / name / "groundtruth.txt", boxes, fmt="%d", delimiter=",")
        truth[name] = boxes
    return truth
