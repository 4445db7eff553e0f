"""OpenCV drawing for the live views: boxes, labels, fps overlay, score-map colouring.

All drawing of the framework lives here (trackers never draw). Conventions: images are RGB
``uint8`` arrays ``[H, W, 3]``; every function returns a new array and leaves its input
unchanged; colours are RGB triples; boxes are ``[x, y, w, h]`` floats (top-left origin) and are
drawn with the corners rounded to the nearest pixel, ``(x, y)`` to ``(x + w, y + h)``.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

Colour = tuple[int, int, int]

#: colour of a box per tracker flag (see ``pytracking.tracker.base.basetracker.FLAGS``)
FLAG_COLOURS: dict[str, Colour] = {
    "normal": (0, 220, 0),
    "uncertain": (255, 200, 0),
    "hard_negative": (255, 120, 0),
    "not_found": (255, 0, 0),
}

#: distinct colours for several targets (RGB)
TARGET_PALETTE: tuple[Colour, ...] = (
    (0, 220, 0), (0, 160, 255), (255, 60, 200), (255, 200, 0),
    (0, 230, 230), (170, 90, 255), (255, 110, 60), (140, 255, 120),
)


def target_colour(index: int) -> Colour:
    """Colour of target number ``index`` (cycles through ``TARGET_PALETTE``)."""
    return TARGET_PALETTE[index % len(TARGET_PALETTE)]


def _check_rgb(image: np.ndarray, name: str = "image") -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{name} must be an RGB uint8 array [H, W, 3], got shape "
                         f"{getattr(image, 'shape', None)} dtype {getattr(image, 'dtype', type(image).__name__)}")


def box_corners(box: Sequence[float]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pixel corners ``((x1, y1), (x2, y2))`` of ``[x, y, w, h]``, rounded; ValueError if not 4 finite numbers."""
    values = np.asarray(box, dtype=np.float64).reshape(-1)
    if values.size != 4 or not np.all(np.isfinite(values)):
        raise ValueError(f"box must be 4 finite numbers [x, y, w, h], got {box!r}")
    x, y, w, h = values
    return (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))


def draw_text(image: np.ndarray, text: str, origin: tuple[int, int], colour: Colour = (255, 255, 255),
              scale: float = 0.5, thickness: int = 1) -> np.ndarray:
    """Write ``text`` with its baseline-left corner at ``origin``, on a dark box for contrast."""
    _check_rgb(image)
    out = image.copy()
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    x, y = origin
    cv2.rectangle(out, (x - 2, y - th - 3), (x + tw + 2, y + base), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (x, y), font, scale, colour, thickness, cv2.LINE_AA)
    return out


def draw_box(image: np.ndarray, box: Sequence[float], colour: Colour = (0, 220, 0), thickness: int = 2,
             label: str | None = None) -> np.ndarray:
    """Draw the rectangle of ``box`` ``[x, y, w, h]`` (and ``label`` above it) on a copy of ``image``."""
    _check_rgb(image)
    p1, p2 = box_corners(box)
    out = image.copy()
    cv2.rectangle(out, p1, p2, colour, thickness, cv2.LINE_8)
    if label:
        out = draw_text(out, label, (p1[0], max(p1[1] - 4, 12)), colour)
    return out


def draw_fps(image: np.ndarray, fps: float, origin: tuple[int, int] = (8, 20)) -> np.ndarray:
    """Overlay ``"<fps> fps"`` at the top-left corner."""
    if not np.isfinite(fps) or fps < 0:
        raise ValueError(f"fps must be a finite number >= 0, got {fps!r}")
    return draw_text(image, f"{fps:.1f} fps", origin, (255, 255, 0))


def draw_tracking_frame(image: np.ndarray, boxes: Sequence[Sequence[float] | None],
                        flags: Sequence[str] | None = None, fps: float | None = None,
                        labels: Sequence[str] | None = None, thickness: int = 2) -> np.ndarray:
    """Frame with one box per target: target ``i`` in ``target_colour(i)``, or in the flag's colour
    (``FLAG_COLOURS``) when ``flags[i]`` is not "normal"; a ``None`` box (target lost) is skipped.
    Adds the flag to the label when it is not "normal", and the fps overlay when ``fps`` is given."""
    _check_rgb(image)
    if flags is not None and len(flags) != len(boxes):
        raise ValueError(f"flags must have one entry per box: {len(flags)} flags for {len(boxes)} boxes")
    if labels is not None and len(labels) != len(boxes):
        raise ValueError(f"labels must have one entry per box: {len(labels)} labels for {len(boxes)} boxes")
    out = image.copy()
    for i, box in enumerate(boxes):
        if box is None:
            continue
        flag = flags[i] if flags is not None else "normal"
        colour = target_colour(i) if flag == "normal" else FLAG_COLOURS.get(flag, (255, 255, 255))
        text = labels[i] if labels is not None else None
        if flag != "normal":
            text = f"{text} {flag}" if text else flag
        out = draw_box(out, box, colour, thickness, text)
    if fps is not None:
        out = draw_fps(out, fps)
    return out


