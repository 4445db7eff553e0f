"""The training loop: epochs over the loaders, checkpoints, resume, TensorBoard, DDP.

- One checkpoint per epoch, written atomically by rank 0 after the epoch (and the scheduler step):
  an interruption (Ctrl-C, crash) loses at most the current epoch.
- ``settings.resume``: continue from the newest checkpoint of this setting exactly where it stopped
  (network, optimiser, scheduler, epoch, global RNG states; the pairs of an epoch depend only on
  the seed, epoch and rank, see :mod:`ltr.data.sampler`). With fixed seeds and ``workers=0`` the
  resumed run is bit-identical to an uninterrupted one.
- A step whose loss is not finite is skipped (no backward/optimiser step), warned about and counted;
  under DDP all ranks skip together (the finiteness flag is all-reduced).
- Mixed precision (``settings.amp``, ``--amp``): ``'bf16'`` or ``'fp16'`` run the actor (network and loss)
  under ``torch.autocast`` on the training device; the actors compute their losses in float32 (the
  network's outputs are cast back), the weights and the optimiser stay float32. ``'fp16'`` adds a
  ``torch.amp.GradScaler`` (loss scaling from 2^16; a step whose scaled gradients overflow is skipped and
  the scale halved: counted as ``overflow_steps`` and shown in the epoch summary), whose state is
  checkpointed with the rest, so a resumed fp16 run continues exactly.
  ``'off'`` (default) is plain float32. bf16 needs no scaler; on a CPU it is the only useful choice.
- DDP: when ``settings.dist.world_size > 1`` the network is wrapped in
  ``torch.nn.parallel.DistributedDataParallel``; only rank 0 writes checkpoints and logs.
- Epoch summary: loss, pairs/s, share of time waiting for data, skipped steps, unreadable frames
  and the datasets' annotation warnings: per dataset name, the distinct problems its main-process
  dataset objects hold so far (those met while loading it, and those met while drawing items, in
  the main process or, shipped with the batch, in DataLoader workers; see :mod:`ltr.data.sampler`).
  The same for any ``num_workers``. ``annotation_warnings`` in a loader's epoch statistics: the
  problems first met in that epoch (this rank's datasets; not summed over DDP ranks, which would
  count a file met by two ranks twice).
"""
from __future__ import annotations

import math
import re
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from ltr.actors.base_actor import BaseActor
from ltr.admin import checkpoint as ckpt
from ltr.admin.multigpu import DistInfo
from ltr.admin.settings import TrainSettings
from ltr.data.loader import move_to_device

__all__ = ["LTRTrainer"]

