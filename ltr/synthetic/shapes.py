"""Object shapes in normalised coordinates (ellipse, rounded rectangle, polygon) and their closed-form
tight boxes under rotation and scaling. Conventions: :mod:`ltr.synthetic.scenes`."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Shape", "random_shape", "rotation_scale"]


@dataclass(frozen=True, eq=False)
class Shape:
    """An object's mask in normalised coordinates ``[-0.5, 0.5]^2`` (its tight box is that square).

    ``kind``: 'ellipse' | 'rounded_rect' | 'polygon'; ``radius``: corner radius of the rounded
    square (normalised, <= 0.5); ``vertices``: ``[V, 2]`` polygon in order.
    """

    kind: str
    radius: float = 0.0
    vertices: np.ndarray | None = None

    def contains(self, q: np.ndarray) -> np.ndarray:
        """Bool ``[...]``: points ``q [..., 2]`` (normalised coordinates) inside the shape."""
        x, y = q[..., 0], q[..., 1]
        if self.kind == "ellipse":
            return (2 * x) ** 2 + (2 * y) ** 2 <= 1.0
        if self.kind == "rounded_rect":
            r = self.radius
            dx = np.maximum(np.abs(x) - (0.5 - r), 0.0)
            dy = np.maximum(np.abs(y) - (0.5 - r), 0.0)
            return (np.abs(x) <= 0.5) & (np.abs(y) <= 0.5) & (dx ** 2 + dy ** 2 <= r * r)
        if self.kind == "polygon":
            inside = np.zeros(x.shape, dtype=bool)
            v = self.vertices
            for k in range(len(v)):  # even-odd ray casting, vectorised over points
                x1, y1 = v[k]
                x2, y2 = v[(k + 1) % len(v)]
                crosses = (y1 > y) != (y2 > y)
                with np.errstate(divide="ignore", invalid="ignore"):
                    x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                inside ^= crosses & (x < x_at)
            return inside
        raise ValueError(f"Shape.kind: unknown {self.kind!r}")

    def box_offsets(self, lin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tight box of the mapped shape relative to its centre: ``(lo [N, 2], hi [N, 2])``.

        ``lin [N, 2, 2]`` are the linear maps ``L``; the box is ``[c + lo, c + hi]``.
        """
        if self.kind == "polygon":
            mapped = np.einsum("nij,vj->nvi", lin, self.vertices)
            return mapped.min(axis=1), mapped.max(axis=1)
        row_norm = np.sqrt(lin[:, :, 0] ** 2 + lin[:, :, 1] ** 2)  # [N, 2]
        if self.kind == "ellipse":
            half = 0.5 * row_norm
        elif self.kind == "rounded_rect":
            r = self.radius
            half = (np.abs(lin[:, :, 0]) + np.abs(lin[:, :, 1])) * (0.5 - r) + r * row_norm
        else:
            raise ValueError(f"Shape.kind: unknown {self.kind!r}")
        return -half, half

    def mask(self, width: int, height: int, supersample: int = 4) -> np.ndarray:
        """Anti-aliased coverage ``float32 [height, width]`` of the shape stretched over the array."""
        s = supersample
        if self.kind != "polygon":  # closed-form inside test: 2x supersampling is enough
            s = min(s, 2)
        if self.kind == "polygon":  # rasterised at s x resolution with sub-pixel vertices
            pts = (self.vertices + 0.5) * np.array([width * s, height * s]) - 0.5
            big = np.zeros((height * s, width * s), np.uint8)
            cv2.fillPoly(big, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
            inside = big.astype(np.float32) / 255.0
        else:
            xs = ((np.arange(width * s) + 0.5) / (width * s) - 0.5)[None, :, None]
            ys = ((np.arange(height * s) + 0.5) / (height * s) - 0.5)[:, None, None]
            grid = np.concatenate(np.broadcast_arrays(xs, ys), axis=-1)
            inside = self.contains(grid).astype(np.float32)
        return cv2.resize(inside, (width, height), interpolation=cv2.INTER_AREA)


def random_shape(rng: np.random.Generator, kinds: tuple[str, ...] = ("ellipse", "rounded_rect", "polygon")
                 ) -> Shape:
    """A random shape: inscribed ellipse, rounded square, or star-shaped polygon spanning the square."""
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "rounded_rect":
        return Shape("rounded_rect", radius=float(rng.uniform(0.08, 0.35)))
    if kind == "polygon":
        nv = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, nv))
        ang = np.linspace(0, 2 * np.pi, nv, endpoint=False) * 0.5 + ang * 0.5  # spread the vertices
        ang = np.sort(ang)
        rad = rng.uniform(0.65, 1.0, nv)
        v = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
        v = (v - (v.min(0) + v.max(0)) / 2) / (v.max(0) - v.min(0))  # tight box = unit square
        return Shape("polygon", vertices=v)
    return Shape("ellipse")


def rotation_scale(angle: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``L = R(angle) diag(w, h)``: ``[N, 2, 2]`` from angles ``[N]`` (radians) and sizes ``[N, 2]``."""
    c, s = np.cos(angle), np.sin(angle)
    lin = np.empty((len(angle), 2, 2))
    lin[:, 0, 0] = c * size[:, 0]
    lin[:, 0, 1] = -s * size[:, 1]
    lin[:, 1, 0] = s * size[:, 0]
    lin[:, 1, 1] = c * size[:, 1]
    return lin
