"""Still-image pairs for estimator training (the COCO role of the paper), rendered on the fly.

Each item is a one-frame "sequence" (``is_video_sequence() -> False``): a background from a
photograph or a procedural texture with a target pasted on it, possibly among similar distractors
and partly covered by an occluder. The sampler draws the same frame twice and the processing jitters
each copy, so the estimator learns from pairs with pure geometric change.
Item ``i`` is ``scenes.plan_sequence(seed, split, i, SceneConfig(image_size, 1), still=True)``.
"""
from __future__ import annotations

from ltr.dataset.rendered_scenes import RenderedScenes
from ltr.synthetic.scenes import SceneConfig


class StillImagePairs(RenderedScenes):
    """``num_items`` still images at ``image_size`` ``(width, height)`` from ``split``'s photographs."""

    def __init__(self, num_items: int = 10000, seed: int = 0, image_size: tuple[int, int] = (480, 360),
                 split: str = "train", jpeg_quality: int | None = 90, cache_size: int = 4):
        super().__init__(f"StillImagePairs-{split}", num_items, SceneConfig(tuple(image_size), 1), seed, split,
                         jpeg_quality, still=True, cache_size=cache_size)

    def is_video_sequence(self) -> bool:
        return False
