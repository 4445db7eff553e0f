"""A constant-velocity motion model of the search centre.

The search patch of frame ``t`` is centred at ``p_{t-1} + v_{t-1}`` instead of the previous position ``p_{t-1}``
(ATOM centres it at ``p_{t-1}``): a target moving a large fraction of the search region per frame stays inside it.
``v`` is an exponential average of the tracked position's change over frames with the target found,

    v_t = (1 - w) v_{t-1} + w (p_t - p_{t-1}),   then shortened to at most ``max_length``,

and it is reset to zero on a frame without a found target (the position then carries no motion).
``w = 0`` keeps ``v = 0``: the model is off.
"""
from __future__ import annotations

import numpy as np

__all__ = ["updated_velocity"]


def updated_velocity(velocity: np.ndarray, moved: np.ndarray, weight: float, max_length: float) -> np.ndarray:
    """``(1 - weight) velocity + weight moved`` (image px per frame, ``[2]``), scaled down to length ``max_length``
    when longer. ``weight`` in [0, 1]; 0 returns zeros only if ``velocity`` is zero (the model off never moves)."""
    v = (1.0 - weight) * np.asarray(velocity, dtype=np.float64) + weight * np.asarray(moved, dtype=np.float64)
    length = float(np.hypot(v[0], v[1]))
    if length > max_length:
        v = v * (max_length / length) if length > 0 else np.zeros(2)
    return v
