"""Constants of the procedural scenes (photograph pools, challenges, visibility thresholds) and
:class:`SceneConfig`. Conventions: :mod:`ltr.synthetic.scenes`."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CAMOUFLAGE_PROB", "CHALLENGES", "FULL_OCCLUSION_FRACTION", "GENERATOR_VERSION", "NOISE_MARGIN",
    "OUT_OF_VIEW_FRACTION", "PHOTO_POOLS", "PROCEDURAL_CLASS", "SPLIT_CODES", "SceneConfig", "TEXTURE_LONG_SIDE"
]


#: Bump when the rendering or planning changes in a way that alters the output.
GENERATOR_VERSION = 1

#: Photographs by split and role. Train and test are disjoint (no photograph in both).
PHOTO_POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "objects": ("astronaut", "coffee", "immunohistochemistry", "colorwheel", "clock", "coins"),
        "backgrounds": ("stereo_motorcycle", "grass", "brick", "page", "cell"),
    },
    "test": {
        "objects": ("chelsea", "rocket", "camera", "retina", "logo"),
        "backgrounds": ("hubble_deep_field", "gravel", "moon", "text"),
    },
}
SPLIT_CODES = {"train": 1, "test": 2}

#: Challenges; each sequence has a primary one (cycled by index) and random secondary ones.
CHALLENGES = ("scale_change", "occlusion", "distractors", "out_of_view", "fast_motion",
              "small_target", "illumination", "appearance_change")

OUT_OF_VIEW_FRACTION = 0.25
FULL_OCCLUSION_FRACTION = 0.1
TEXTURE_LONG_SIDE = 160
NOISE_MARGIN = 64
PROCEDURAL_CLASS = "blob"
#: Probability that a photo target is shown on its own photograph (camouflage).
CAMOUFLAGE_PROB = 0.3





@dataclass(frozen=True)
class SceneConfig:
    """Parameters shared by all sequences of a set.

    ``image_size`` is ``(width, height)``; ``photo_fraction`` the probability that an object or a
    background is a photograph crop rather than procedural; ``secondary_challenge_prob`` the
    probability of each non-primary challenge.
    """

    image_size: tuple[int, int] = (480, 360)
    num_frames: int = 150
    photo_fraction: float = 0.7
    secondary_challenge_prob: float = 0.25

    def __post_init__(self) -> None:
        w, h = self.image_size
        if int(w) != w or int(h) != h or w < 32 or h < 32:
            raise ValueError(f"image_size: expected integers (width, height) >= 32, got {self.image_size!r}")
        if self.num_frames < 1:
            raise ValueError(f"num_frames: expected >= 1, got {self.num_frames}")
        if not 0.0 <= self.photo_fraction <= 1.0:
            raise ValueError(f"photo_fraction: expected in [0, 1], got {self.photo_fraction}")
