"""Training datasets in their official on-disk layouts (see ``base_video_dataset`` for the interface).

Names are imported lazily, so ``import ltr.dataset`` stays cheap and one missing module does not
break the others.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BaseVideoDataset": "ltr.dataset.base_video_dataset",
    "SequenceFolderDataset": "ltr.dataset.sequence_dataset",
    "DatasetWarning": "ltr.dataset.annotation_io",
    "Lasot": "ltr.dataset.lasot",
    "Got10k": "ltr.dataset.got10k",
    "TrackingNet": "ltr.dataset.tracking_net",
    "MSCOCOSeq": "ltr.dataset.coco_seq",
    "ImageFolder": "ltr.dataset.image_folder",
    "SyntheticVideo": "ltr.dataset.synthetic_video",
    "StillImagePairs": "ltr.dataset.still_image_pairs",
    "RenderedScenes": "ltr.dataset.rendered_scenes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ltr.dataset' has no attribute {name!r}")
