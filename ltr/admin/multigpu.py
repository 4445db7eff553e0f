"""Distributed data-parallel (DDP) helpers for runs launched by ``torchrun``.

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`init_distributed` reads them and joins the process group (backend ``nccl`` on CUDA,
``gloo`` on CPU). Without them (or with ``WORLD_SIZE=1``) everything runs in one process.
Each rank uses ``cuda:LOCAL_RANK`` on CUDA, or the CPU.

Surviving a rank failure: ``torchrun --max_restarts=K ... -m ltr.run_training ... --resume`` restarts the
whole group, which resumes from rank 0's last checkpoint. Launch it with
``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``: with the rendezvous store shared (torch's default), the restarted
workers can read the dead attempt's peer addresses and fail to connect ("Connection refused",
pytorch/pytorch#135712; reproduced here in about half of the restarts with gloo).
:func:`init_distributed` warns on rank 0 when restarts are enabled without it.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "elastic_restart_hazard", "indexed_cuda_device", "init_distributed", "is_main_process", "get_rank", "get_world_size",
           "cleanup_distributed", "barrier"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a (possibly single-process) run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


def elastic_restart_hazard(environ: dict[str, str] | None = None) -> str | None:
    """Why a torchrun restart of this job may fail to reconnect, or None (see the module docstring)."""
    env = os.environ if environ is None else environ
    restarts = env.get("TORCHELASTIC_MAX_RESTARTS", "0").strip()
    if restarts.isdigit() and int(restarts) > 0 and env.get("TORCH_DISABLE_SHARE_RDZV_TCP_STORE") != "1":
        return ("torchrun --max_restarts > 0 without TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1: a restarted group can "
                "read the failed attempt's peer addresses and fail with 'Connection refused' "
                "(pytorch/pytorch#135712); launch with TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 torchrun ...")
    return None


def indexed_cuda_device(requested: torch.device, local_rank: int, world_size: int, device_count: int) -> torch.device:
    """The ``cuda:N`` a process must use: ``cuda:LOCAL_RANK`` under DDP (``world_size > 1``); else the index asked
    for, or 0 for a bare ``cuda``. ``torch.cuda.set_device`` refuses an unindexed ``cuda``, so every place that sets
    a device goes through this. Raises ``ValueError`` naming the index when it is not below ``device_count``."""
    if requested.type != "cuda":
        raise ValueError(f"indexed_cuda_device takes a CUDA device, got {requested}")
    if world_size > 1:
        index = local_rank
        if requested.index is not None and requested.index != local_rank:
            warnings.warn(f"device {requested} ignored under torchrun: rank with LOCAL_RANK={local_rank} uses "
                          f"cuda:{local_rank}", RuntimeWarning, stacklevel=3)
    else:
        index = 0 if requested.index is None else requested.index
    if not 0 <= index < device_count:
        source = f"LOCAL_RANK={local_rank}" if world_size > 1 else f"device {requested}"
        raise ValueError(f"{source} needs cuda:{index}, but this machine has {device_count} CUDA device(s)")
    return torch.device("cuda", index)


def init_distributed(device: str | torch.device = "cpu") -> DistInfo:
    """Join the process group described by the torchrun environment, if any.

    ``device`` is the requested device kind ('cpu', 'cuda' or 'cuda:N'); under DDP a CUDA run uses
    ``cuda:LOCAL_RANK``, a single process ``cuda:N`` (``cuda`` = ``cuda:0``); see :func:`indexed_cuda_device`.
    Safe to call twice (an existing process group is reused).
    """
    requested = torch.device(device)
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"invalid torchrun environment: RANK={rank}, WORLD_SIZE={world_size}")
    if requested.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but CUDA is not available (use --device cpu)")
        requested = indexed_cuda_device(requested, local_rank, world_size, torch.cuda.device_count())
        torch.cuda.set_device(requested)
    if world_size > 1 and not (dist.is_available() and dist.is_initialized()):
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise ValueError(f"WORLD_SIZE={world_size} but {var} is not set: launch with torchrun")
        backend = "nccl" if requested.type == "cuda" else "gloo"
        hazard = elastic_restart_hazard()
        if hazard is not None and rank == 0:
            warnings.warn(hazard, RuntimeWarning, stacklevel=2)
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=requested)


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0 (and in a single-process run)."""
    return get_rank() == 0


def barrier() -> None:
    if get_world_size() > 1:
        dist.barrier()


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
