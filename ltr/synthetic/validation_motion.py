"""The validation benchmark's motion model (different from the demo's sums of sinusoids).

Position: a damped random-acceleration walk (a discretised Ornstein-Uhlenbeck process on the
velocity) with a speed cap that may grow over the sequence, reflected at the image border:

    v_{t+1} = (1 - damping) v_t + accel_sigma * n_t + pull * (centre - x_t) / image_size,  n_t ~ N(0, I)
    |v_{t+1}| <= max_speed(t),  x_{t+1} = x_t + v_{t+1}   (reflected into [lo, hi], velocity sign flipped)

Scale: perspective approach or retreat, ``s(t) = 1 / (1 - (1 - 1/g) p(t))``, ``p`` a smoothstep
from 0 to 1 between two frames: the target grows by ``g`` (``g < 1``: shrinks), fastest at the end
(as an object coming towards the camera at constant speed). Rotation: a random walk of the angular
velocity, clipped to ``+-max_angle``. Excursions (out of view): a raised-cosine window that moves
the centre to a point outside the image and back.
"""
from __future__ import annotations

import numpy as np


def smoothstep(num_frames: int, start: int, stop: int) -> np.ndarray:
    """0 before ``start``, 1 after ``stop``, ``3u^2 - 2u^3`` in between (``u`` linear in t)."""
    t = np.arange(num_frames, dtype=np.float64)
    u = np.clip((t - start) / max(stop - start, 1), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def speed_profile(num_frames: int, start_speed: float, end_speed: float) -> np.ndarray:
    """Speed cap per frame, linear from ``start_speed`` to ``end_speed`` (px/frame)."""
    return np.linspace(start_speed, end_speed, num_frames)


def random_walk_path(rng: np.random.Generator, num_frames: int, start: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray, max_speed: np.ndarray, accel_sigma: float, damping: float = 0.05,
                     pull: float = 2.0) -> np.ndarray:
    """Centres ``[N, 2]`` of the damped random-acceleration walk (module docstring), kept in ``[lo, hi]``.

    ``lo``, ``hi``: ``[N, 2]`` or ``[2]`` bounds per frame; ``max_speed``: ``[N]`` px/frame.
    Always draws ``2 N + 2`` normal numbers.
    """
    lo = np.broadcast_to(np.asarray(lo, np.float64), (num_frames, 2))
    hi = np.broadcast_to(np.asarray(hi, np.float64), (num_frames, 2))
    noise = rng.standard_normal((num_frames, 2))
    angle = rng.uniform(0, 2 * np.pi)
    x = np.empty((num_frames, 2))
    x[0] = np.clip(start, lo[0], hi[0])
    v = 0.5 * max_speed[0] * np.array([np.cos(angle), np.sin(angle)])
    for t in range(1, num_frames):
        mid = (lo[t] + hi[t]) / 2
        span = np.maximum(hi[t] - lo[t], 1.0)
        v = (1 - damping) * v + accel_sigma * noise[t] + pull * (mid - x[t - 1]) / span
        speed = float(np.hypot(*v))
        if speed > max_speed[t]:
            v *= max_speed[t] / speed
        p = x[t - 1] + v
        for d in range(2):
            if p[d] < lo[t, d]:
                p[d], v[d] = min(2 * lo[t, d] - p[d], hi[t, d]), abs(v[d])
            elif p[d] > hi[t, d]:
                p[d], v[d] = max(2 * hi[t, d] - p[d], lo[t, d]), -abs(v[d])
        x[t] = p
    return x


def approach_scale(num_frames: int, growth: float, start: int, stop: int) -> np.ndarray:
    """Scale factor per frame, 1 -> ``growth`` by perspective (module docstring); ``growth > 0``."""
    if growth <= 0:
        raise ValueError(f"growth: expected > 0, got {growth}")
    p = smoothstep(num_frames, start, stop)
    return 1.0 / (1.0 - (1.0 - 1.0 / growth) * p)


def rotation_walk(rng: np.random.Generator, num_frames: int, max_angle_deg: float, max_rate_deg: float
                  ) -> np.ndarray:
    """Angles (radians) ``[N]``: angular velocity a clipped random walk, the angle clipped to +-max.

    Always draws ``N`` normal numbers.
    """
    steps = rng.standard_normal(num_frames) * 0.35 * max_rate_deg
    angle = np.zeros(num_frames)
    rate = 0.0
    for t in range(1, num_frames):
        rate = float(np.clip(rate + steps[t], -max_rate_deg, max_rate_deg))
        a = angle[t - 1] + rate
        if abs(a) > max_angle_deg:
            a, rate = float(np.sign(a)) * max_angle_deg, -rate
        angle[t] = a
    return np.deg2rad(angle)


def raised_cosine_window(num_frames: int, start: int, stop: int, ramp: int) -> np.ndarray:
    """0 outside ``[start - ramp, stop + ramp]``, 1 on ``[start, stop]``, raised-cosine ramps between."""
    t = np.arange(num_frames, dtype=np.float64)
    up = np.clip((t - (start - ramp)) / max(ramp, 1), 0, 1)
    down = np.clip(((stop + ramp) - t) / max(ramp, 1), 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
