"""Reusable layers: precise RoI pooling, conv/linear building blocks."""
from ltr.models.layers.prroi_pool import PrRoIPool2D, prroi_pool2d, prroi_pool2d_batched

__all__ = ["PrRoIPool2D", "prroi_pool2d", "prroi_pool2d_batched"]
