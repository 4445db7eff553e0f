"""The refinement gate: when the tracker takes the estimator's refined box, and when it keeps the classifier's.

The EBM's score ``f(x, y)`` is an unnormalised log-density, comparable within one frame, so a refinement can be
checked against the box it started from. A refined box is accepted only if all of these hold (start = the box the
refinement started from: the classifier's position with the previous size):

* **score**: ``f(refined) - f(start) >= min_score_gain`` (the mean of the top-k candidates can score lower than
  the start, e.g. when the candidates split between two modes);
* **centre**: ``|c_refined - c_start| <= max_centre_shift * sqrt(w h)`` (the classifier's peak region; ``w, h``
  the start's size): the classifier keeps the target, the estimator only sharpens the box;
* **scale**: ``max(|log(w' / w)|, |log(h' / h)|) <= log(max_scale_step)`` per frame;
* **aspect**: ``|log((w' / h') / (w / h))| <= log(max_aspect_step)`` per frame.

Otherwise the tracker keeps the classifier's position and the previous size: one doubtful refinement never moves
the scale state. The tracker does not refine while the classifier reports the target lost (``not_found``) or, with
the gate on, while the classifier's peak score is below ``min_peak`` (default 0: no such limit), and
after such frames it takes the estimator's *size* only once ``reacquire_frames`` refinements in a row have passed
the gate (positions pass at once). A regression head has no score: only the geometric checks apply to it.
The numbers are parameter-file values (``pytracking.tracker.atom.settings.GateSettings``). The gate is off in
``default`` and on in the parameter file ``gated``: on the demo's train split no setting of it beat the ungated
tracker (see ``GateSettings``).
"""
from __future__ import annotations

import math

import numpy as np

from pytracking.tracker.atom.settings import GateSettings, RefinementSettings

__all__ = ["GateSettings", "deadbanded", "evidenced_size", "gate_reason", "sharp_sides"]


def gate_reason(start_xywh: np.ndarray, refined_xywh: np.ndarray, start_score: float | None,
                refined_score: float | None, settings: GateSettings) -> str | None:
    """None if the refined box passes the gate, else the first failed check: ``'score'``, ``'centre'``,
    ``'scale'``, ``'aspect'`` (or ``'invalid'`` for a non-finite or empty box). Boxes are ``[x, y, w, h]`` in
    any one frame of reference (image or patch pixels: every check is relative). Scores may be None (no check)."""
    if not settings.enabled:
        return None
    start = np.asarray(start_xywh, dtype=np.float64).reshape(4)
    refined = np.asarray(refined_xywh, dtype=np.float64).reshape(4)
    if not (np.all(np.isfinite(refined)) and np.all(refined[2:] > 0)):
        return "invalid"
    if start_score is not None and refined_score is not None:
        if not (math.isfinite(refined_score) and refined_score - start_score >= settings.min_score_gain):
            return "score"
    side = math.sqrt(start[2] * start[3])
    shift = np.linalg.norm((refined[:2] + refined[2:] / 2) - (start[:2] + start[2:] / 2))
    if shift > settings.max_centre_shift * side:
        return "centre"
    log_change = np.log(refined[2:] / start[2:])            # (log w'/w, log h'/h)
    if np.abs(log_change).max() > math.log(settings.max_scale_step) + 1e-12:
        return "scale"
    if abs(log_change[0] - log_change[1]) > math.log(settings.max_aspect_step) + 1e-12:
        return "aspect"
    return None


def deadbanded(centre: np.ndarray, size: np.ndarray, refined_centre: np.ndarray, refined_size: np.ndarray,
               settings: RefinementSettings) -> tuple[np.ndarray, np.ndarray]:
    """The accepted refinement's centre and size after the dead-bands (``centre``/``size``: the classifier's
    position and the tracker's previous size; all in one frame of reference). The size stays ``size`` while
    ``max(|log(w'/w)|, |log(h'/h)|) < size_deadband``; the centre stays ``centre`` while
    ``|c' - c| < centre_deadband * sqrt(w h)``. Dead-bands of 0 take the refined values."""
    size = np.asarray(size, dtype=np.float64)
    refined_size = np.asarray(refined_size, dtype=np.float64)
    new_size = refined_size
    if np.abs(np.log(refined_size / size)).max() < settings.size_deadband:
        new_size = size.copy()
    new_centre = np.asarray(refined_centre, dtype=np.float64)
    if np.linalg.norm(new_centre - centre) < settings.centre_deadband * math.sqrt(float(np.prod(size))):
        new_centre = np.asarray(centre, dtype=np.float64).copy()
    return new_centre, new_size


def sharp_sides(size: np.ndarray, refined_size: np.ndarray, sharpness: np.ndarray | None,
                min_sharpness: float) -> np.ndarray:
    """``refined_size`` ``[2]`` (w, h) with each side whose sharpness (``sharpness`` ``[2]``,
    :func:`pytracking.tracker.atom.box_refinement.size_sharpness`) is below ``min_sharpness`` taken from ``size``
    (the tracker's previous size): the estimator's density is flat along that side, so it does not know it.
    ``min_sharpness`` 0 or no sharpness (a regression head): ``refined_size``."""
    refined_size = np.asarray(refined_size, dtype=np.float64)
    if min_sharpness <= 0 or sharpness is None:
        return refined_size
    flat = ~(np.asarray(sharpness, dtype=np.float64) >= min_sharpness)    # NaN counts as flat
    return np.where(flat, np.asarray(size, dtype=np.float64), refined_size)


def evidenced_size(size: np.ndarray, refined_size: np.ndarray, score: float | None, held_score: float | None,
                   min_gain: float) -> np.ndarray:
    """``refined_size`` ``[2]`` if the refined box's ``score`` exceeds ``held_score`` (the refined centre with the
    previous ``size``, :func:`pytracking.tracker.atom.box_refinement.held_size_box`) by at least ``min_gain``, else
    ``size``: for an EBM a log-likelihood ratio of the new size against the old one at the same centre. ``min_gain``
    0 or no scores (a regression head, or the held box not measured: NaN): ``refined_size``."""
    refined_size = np.asarray(refined_size, dtype=np.float64)
    if min_gain <= 0 or score is None or held_score is None or not math.isfinite(held_score):
        return refined_size
    if math.isfinite(score) and score - held_score >= min_gain:
        return refined_size
    return np.asarray(size, dtype=np.float64).copy()
