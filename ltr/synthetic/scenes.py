"""Procedural tracking scenes from real photographs: planning (geometry) and rendering (pixels).

A sequence is fully determined by ``(seed, split, index, SceneConfig)``. It is built in two steps:

1. :func:`plan_sequence` draws every geometric quantity for all frames at once (cheap numpy arrays):
   the target's trajectory, size, aspect ratio and rotation, distractors, occluders, out-of-view
   events, the camera path and the illumination. From the plan come the annotations
   (``boxes``, ``out_of_view``, ``full_occlusion``) without rendering a pixel.
2. :func:`build_assets` makes the pixels that do not change over time (object textures with their
   masks as mip-pyramids, the background canvas, a sensor-noise tile); :func:`render_frame` then
   renders frame ``t`` independently of every other frame (random access; a few ms for 480x360).

Geometry conventions. Continuous image coordinates: pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``,
so a box ``[x, y, w, h]`` covering pixels 10..19 has ``x = 10, w = 10``. Every object is a shape in
normalised coordinates ``q`` in ``[-0.5, 0.5]^2`` (its unrotated tight box is that square) mapped to
the image by ``p = c + L q`` with ``L = R(angle) diag(w, h)``. The ground-truth box is the tight box
of the mapped shape, computed in closed form (float precision, not clipped to the image):

- ellipse inscribed in the square: half-extent along x is ``sqrt(L00^2 + L01^2) / 2`` (y alike);
- rounded square with corner radius ``r``: ``(|L00| + |L01|) (1/2 - r) + r sqrt(L00^2 + L01^2)``
  (the shape is a square Minkowski-summed with a disc, and linear maps preserve Minkowski sums);
- polygon: min/max of the mapped vertices.

Visibility flags come from sample points spread over the target's mask: ``out_of_view`` when fewer
than :data:`OUT_OF_VIEW_FRACTION` of them lie inside the image; ``full_occlusion`` when the target
is in view but fewer than :data:`FULL_OCCLUSION_FRACTION` of its in-image points are uncovered by
occluders. Distractors are drawn behind the target and never occlude it.

Photographs (``skimage.data``, shipped with scikit-image, no download) are split per role and per
split so that train and test never share a photograph (:data:`PHOTO_POOLS`); procedural textures
(noise, stripes, checkers, shapes) are used in both splits with independent seeds.

Modules: :mod:`~ltr.synthetic.scene_config` (constants, :class:`SceneConfig`), :mod:`~ltr.synthetic.shapes`,
:mod:`~ltr.synthetic.textures`, :mod:`~ltr.synthetic.planning`, :mod:`~ltr.synthetic.rendering`; this module
re-exports their public names (the scenes' API).
"""
from __future__ import annotations

from ltr.synthetic.scene_config import (CAMOUFLAGE_PROB, CHALLENGES, FULL_OCCLUSION_FRACTION, GENERATOR_VERSION,
                                        NOISE_MARGIN, OUT_OF_VIEW_FRACTION, PHOTO_POOLS, PROCEDURAL_CLASS,
                                        SPLIT_CODES, SceneConfig, TEXTURE_LONG_SIDE)
from ltr.synthetic.shapes import (Shape, random_shape, rotation_scale)
from ltr.synthetic.textures import (colour_jitter, is_grey_photo, load_photo, mip_pyramid, photo_crop,
                                    procedural_texture)
from ltr.synthetic.planning import (ObjectPlan, SequencePlan, plan_sequence, smooth_curve)
from ltr.synthetic.rendering import (ObjectAssets, SceneAssets, build_assets, render_frame)

__all__ = [
    "CAMOUFLAGE_PROB", "CHALLENGES", "FULL_OCCLUSION_FRACTION", "GENERATOR_VERSION", "NOISE_MARGIN",
    "OUT_OF_VIEW_FRACTION", "ObjectAssets", "ObjectPlan", "PHOTO_POOLS", "PROCEDURAL_CLASS", "SPLIT_CODES",
    "SceneAssets", "SceneConfig", "SequencePlan", "Shape", "TEXTURE_LONG_SIDE", "build_assets", "colour_jitter",
    "is_grey_photo", "load_photo", "mip_pyramid", "photo_crop", "plan_sequence", "procedural_texture",
    "random_shape", "render_frame", "rotation_scale", "smooth_curve"
]
