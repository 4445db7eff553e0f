"""Synthetic training videos rendered on the fly (nothing on disk).

Sequence ``seq_id`` of ``SyntheticVideo(seed=s, split=p)`` is ``scenes.plan_sequence(s, p, seq_id, config)``:
the same scenes as the demo benchmark's ``p`` side when the number of frames and image size agree.
Every frame is rendered independently from its index (the motion is a function of time), so random
access costs the same as sequential access and gives identical frames. Frames go through a JPEG
round trip at ``jpeg_quality`` (as the on-disk benchmark; None skips it).
"""
from __future__ import annotations

from ltr.dataset.rendered_scenes import RenderedScenes, jpeg_round_trip
from ltr.synthetic.scenes import SceneConfig

__all__ = ["SyntheticVideo", "jpeg_round_trip"]


class SyntheticVideo(RenderedScenes):
    """Procedural videos from ``scenes`` (see the module docstring).

    ``num_sequences`` videos of ``num_frames`` frames at ``image_size`` ``(width, height)``; ``split``
    chooses the photograph pools ('train' or 'test', disjoint). ``cache_size``: sequences whose
    textures stay in memory (about 3 MB each at 480x360).
    """

    def __init__(self, num_sequences: int = 1000, num_frames: int = 100, image_size: tuple[int, int] = (480, 360),
                 seed: int = 0, split: str = "train", jpeg_quality: int | None = 90, cache_size: int = 8):
        super().__init__(f"SyntheticVideo-{split}", num_sequences, SceneConfig(tuple(image_size), int(num_frames)),
                         seed, split, jpeg_quality, still=False, cache_size=cache_size)
