"""Data loaders for training: batching of :class:`ltr.data.sampler.PairSampler` items.

Sharding for DDP is done by the sampler's seed: every rank builds its own ``PairSampler`` with
``rank`` set and ``samples_per_epoch / world_size`` items, so ranks draw different pairs without a
``DistributedSampler``. Workers are seeded by :func:`worker_init_fn` (numpy, ``random``) from
torch's per-worker seed; the pairs themselves use per-item generators and do not depend on it.
Workers are re-created each epoch (``persistent_workers=False``) so they see ``set_epoch``: their
start-up (a fork and the first batch) is paid once per epoch, not per batch. In a worker, torch runs on one
thread (DataLoader's default). OpenCV's thread count is left alone there: ``cv2.setNumThreads`` in a forked
child of a process whose OpenCV pool has started hangs (pthreads backend, OpenCV 4.14); the crops a worker
resamples are small, so its pool has little to split.
:func:`default_num_workers` gives a worker count from the CPUs this process may run on.
"""
from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate

__all__ = ["LTRLoader", "default_num_workers", "worker_init_fn", "collate_batch", "move_to_device"]


def default_num_workers(reserve: int = 1) -> int:
    """Loader workers for this machine: the CPUs this process may run on (``os.sched_getaffinity``, else
    ``os.cpu_count``) less ``reserve`` for the main process, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - int(reserve))


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
        prefetch_factor: batches each worker prepares ahead (with workers; torch's default 2).
        seed: seeds the loader's own generator (worker base seeds), independent of the global RNG.
    """

    def __init__(self, name: str, dataset: Any, training: bool = True, batch_size: int = 1, num_workers: int = 0,
                 pin_memory: bool = False, drop_last: bool = True, seed: int = 0, prefetch_factor: int | None = None,
                 **kwargs: Any):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        if prefetch_factor is not None and (prefetch_factor < 1 or num_workers == 0):
            raise ValueError(f"prefetch_factor must be >= 1 and needs num_workers > 0, got {prefetch_factor} with "
                             f"{num_workers} workers")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(f"{name} loader: {len(dataset)} samples per epoch is fewer than batch_size {batch_size}")
        super().__init__(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                         collate_fn=collate_batch, pin_memory=pin_memory, drop_last=drop_last,
                         worker_init_fn=worker_init_fn, generator=torch.Generator().manual_seed(int(seed)),
                         persistent_workers=False, prefetch_factor=prefetch_factor, **kwargs)
        self.name = name
        self.training = training

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