_EPOCH_FILE = re.compile(r"_ep(\d{4,})\.pth$")
#: ``settings.amp`` -> autocast dtype (None: float32, no autocast)
AMP_DTYPES: dict[str, torch.dtype | None] = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _batch_size(batch: dict[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor):
            return int(value.shape[0])
    return 1


class LTRTrainer:
    """Train ``actor`` on ``loaders`` (the first is the training loader; others, e.g. val, are evaluated).

    Args:
        actor: network + loss (:class:`ltr.actors.BaseActor`).
        loaders: ``[train_loader, val_loader?]`` (:class:`ltr.data.loader.LTRLoader`; ``.training`` decides).
        optimizer: over the trainable parameters (the estimator; the backbone is frozen).
        settings: :class:`ltr.admin.settings.TrainSettings`.
        lr_scheduler: stepped once per epoch, or None.
    """

    def __init__(self, actor: BaseActor, loaders: Sequence[Any], optimizer: torch.optim.Optimizer,
                 settings: TrainSettings, lr_scheduler: Any | None = None):
        if not loaders:
            raise ValueError("loaders must hold at least the training loader")
        self.actor = actor
        self.loaders = list(loaders)
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.settings = settings
        self.dist: DistInfo = settings.dist or DistInfo(0, 1, 0, torch.device(settings.device or "cpu"))
        self.device = self.dist.device
        self.net: nn.Module = ckpt.unwrap_network(actor.net)
        self.net.to(self.device)
        if self.dist.distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            actor.net = nn.parallel.DistributedDataParallel(self.net, device_ids=device_ids)
        else:
            actor.net = self.net
        amp = str(getattr(settings, "amp", "off"))
        if amp not in AMP_DTYPES:
            raise ValueError(f"settings.amp (--amp) must be one of {sorted(AMP_DTYPES)}, got {amp!r}")
        self.amp = amp
        self.amp_dtype = AMP_DTYPES[amp]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")
        self.epoch = 0
        self.stats: dict[int, dict[str, dict[str, float]]] = {}
        self._writer = None
        self._plotter = None

    # ------------------------------------------------------------------ paths
    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def checkpoint_path(self, epoch: int) -> Path:
        return self.settings.checkpoint_dir / f"{self.settings.script_name}_ep{epoch:04d}.pth"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """``(epoch, path)`` of this setting's checkpoints, oldest first."""
        folder = self.settings.checkpoint_dir
        found = []
        if folder.is_dir():
            for path in folder.glob(f"{self.settings.script_name}_ep*.pth"):
                match = _EPOCH_FILE.search(path.name)
                if match:
                    found.append((int(match.group(1)), path))
        return sorted(found)

    def _log(self, message: str) -> None:
        if self.is_main:
            tqdm.write(message)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path | None:
        if not self.is_main:
            return None
        extra = {"amp": self.amp}
        if self.scaler.is_enabled():
            extra["grad_scaler"] = self.scaler.state_dict()
        path = ckpt.save_checkpoint(self.checkpoint_path(self.epoch), self.net, self.optimizer, self.lr_scheduler,
                                    self.epoch, stats={str(k): v for k, v in self.stats.items()},
                                    settings_name=self.settings.project_path, extra=extra)
        keep = self.settings.keep_checkpoints
        if keep:
            for _, old in self.checkpoints()[:-keep]:
                old.unlink(missing_ok=True)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore network, optimiser, scheduler, epoch, statistics and RNG states from ``path``."""
        data = ckpt.load_checkpoint(path, map_location="cpu")
        stored, current = data.get("network", {}), ckpt.network_constructor(self.net)
        if stored.get("name") != current["name"]:
            raise ValueError(f"{path}: checkpoint of network '{stored.get('name')}', but setting "
                             f"{self.settings.project_path} builds '{current['name']}'")
        self.net.load_state_dict(data["net"])
        if data.get("optimizer") is not None:
            self.optimizer.load_state_dict(data["optimizer"])
        if self.lr_scheduler is not None and data.get("lr_scheduler") is not None:
            self.lr_scheduler.load_state_dict(data["lr_scheduler"])
        extra = data.get("extra") or {}
        stored_amp = extra.get("amp", "off")
        if stored_amp != self.amp:
            warnings.warn(f"{path}: written with --amp {stored_amp}, resumed with --amp {self.amp}", RuntimeWarning,
                          stacklevel=2)
        if self.scaler.is_enabled() and extra.get("grad_scaler"):
            self.scaler.load_state_dict(extra["grad_scaler"])
        self.epoch = int(data["epoch"])
        self.stats = {int(k): v for k, v in (data.get("stats") or {}).items()}
        if data.get("rng"):
            ckpt.set_rng_states(data["rng"])

    def load_latest(self) -> bool:
        """Resume from the newest checkpoint; False if there is none."""
        found = self.checkpoints()
        if not found:
            self._log(f"[resume] no checkpoint in {self.settings.checkpoint_dir}: starting from epoch 1")
            return False
        epoch, path = found[-1]
        self.load_checkpoint(path)
        self._log(f"[resume] continuing after epoch {epoch} from {path}")
        return True

    # ------------------------------------------------------------------ logging
    def _tensorboard(self):
        if self._writer is None and self.is_main and self.settings.use_tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(log_dir=str(self.settings.tensorboard_dir))
        return self._writer

    def _visdom(self):
        """The loss-curve plotter on rank 0 when ``settings.visdom_port`` is set (None otherwise)."""
        if self._plotter is None and self.is_main and self.settings.visdom_port is not None:
            from ltr.admin.visdom_client import TrainingPlotter
            self._plotter = TrainingPlotter(self.settings.visdom_port, env=self.settings.project_path.replace("/", "_"))
        return self._plotter if self._plotter is not None and self._plotter.enabled else None

    def _annotation_warnings(self) -> dict[str, int]:
        """Distinct annotation problems recorded so far, per dataset name, over all loaders (main process)."""
        counts: dict[str, int] = defaultdict(int)
        for loader in self.loaders:
            for dataset in getattr(loader.dataset, "datasets", []):
                counts[dataset.get_name()] += len(getattr(dataset, "warnings", []))
        return dict(counts)

    @staticmethod
    def _loader_warning_count(loader: Any) -> int:
        """Distinct annotation problems recorded so far by ``loader``'s datasets (main process)."""
        return sum(len(getattr(ds, "warnings", [])) for ds in getattr(loader.dataset, "datasets", []))

    @staticmethod
    def _record_batch_warnings(loader: Any, batch: dict[str, Any]) -> None:
        """Add the batch's ``annotation_warnings`` (met while drawing its items, maybe in a worker) to the
        main process's datasets; texts already there (items drawn in this process) are not added again."""
        notes = batch.get("annotation_warnings")
        if notes and hasattr(loader.dataset, "record_warnings"):
            loader.dataset.record_warnings(notes)

    # ------------------------------------------------------------------ loops
    def _all_finite(self, loss: torch.Tensor) -> bool:
        finite = torch.isfinite(loss.detach()).float().reshape(1)
        if self.dist.distributed:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        return bool(finite.item() > 0)

    def cycle_dataset(self, loader: Any) -> dict[str, float]:
        """One pass over ``loader`` (training steps if ``loader.training``). Returns the epoch's statistics."""
        training = bool(getattr(loader, "training", True))
        self.actor.train(training)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(self.epoch)
        sums: dict[str, float] = defaultdict(float)
        samples = skipped = read_errors = overflows = 0
        warnings_before = self._loader_warning_count(loader)
        wait = 0.0
        start = time.perf_counter()
        name = getattr(loader, "name", "train" if training else "val")
        bar = tqdm(total=len(loader), desc=f"[{name}] epoch {self.epoch}", leave=False, dynamic_ncols=True,
                   disable=not (self.is_main and self.settings.show_progress))
        iterator = iter(loader)
        with torch.set_grad_enabled(training):
            for step in range(len(loader)):
                t0 = time.perf_counter()
                batch = next(iterator)
                wait += time.perf_counter() - t0
                if "read_errors" in batch:
                    read_errors += int(torch.as_tensor(batch["read_errors"]).sum())
                self._record_batch_warnings(loader, batch)
                batch = move_to_device(batch, self.device)
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    loss, stats = self.actor(batch)
                if not self._all_finite(loss):
                    skipped += 1
                    warnings.warn(f"{name} epoch {self.epoch} step {step}: non-finite loss ({float(loss.detach())}); "
                                  "step skipped", RuntimeWarning, stacklevel=2)
                    bar.update(1)
                    continue
                if training:
                    self.optimizer.zero_grad(set_to_none=True)
                    self.scaler.scale(loss).backward()   # the scaler is a pass-through unless --amp fp16
                    scale = self.scaler.get_scale() if self.scaler.is_enabled() else 0.0
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                    if self.scaler.is_enabled() and self.scaler.get_scale() < scale:
                        overflows += 1   # fp16 gradients overflowed: the step was skipped, the scale halved
                size = _batch_size(batch)
                samples += size
                for key, value in stats.items():
                    sums[key] += float(value) * size
                elapsed = time.perf_counter() - start
                bar.set_postfix(loss=f"{sums['Loss/total'] / max(samples, 1):.4f}",
                                pairs_s=f"{samples / max(elapsed, 1e-9):.1f}")
                bar.update(1)
                writer = self._tensorboard()
                if writer is not None and training:
                    writer.add_scalar(f"{name}/iter_loss", float(loss.detach()),
                                      (self.epoch - 1) * len(loader) + step)
                plotter = self._visdom()
                if plotter is not None and training:
                    plotter.plot("iteration loss", (self.epoch - 1) * len(loader) + step, float(loss.detach()),
                                 series=name)
        bar.close()
        elapsed = time.perf_counter() - start
        totals = torch.tensor([samples, skipped, read_errors] + [sums[k] for k in sorted(sums)], dtype=torch.float64)
        if self.dist.distributed:
            totals = totals.to(self.device)
            dist.all_reduce(totals)
            totals = totals.cpu()
        samples_all = max(totals[0].item(), 1.0)
        result = {key: totals[3 + i].item() / samples_all for i, key in enumerate(sorted(sums))}
        result.update({"samples": totals[0].item(), "skipped_steps": totals[1].item(),
                       "read_errors": totals[2].item(), "samples_per_s": totals[0].item() / max(elapsed, 1e-9),
                       "data_wait_share": wait / max(elapsed, 1e-9), "seconds": elapsed,
                       "annotation_warnings": float(self._loader_warning_count(loader) - warnings_before),
                       "overflow_steps": float(overflows)})
        return result

    def _sync_buffers(self) -> None:
        """Under DDP, copy rank 0's buffers (BatchNorm running statistics) to every rank, as DDP does
        before each forward pass, so that all ranks end the epoch with identical state."""
        if self.dist.distributed:
            for buffer in self.net.buffers():
                dist.broadcast(buffer.data, src=0)

    def train_epoch(self) -> dict[str, dict[str, float]]:
        epoch_stats = {}
        for loader in self.loaders:
            epoch_stats[getattr(loader, "name", "train")] = self.cycle_dataset(loader)
        return epoch_stats

    def _summarise(self, epoch_stats: dict[str, dict[str, float]], lr: float) -> None:
        parts = []
        for name, s in epoch_stats.items():
            loss = s.get("Loss/total", float("nan"))
            parts.append(f"{name} loss {loss:.4f} ({int(s['samples'])} pairs, {s['samples_per_s']:.1f} pairs/s, "
                         f"data wait {100 * s['data_wait_share']:.0f}%)")
        skipped = sum(int(s["skipped_steps"]) for s in epoch_stats.values())
        unreadable = sum(int(s["read_errors"]) for s in epoch_stats.values())
        notes = self._annotation_warnings()
        note_text = ", ".join(f"{k} {v}" for k, v in notes.items() if v) or "none"
        overflow = ""
        if self.scaler.is_enabled():
            overflows = sum(int(s.get("overflow_steps", 0)) for s in epoch_stats.values())
            overflow = f"; fp16 overflow steps {overflows} (scale now {self.scaler.get_scale():g})"
        self._log(f"[{self.settings.project_path}] epoch {self.epoch}: " + "; ".join(parts)
                  + f"; lr {lr:.2e}; skipped steps {skipped}; unreadable frames {unreadable}; "
                    f"annotation warnings: {note_text}" + overflow)
        writer = self._tensorboard()
        if writer is not None:
            for name, s in epoch_stats.items():
                for key, value in s.items():
                    if math.isfinite(value):
                        writer.add_scalar(f"{name}/{key}", value, self.epoch)
            writer.add_scalar("lr", lr, self.epoch)
            writer.flush()
        plotter = self._visdom()
        if plotter is not None:
            for name, s in epoch_stats.items():
                if math.isfinite(s.get("Loss/total", float("nan"))):
                    plotter.plot("epoch loss", self.epoch, s["Loss/total"], series=name)

    def train(self, max_epochs: int, load_latest: bool | None = None) -> dict[int, dict[str, dict[str, float]]]:
        """Run epochs ``epoch + 1 .. max_epochs`` (resuming first if ``settings.resume``). Returns the statistics."""
        if int(max_epochs) != max_epochs or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, got {max_epochs}")
        if self.settings.resume if load_latest is None else load_latest:
            self.load_latest()
        try:
            while self.epoch < max_epochs:
                self.epoch += 1
                lr = self.optimizer.param_groups[0]["lr"]
                epoch_stats = self.train_epoch()
                if self.lr_scheduler is not None:
                    with warnings.catch_warnings():
                        # under --amp fp16 a whole first epoch may be overflow-skipped steps: the per-epoch
                        # schedule is still right, torch's "lr_scheduler.step() before optimizer.step()" is not
                        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step", category=UserWarning)
                        self.lr_scheduler.step()
                self._sync_buffers()
                self.stats[self.epoch] = epoch_stats
                path = self.save_checkpoint()
                self._summarise(epoch_stats, lr)
                if path is not None:
                    self._log(f"[checkpoint] {path}")
                if self.dist.distributed:
                    dist.barrier()
        except KeyboardInterrupt:
            done = self.checkpoints()
            where = f"last checkpoint: epoch {done[-1][0]} ({done[-1][1]})" if done else "no checkpoint yet"
            self._log(f"\n[interrupted] during epoch {self.epoch}; {where}. Continue with --resume.")
            raise
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self.stats
