"""OpenCV drawing for the live views: boxes, labels, fps overlay, score-map colouring, debug views.

All drawing of the framework lives here (trackers never draw). Conventions: images are RGB
``uint8`` arrays ``[H, W, 3]``; every function returns a new array and leaves its input
unchanged; colours are RGB triples; boxes are ``[x, y, w, h]`` floats (top-left origin) and are
drawn with the corners rounded to the nearest pixel, ``(x, y)`` to ``(x + w, y + h)``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

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


# --- debug views: a tracker's ``output["debug"]`` drawn as images (OpenCV windows, tests) ---------
#
# Conventions of the debug dict (``pytracking.tracker.base.basetracker``; ATOM fills it with
# ``params.debug > 0``): a 2D numeric array (after squeezing; torch tensors are accepted) is a score
# map, row 0 at the top like the image; a mapping with ``"final_boxes"`` (and optionally
# ``"initial_boxes"``, ``"scores"``) is a box refinement with boxes ``[x, y, w, h]`` in frame pixels;
# an ``[N, 4]`` array under a key naming boxes or candidates (``refined_candidates``) is a set of
# boxes in frame pixels, scored by the matching ``*_scores`` entry; numeric scalars (``peak_score``)
# are printed under the score map. Everything else (curves, timing dicts, None) is not drawn here.

def as_numpy(value: object) -> np.ndarray:
    """numpy array of an array-like; torch tensors are detached and copied to the CPU (duck-typed,
    so this module does not import torch)."""
    if hasattr(value, "detach"):
        value = value.detach().to("cpu").numpy()  # type: ignore[attr-defined]
    return np.asarray(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, bool, int, float, np.generic)) or (
        hasattr(value, "shape") and getattr(value, "ndim", None) == 0)


def debug_scores_key(key: str) -> str:
    """The debug key holding the scores of box entry ``key`` (``refined_candidates`` -> ``refined_scores``)."""
    for word in ("candidates", "boxes", "box"):
        if word in key:
            return key.replace(word, "scores")
    return f"{key}_scores"


def debug_panel_kind(value: object, key: str = "") -> str | None:
    """How debug entry ``key`` is shown (by the visdom page and by ``debug_views``): 'refinement',
    'boxes', 'heatmap', 'image', 'curve', 'scalar', 'scalars' (a dict of scalars) or None (not shown)."""
    if isinstance(value, Mapping):
        if "final_boxes" in value:
            return "refinement"
        return "scalars" if value and all(_is_scalar(v) for v in value.values()) else None
    if _is_scalar(value):
        return "scalar"
    if isinstance(value, (list, tuple)) or hasattr(value, "shape"):
        try:
            array = as_numpy(value)
        except (TypeError, ValueError):
            return None
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            return None
        if array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8:
            return "image"
        if array.ndim == 2 and array.shape[1] == 4 and ("box" in key or "candidates" in key):
            return "boxes"
        squeezed = np.squeeze(array)
        if squeezed.ndim == 2:
            return "heatmap"
        if squeezed.ndim <= 1 and array.size >= 1:
            return "curve"
    return None


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    return hasattr(value, "shape") and getattr(value, "ndim", None) == 0 and hasattr(value, "dtype") \
        and np.issubdtype(as_numpy(value).dtype, np.number)


def _format_number(value: object) -> str:
    number = float(as_numpy(value))
    return f"{number:.4g}" if not float(number).is_integer() else f"{int(number)}"


def score_map_view(score_map: object, size: int = 240, lines: Sequence[str] = (),
                   value_range: tuple[float, float] | None = None) -> np.ndarray:
    """The score map as a JET heat map (blue = lowest, red = highest, see ``colourise_score_map``)
    scaled with nearest neighbour so its longer side is ``size`` pixels, the maximum cell marked with
    a white cross, and on a black strip below: ``max <value> at (row, col)`` then ``lines``.

    ``score_map``: 2D after squeezing (numpy array, list or torch tensor), row 0 at the top.
    Returns RGB uint8 ``[H, W, 3]``; the heat map is its top ``H - 16 * (len(lines) + 1) - 6`` rows,
    ``W = size`` when the map is at least as wide as tall.
    """
    scores = np.squeeze(as_numpy(score_map).astype(np.float64))
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"score_map must be a non-empty 2D array, got shape {np.shape(as_numpy(score_map))}")
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    rows, cols = scores.shape
    cell = size / max(rows, cols)
    width, height = max(int(round(cols * cell)), 1), max(int(round(rows * cell)), 1)
    heat = colourise_score_map(scores, size=(width, height), value_range=value_range)
    finite = np.isfinite(scores)
    if finite.any():
        peak_row, peak_col = np.unravel_index(np.argmax(np.where(finite, scores, -np.inf)), scores.shape)
        centre = (int((peak_col + 0.5) * width / cols), int((peak_row + 0.5) * height / rows))
        cv2.drawMarker(heat, centre, (255, 255, 255), cv2.MARKER_CROSS, max(int(cell), 9), 2)
        lines = [f"max {scores[peak_row, peak_col]:.3g} at ({peak_row}, {peak_col})", *lines]
    else:
        lines = ["no finite score", *lines]
    line_height = 16
    strip = np.zeros((line_height * len(lines) + 6, width, 3), dtype=np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(strip, line, (4, line_height * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (230, 230, 230), 1,
                    cv2.LINE_AA)
    return np.concatenate([heat, strip], axis=0)


def refinement_view(frame: np.ndarray, refinement: Mapping[str, object], size: int = 320,
                    margin: float = 0.5) -> np.ndarray:
    """The box refinement drawn on a zoomed crop of ``frame`` (the colours of ``draw_refinement``:
    starting boxes thin grey, final boxes cyan, the best-scoring final box yellow with its score).

    ``refinement``: ``"final_boxes"`` ``[N, 4]`` and optionally ``"initial_boxes"`` ``[M, 4]`` (None =
    none) and ``"scores"`` ``[N]``, all boxes ``[x, y, w, h]`` in ``frame`` pixels. Returns RGB uint8
    of a fixed shape ``[round(size * 3 / 4), size, 3]`` (a window showing it keeps its size). The
    crop is the bounding rectangle of all finite boxes grown by ``margin`` times its size on each
    side, then widened or heightened about its centre to the 4:3 aspect, clipped to the frame; it
    is scaled to fit and centred (black bars where clipping changed the aspect); the boxes are
    scaled with it before drawing, so lines stay one or two pixels wide. Without any finite box the
    whole frame is used.
    """
    _check_rgb(frame, "frame")
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")

    def boxes_of(key: str) -> np.ndarray:
        value = refinement.get(key)
        if value is None:
            return np.zeros((0, 4))
        array = as_numpy(value).astype(np.float64)
        return array.reshape(-1, 4) if array.size else np.zeros((0, 4))

    initial, final = boxes_of("initial_boxes"), boxes_of("final_boxes")
    scores = refinement.get("scores")
    score_values = None if scores is None else as_numpy(scores).astype(np.float64).reshape(-1)
    if score_values is not None and score_values.size != len(final):
        score_values = None  # not one score per final box: draw the boxes without scores
    out_w, out_h = int(size), int(round(size * 3 / 4))
    frame_h, frame_w = frame.shape[:2]
    every = np.concatenate([initial, final], axis=0)
    every = every[np.all(np.isfinite(every), axis=1)]
    if len(every):
        x1, y1 = every[:, 0].min(), every[:, 1].min()
        x2, y2 = (every[:, 0] + every[:, 2]).max(), (every[:, 1] + every[:, 3]).max()
        width, height = (1.0 + 2.0 * margin) * max(x2 - x1, 1.0), (1.0 + 2.0 * margin) * max(y2 - y1, 1.0)
        width, height = max(width, height * out_w / out_h), max(height, width * out_h / out_w)
        centre_x, centre_y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        cx1 = int(np.clip(np.floor(centre_x - width / 2.0), 0, frame_w - 1))
        cy1 = int(np.clip(np.floor(centre_y - height / 2.0), 0, frame_h - 1))
        cx2 = int(np.clip(np.ceil(centre_x + width / 2.0), cx1 + 1, frame_w))
        cy2 = int(np.clip(np.ceil(centre_y + height / 2.0), cy1 + 1, frame_h))
    else:
        cx1, cy1, cx2, cy2 = 0, 0, frame_w, frame_h
    scale = min(out_w / (cx2 - cx1), out_h / (cy2 - cy1))
    fit_w = min(max(int(round((cx2 - cx1) * scale)), 1), out_w)
    fit_h = min(max(int(round((cy2 - cy1) * scale)), 1), out_h)
    left, top = (out_w - fit_w) // 2, (out_h - fit_h) // 2
    canvas = np.zeros((out_h, out_w, 3), dtype=np.uint8)
    canvas[top:top + fit_h, left:left + fit_w] = cv2.resize(frame[cy1:cy2, cx1:cx2], (fit_w, fit_h),
                                                            interpolation=cv2.INTER_LINEAR)

    def to_canvas(boxes: np.ndarray) -> np.ndarray:
        kept = boxes[np.all(np.isfinite(boxes), axis=1)]
        return (kept - [cx1, cy1, 0.0, 0.0]) * scale + [left, top, 0.0, 0.0]

    final_ok = np.all(np.isfinite(final), axis=1)
    drawn = draw_refinement(canvas, to_canvas(initial), to_canvas(final),
                            None if score_values is None else score_values[final_ok])
    caption = f"{len(initial)} start (grey) -> {len(final)} final (cyan)"
    if score_values is not None and score_values.size:
        caption += f", best {float(np.nanmax(score_values)):.3g}"
    return draw_text(drawn, caption, (4, out_h - 6), (255, 255, 255), scale=0.4)


def debug_views(frame: np.ndarray, debug: Mapping[str, object] | None, size: int = 240) -> dict[str, np.ndarray]:
    """The key debug panels of one tracker output as images, by debug key, in the dict's order.

    ``frame``: the RGB frame the output belongs to (boxes are in its pixels); ``debug``: the
    tracker's ``output["debug"]`` (None or empty -> ``{}``). Score maps -> ``score_map_view`` (the
    numeric scalars of the dict, e.g. ``peak_score``, listed under the first map); refinements and
    ``[N, 4]`` box entries -> ``refinement_view`` (``size * 4 / 3`` pixels wide, ``size`` high).
    Entries that cannot be read as such are skipped, so a tracker's extra keys never break the
    display.
    """
    _check_rgb(frame, "frame")
    if not debug:
        return {}
    lines = [f"{key} {_format_number(value)}" for key, value in debug.items() if _is_number(value)]
    views: dict[str, np.ndarray] = {}
    refinement_size = int(round(size * 4 / 3))
    for key, value in debug.items():
        kind = debug_panel_kind(value, key)
        try:
            if kind == "refinement":
                views[key] = refinement_view(frame, value, size=refinement_size)  # type: ignore[arg-type]
            elif kind in ("boxes", "heatmap") and as_numpy(value).size:
                if kind == "boxes":
                    scores = debug.get(debug_scores_key(key))
                    views[key] = refinement_view(frame, {"final_boxes": value, "scores": scores}, size=refinement_size)
                else:
                    views[key] = score_map_view(value, size=size, lines=lines)
                    lines = []
        except (TypeError, ValueError):
            continue  # malformed entry (ragged list, boxes not in fours, ...): not drawn
    return views


def stale_view(view: np.ndarray, text: str = "not updated this frame") -> np.ndarray:
    """``view`` dimmed to half brightness with ``text`` at its top-left: a debug panel whose entry
    the tracker did not produce this frame (e.g. no refinement when the target is not found)."""
    _check_rgb(view, "view")
    dimmed = (view // 2).astype(np.uint8)
    return draw_text(dimmed, text, (4, 16), (255, 255, 255), scale=0.4)
