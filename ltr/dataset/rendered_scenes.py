"""The base of the on-the-fly datasets rendered from :mod:`ltr.synthetic.scenes` (nothing on disk).

Sequence ``seq_id`` is ``scenes.plan_sequence(seed, split, seq_id, config, still)``; every frame is rendered
independently from its index, so random access costs the same as sequential access and gives identical
frames. Frames go through a JPEG round trip at ``jpeg_quality`` (as the on-disk benchmark; None skips it).
Subclasses: :class:`ltr.dataset.synthetic_video.SyntheticVideo`, :class:`ltr.dataset.still_image_pairs.StillImagePairs`.
"""
from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np
import torch

from ltr.dataset.base_video_dataset import BaseVideoDataset, valid_boxes
from ltr.synthetic.scenes import (PHOTO_POOLS, SceneAssets, SceneConfig, SequencePlan, build_assets, plan_sequence,
                                  render_frame)


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode an RGB image as JPEG at ``quality`` and decode it again (deterministic)."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


class RenderedScenes(BaseVideoDataset):
    """Datasets of scenes rendered by :mod:`ltr.synthetic.scenes`: plan and asset caches, annotations as
    tensors, rendering. Subclasses choose the scene configuration (videos or stills)."""

    def __init__(self, name: str, num_sequences: int, config: SceneConfig, seed: int, split: str,
                 jpeg_quality: int | None, still: bool, cache_size: int):
        super().__init__(name, root=None)
        if int(num_sequences) != num_sequences or num_sequences < 1:
            raise ValueError(f"num_sequences: expected an integer >= 1, got {num_sequences!r}")
        if split not in PHOTO_POOLS:
            raise ValueError(f"split: expected one of {sorted(PHOTO_POOLS)}, got {split!r}")
        if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality: expected 1..100 or None, got {jpeg_quality}")
        if cache_size < 1:
            raise ValueError(f"cache_size: expected >= 1, got {cache_size}")
        self.num_sequences = int(num_sequences)
        self.config = config
        self.seed = int(seed)
        self.split = split
        self.jpeg_quality = jpeg_quality
        self.still = still
        self.cache_size = cache_size
        self._plans: OrderedDict[int, SequencePlan] = OrderedDict()
        self._assets: OrderedDict[int, SceneAssets] = OrderedDict()

    def get_num_sequences(self) -> int:
        return self.num_sequences

    def _check(self, seq_id: int) -> int:
        if not 0 <= int(seq_id) < self.num_sequences:
            raise ValueError(f"seq_id: {seq_id} outside [0, {self.num_sequences})")
        return int(seq_id)

    def plan(self, seq_id: int) -> SequencePlan:
        """The geometry of sequence ``seq_id`` (cached)."""
        seq_id = self._check(seq_id)
        if seq_id in self._plans:
            self._plans.move_to_end(seq_id)
            return self._plans[seq_id]
        plan = plan_sequence(self.seed, self.split, seq_id, self.config, still=self.still)
        self._plans[seq_id] = plan
        if len(self._plans) > 64 * self.cache_size:
            self._plans.popitem(last=False)
        return plan

    def _scene_assets(self, seq_id: int) -> SceneAssets:
        if seq_id in self._assets:
            self._assets.move_to_end(seq_id)
            return self._assets[seq_id]
        assets = build_assets(self.plan(seq_id))
        self._assets[seq_id] = assets
        if len(self._assets) > self.cache_size:
            self._assets.popitem(last=False)
        return assets

    def get_sequence_name(self, seq_id: int) -> str:
        plan = self.plan(seq_id)
        return f"{self.split}-{plan.object_class}-{seq_id}"

    def get_class_name(self, seq_id: int) -> str:
        return self.plan(seq_id).object_class

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        plan = self.plan(seq_id)
        bbox = torch.tensor(plan.boxes, dtype=torch.float32)
        valid = valid_boxes(bbox)
        visible = valid & torch.from_numpy(plan.visible.copy())
        return {"bbox": bbox, "valid": valid, "visible": visible,
                "visible_ratio": torch.tensor(plan.visible_fraction, dtype=torch.float32)}

    def render(self, seq_id: int, frame_id: int) -> np.ndarray:
        """Frame ``frame_id`` of sequence ``seq_id`` (RGB uint8), after the JPEG round trip if any."""
        seq_id = self._check(seq_id)
        plan = self.plan(seq_id)
        if not 0 <= int(frame_id) < plan.num_frames:
            raise ValueError(f"frame_ids: {frame_id} outside [0, {plan.num_frames}) of sequence {seq_id}")
        frame = render_frame(plan, self._scene_assets(seq_id), int(frame_id))
        return jpeg_round_trip(frame, self.jpeg_quality) if self.jpeg_quality is not None else frame

    def get_frames(self, seq_id: int, frame_ids: list[int],
                   anno: dict[str, torch.Tensor] | None = None) -> tuple[list[np.ndarray], dict[str, list], dict]:
        """Rendered frames (RGB uint8), their annotations (per-frame lists) and meta data."""
        seq_id = self._check(seq_id)
        cache: dict[int, np.ndarray] = {}
        frames = []
        for f in frame_ids:
            if int(f) not in cache:
                cache[int(f)] = self.render(seq_id, int(f))
            frames.append(cache[int(f)].copy())
        anno = self.get_sequence_info(seq_id) if anno is None else anno
        anno_frames = {key: [value[int(f), ...].clone() for f in frame_ids] for key, value in anno.items()}
        plan = self.plan(seq_id)
        meta = {"object_class_name": plan.object_class, "motion_class": None, "major_class": None,
                "root_class": None, "motion_adverb": None, "challenges": plan.challenges}
        return frames, anno_frames, meta
