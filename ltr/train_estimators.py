"""Train several box-estimator heads on ONE feature cache with ONE training rule, export the selected checkpoints.

``python -m ltr.train_estimators --methods ml-is nce+ iou gauss --cache_spec default --device cuda --epochs 8
--batch_size 64 --out DIR``

- The cache (:mod:`ltr.data.feature_cache`, spec looked up by name with ``cache_spec``) is loaded once and moved to
  ``--device``; every head trains on those tensors (on a GPU the run is then bound by the head, not by loading).
- Every head gets the shipped setting of :func:`ltr.train_settings.bbreg._cached.cached_config` (same data, epochs,
  batch, Adam + StepLR schedule, seed) with ``--epochs``/``--batch_size`` applied to all alike, and the same
  checkpoint rule (:mod:`ltr.trainers.epoch_selection`: lowest validation loss of the head's own loss).
- Per head, in ``DIR``: ``<shipped name>.pth`` + ``.sha256`` (the selected epoch exported in float16 by
  :func:`ltr.admin.checkpoint.export_weights`: the tracker's ``net_path`` format, so ``DIR`` is a
  ``pytracking.tune_refinement --net_dir``), and ``<method>/losses.{md,json}`` (per epoch: train and val loss,
  pairs/s, seconds; the selected epoch marked), ``<method>/checkpoints/...`` (every epoch's training checkpoint and
  ``*_selected.json``). ``DIR/summary.md``: one row per head found in ``DIR`` (so several processes, one head
  each, can train into one folder in parallel).
- ``--resume``: a head whose ``DIR/<method>/checkpoints`` holds epochs continues after the newest one (optimizer,
  schedule, random state and the loss statistics restored, :class:`ltr.trainers.LTRTrainer`), so a long CPU run cut
  short loses at most one epoch; the checkpoint rule then sees every epoch, as in an uninterrupted run.

Methods are :data:`ltr.actors.methods.METHODS` names: ``nce+`` is the shipped NCE head (``atom nce``), ``nce`` plain NCE.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import torch

from ltr.actors.methods import METHODS, get_method
from ltr.admin.checkpoint import export_weights
from ltr.admin.cli import cli_parser
from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.data.feature_cache import CacheSpec, cache_spec
from ltr.train_settings.bbreg._cached import (CachedConfig, CachedRun, cached_config, load_cached_pairs, train_cached,
                                             weights_file_name)

__all__ = ["DEFAULT_METHODS", "HeadResult", "build_parser", "loss_table", "main", "train_estimators", "write_summary"]

DEFAULT_METHODS = ("ml-is", "nce+", "iou", "gauss")


@dataclass
class HeadResult:
    """One trained head: its method, the selected epoch and its validation loss, the exported weights file."""

    method: str
    run: CachedRun
    weights: Path
    table_md: Path


def loss_table(stats: dict, selected_epoch: int) -> list[dict[str, Any]]:
    """Per epoch: ``epoch, train_loss, val_loss, train_pairs_s, val_pairs_s, seconds, selected``."""
    rows = []
    for epoch in sorted(int(e) for e in stats):
        s = stats[epoch] if epoch in stats else stats[str(epoch)]
        train, val = s.get("train", {}), s.get("val", {})
        rows.append({"epoch": epoch, "train_loss": train.get("Loss/total", math.nan),
                     "val_loss": val.get("Loss/total", math.nan), "train_pairs_s": train.get("samples_per_s", math.nan),
                     "val_pairs_s": val.get("samples_per_s", math.nan),
                     "seconds": train.get("seconds", 0.0) + val.get("seconds", 0.0), "selected": epoch == selected_epoch})
    return rows


def _markdown(method: str, rows: list[dict[str, Any]], run: CachedRun) -> str:
    c = run.config
    lines = [f"# {method}: {c.network}, cache {c.spec.name}, batch {c.batch_size}, {c.epochs} epochs, "
             f"Adam {c.lr:g}, StepLR {c.lr_step_epochs} x {c.lr_gamma:g}, checkpoint rule {c.checkpoint_rule}", "",
             "| epoch | train loss | val loss | train pairs/s | val pairs/s | epoch s |", "|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **(selected)**" if r["selected"] else ""
        lines.append(f"| {r['epoch']}{mark} | {r['train_loss']:.4f} | {r['val_loss']:.4f} | {r['train_pairs_s']:.1f} | "
                     f"{r['val_pairs_s']:.1f} | {r['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def _backbone_of(spec: CacheSpec) -> str:
    """The backbone part of the spec's network constructor (``atom_efficientnet_lite0`` -> ``efficientnet_lite0``)."""
    family, _, backbone = spec.network.partition("_")
    if family != "atom" or not backbone:
        raise ValueError(f"cache spec {spec.name}: network {spec.network!r} is not an 'atom_<backbone>' constructor")
    return backbone


