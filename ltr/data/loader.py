"""Data loaders for training: batching of :class:`ltr.data.sampler.PairSampler` items.

Sharding for DDP is done by the sampler's seed: every rank builds its own ``PairSampler`` with
``rank`` set and ``samples_per_epoch / world_size`` items, so ranks draw different pairs without a
``DistributedSampler``. Workers are seeded by :func:`worker_init_fn` (numpy, ``random``) from
torch's per-worker seed; the pairs themselves use per-item generators and do not depend on it.
Workers are re-created each epoch (``persistent_workers=False``) so they see ``set_epoch``.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate

__all__ = ["LTRLoader", "worker_init_fn", "collate_batch", "move_to_device"]


def worker_init_fn(worker_id: int) -> None:
    """Seed numpy and ``random`` in a worker from torch's per-worker seed (base seed + worker id)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def collate_batch(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors of the items along a new batch dimension; non-tensor entries become lists."""
    keys = items[0].keys()
    out: dict[str, Any] = {}
    for key in keys:
        values = [item[key] for item in items]
        out[key] = default_collate(values) if isinstance(values[0], (torch.Tensor, int, float)) else values
    return out


def move_to_device(batch: dict[str, Any], device: torch.device | str) -> dict[str, Any]:
    """Tensors of ``batch`` moved to ``device`` (non-blocking); other entries unchanged."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


class LTRLoader(DataLoader):
    """``DataLoader`` with a name, a training flag and :meth:`set_epoch` (forwarded to the dataset).

    Args:
        name: 'train' or 'val' (used in logs).
        dataset: a :class:`PairSampler` (anything with ``__len__``/``__getitem__``; ``set_epoch`` optional).
        training: whether the trainer runs backward passes on it.
        batch_size, num_workers, pin_memory, drop_last: as ``torch.utils.data.DataLoader``.
        seed: seeds the loader's own generator (worker base seeds), independent of the global RNG.
    """

    def __init__(self, name: str, dataset: Any, training: bool = True, batch_size: int = 1, num_workers: int = 0,
                 pin_memory: bool = False, drop_last: bool = True, seed: int = 0, **kwargs: Any):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(f"{name} loader: {len(dataset)} samples per epoch is fewer than batch_size {batch_size}")
        super().__init__(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                         collate_fn=collate_batch, pin_memory=pin_memory, drop_last=drop_last,
                         worker_init_fn=worker_init_fn, generator=torch.Generator().manual_seed(int(seed)),
                         persistent_workers=False, **kwargs)
        self.name = name
        self.training = training

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
