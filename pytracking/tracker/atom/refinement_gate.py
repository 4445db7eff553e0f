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
the scale state. The tracker does not refine while the classifier reports the target lost (``not_found``), and
after such frames it takes the estimator's *size* only once ``reacquire_frames`` refinements in a row have passed
the gate (positions pass at once). A regression head has no score: only the geometric checks apply to it.
The numbers are parameter-file values (chosen on train-side data, see the README).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GateSettings", "gate_reason"]


@dataclass(frozen=True)
class GateSettings:
    """The gate's numbers (see the module docstring); ``enabled=False`` accepts every refinement."""

    enabled: bool = True
    min_score_gain: float = 0.0
    max_centre_shift: float = 0.5
    max_scale_step: float = 1.25
    max_aspect_step: float = 1.25
    reacquire_frames: int = 3

    def __post_init__(self) -> None:
        if self.max_centre_shift <= 0 or self.max_scale_step < 1 or self.max_aspect_step < 1:
            raise ValueError("refinement gate: max_centre_shift must be > 0, max_scale_step and max_aspect_step >= 1; "
                             f"got {self.max_centre_shift}, {self.max_scale_step}, {self.max_aspect_step}")
        if self.reacquire_frames < 0:
            raise ValueError(f"refinement gate: reacquire_frames must be >= 0, got {self.reacquire_frames}")


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