def train_estimators(methods: Sequence[str], spec: CacheSpec, out: str | Path, device: str = "cpu",
                     epochs: int | None = None, batch_size: int | None = None, seed: int = 1,
                     workspace: str | Path | None = None, show_progress: bool = True, use_tensorboard: bool = False,
                     config_overrides: dict[str, Any] | None = None, resume: bool = False) -> list[HeadResult]:
    """Train every method's head on ``spec``'s cache (loaded once, on ``device``) with the one training rule;
    export each selected checkpoint to ``out/<weights_file_name(method)>`` and write the loss tables.
    ``config_overrides``: :class:`CachedConfig` fields set for every head alike (tests: tiny proposal counts).
    ``resume``: each head continues after the newest checkpoint in ``out/<method>`` (module docstring)."""
    if not methods:
        raise ValueError("--methods: give at least one method")
    for m in methods:
        get_method(m, "--methods")
    if len(set(methods)) != len(methods):
        raise ValueError(f"--methods: repeated method in {list(methods)}")
    for name, value in (("--epochs", epochs), ("--batch_size", batch_size)):
        if value is not None and int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = load_settings()
    device = str(env.torch_device(device))
    backbone = _backbone_of(spec)
    overrides = dict(config_overrides or {})

    def config(method: str) -> CachedConfig:
        cfg = cached_config(method, f"{method} head (ltr.train_estimators)", spec=spec, **overrides)
        return replace(cfg, network=get_method(method).network_name(backbone))   # the cache's backbone

    configs = {m: config(m) for m in methods}
    cache_settings = TrainSettings(module_name="bbreg", script_name="train_estimators", device=device, seed=seed,
                                   workspace=workspace, env=env, show_progress=show_progress)
    print(f"[train_estimators] loading cache {spec.name} onto {device}")
    pairs = load_cached_pairs(configs[methods[0]], cache_settings, device=device)
    results = []
    for method in methods:
        name = weights_file_name(method)
        head_dir = out / method
        settings = TrainSettings(module_name="bbreg", script_name=Path(name).stem, device=device, seed=seed,
                                 epochs=epochs, batch_size=batch_size, workspace=head_dir, env=env,
                                 show_progress=show_progress, use_tensorboard=use_tensorboard, resume=resume)
        run = train_cached(configs[method], settings, pairs)
        weights = export_weights(run.checkpoint, out / name)
        rows = loss_table(run.stats, run.selected.epoch)
        speed = [r["train_pairs_s"] for r in rows if math.isfinite(r["train_pairs_s"])]
        (head_dir / "losses.json").write_text(json.dumps(
            {"method": method, "network": run.config.network, "cache_spec": spec.name, "device": device,
             "batch_size": run.config.batch_size, "epochs": run.config.epochs, "lr": run.config.lr,
             "lr_step_epochs": run.config.lr_step_epochs, "lr_gamma": run.config.lr_gamma,
             "checkpoint_rule": run.selected.rule, "selected_epoch": run.selected.epoch,
             "selected_val_loss": run.selected.val_loss, "mean_train_pairs_s": sum(speed) / max(len(speed), 1),
             "weights": str(weights), "epochs_table": rows}, indent=1) + "\n")
        table_md = head_dir / "losses.md"
        table_md.write_text(_markdown(method, rows, run))
        print(f"[train_estimators] {method}: epoch {run.selected.epoch} -> {weights}")
        results.append(HeadResult(method, run, weights, table_md))
    text = write_summary(out)
    print(text)
    return results


def write_summary(out: str | Path) -> str:
    """``out/summary.md`` from every ``out/<method>/losses.json`` present (heads trained by separate processes
    into one folder included); returns its text."""
    out = Path(out)
    lines = ["# Heads trained by ltr.train_estimators", "",
             "| method | network | cache | device | epochs | batch | checkpoint rule | selected epoch | val loss | "
             "train pairs/s (mean) | weights |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted(out.glob("*/losses.json")):
        d = json.loads(path.read_text())
        lines.append(f"| {d['method']} | {d['network']} | {d['cache_spec']} | {d['device']} | {d['epochs']} | "
                     f"{d['batch_size']} | {d['checkpoint_rule']} | {d['selected_epoch']} | {d['selected_val_loss']:.4f} | "
                     f"{d['mean_train_pairs_s']:.1f} | {Path(d['weights']).name} |")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("ltr.train_estimators", __doc__)
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                        help=f"training methods, one head each (default {' '.join(DEFAULT_METHODS)}; "
                             f"known: {' '.join(METHODS)})")
    parser.add_argument("--cache_spec", default="default", help="feature-cache spec name (default: 'default')")
    parser.add_argument("--out", required=True, help="output folder: weights, loss tables, checkpoints")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    parser.add_argument("--num_shards", type=int, default=None,
                        help="wide spec: number of shards of the cache (default: the spec's, 40)")
    parser.add_argument("--pairs_per_shard", type=int, default=None,
                        help="wide spec: pairs per shard of the cache (default: the spec's, 1000)")
    parser.add_argument("--val_shards", type=int, default=None,
                        help="held-out shards (default: the setting's, 1; the atom_*_wide settings use 2)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for every head (default: the setting's, 8)")
    parser.add_argument("--batch_size", type=int, default=None, help="batch for every head (default: the setting's, 8)")
    parser.add_argument("--seed", type=int, default=1, help="training seed, the same for every head (default 1)")
    parser.add_argument("--workspace", default=None, help="workspace holding feature_cache/ (default: local settings)")
    parser.add_argument("--torch_threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs under OUT/<method>")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")
    parser.add_argument("--resume", action="store_true",
                        help="continue each head after the newest epoch checkpoint in OUT/<method> (same arguments)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    try:
        size = {k: v for k, v in (("num_shards", args.num_shards), ("pairs_per_shard", args.pairs_per_shard))
                if v is not None}
        spec = cache_spec(args.cache_spec, **size)
        overrides = {} if args.val_shards is None else {"val_shards": args.val_shards}
        train_estimators(args.methods, spec, args.out, device=args.device, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, workspace=args.workspace,
                         show_progress=not args.no_progress, use_tensorboard=args.tensorboard,
                         config_overrides=overrides, resume=args.resume)
    except ValueError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