def colourise_score_map(score_map: np.ndarray, size: tuple[int, int] | None = None,
                        value_range: tuple[float, float] | None = None) -> np.ndarray:
    """RGB image of a 2D score map with the JET colour map.

    Values are mapped linearly, ``v -> (v - lo) / (hi - lo)``, with ``(lo, hi)`` = ``value_range``
    or the map's min and max (a constant map comes out all blue); non-finite values count as ``lo``.
    ``size`` = ``(width, height)`` resizes the result (nearest neighbour, so cells stay visible).
    """
    scores = np.asarray(score_map, dtype=np.float64)
    scores = np.squeeze(scores)
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"score_map must be a non-empty 2D array, got shape {np.shape(score_map)}")
    finite = np.isfinite(scores)
    if value_range is not None:
        lo, hi = float(value_range[0]), float(value_range[1])
    elif finite.any():
        lo, hi = float(scores[finite].min()), float(scores[finite].max())
    else:
        lo, hi = 0.0, 1.0
    scaled = np.where(finite, (scores - lo) / (hi - lo) if hi > lo else 0.0, 0.0)
    grey = np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    if size is not None:
        width, height = int(size[0]), int(size[1])
        if width < 1 or height < 1:
            raise ValueError(f"size must be (width, height) >= 1, got {size!r}")
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_NEAREST)
    return rgb


def overlay_score_map(image: np.ndarray, score_map: np.ndarray, region: Sequence[float],
                      alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised score map into ``image`` over ``region`` ``[x, y, w, h]`` (the image area
    the map covers, e.g. the search region): ``out = (1 - alpha) * image + alpha * colour``, clipped
    to the image."""
    _check_rgb(image)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    (x1, y1), (x2, y2) = box_corners(region)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"region must have w, h > 0, got {region!r}")
    colour = colourise_score_map(score_map, size=(x2 - x1, y2 - y1))
    out = image.copy()
    h, w = image.shape[:2]
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if cx2 <= cx1 or cy2 <= cy1:
        return out
    patch = colour[cy1 - y1:cy2 - y1, cx1 - x1:cx2 - x1].astype(np.float64)
    base = out[cy1:cy2, cx1:cx2].astype(np.float64)
    out[cy1:cy2, cx1:cx2] = np.clip(np.round((1.0 - alpha) * base + alpha * patch), 0, 255).astype(np.uint8)
    return out


def draw_refinement(image: np.ndarray, initial_boxes: Sequence[Sequence[float]],
                    final_boxes: Sequence[Sequence[float]], scores: Sequence[float] | None = None,
                    top_k: int = 5) -> np.ndarray:
    """Box refinement: starting boxes thin grey, final boxes thin cyan, the ``top_k`` highest-scoring
    final boxes thicker and labelled with their score, the best in yellow."""
    _check_rgb(image)
    initial = np.asarray(initial_boxes, dtype=np.float64).reshape(-1, 4) if len(initial_boxes) else np.zeros((0, 4))
    final = np.asarray(final_boxes, dtype=np.float64).reshape(-1, 4) if len(final_boxes) else np.zeros((0, 4))
    out = image.copy()
    for box in initial:
        out = draw_box(out, box, (170, 170, 170), 1)
    for box in final:
        out = draw_box(out, box, (0, 200, 255), 1)
    if scores is not None and len(final):
        score_values = np.asarray(scores, dtype=np.float64).reshape(-1)
        if score_values.size != len(final):
            raise ValueError(f"scores must have one value per final box: {score_values.size} for {len(final)}")
        order = np.argsort(-score_values)[:max(top_k, 0)]
        for rank, idx in reversed(list(enumerate(order))):
            colour = (255, 255, 0) if rank == 0 else (0, 200, 255)
            out = draw_box(out, final[idx], colour, 2, f"{score_values[idx]:.2f}")
    return out
