"""Measure estimator-training throughput: ``python -m ltr.benchmark_training [setting] [options]``.

Builds the setting's job exactly as training would (datasets, loader with its workers, network,
actor, optimiser) and runs ``--iterations`` training steps after ``--warmup`` steps, timing

- pairs per second of the whole step (data + forward + backward + optimiser step), and
- the share of the time spent waiting for the next batch from the loader,

plus the time per batch of the data loading alone in the main process (``--workers 0`` view).
Nothing is written to the workspace. Default setting: ``atom_ebm_cpu`` on the CPU.
"""
from __future__ import annotations

import argparse
import time

import torch

from ltr.admin.cli import add_alias
from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.data.loader import move_to_device
from ltr.run_training import available_settings

__all__ = ["benchmark", "main"]


def benchmark(setting: str = "atom_ebm_cpu", iterations: int = 10, warmup: int = 2, device: str = "cpu",
              workers: int | None = None, batch_size: int | None = None, seed: int = 1,
              amp: str = "off") -> dict[str, float]:
    """Time ``iterations`` training steps of ``bbreg/<setting>``; returns pairs/s and the data-wait share.
    ``amp``: mixed precision as in training (``'off'``, ``'bf16'``, ``'fp16'`` with a gradient scaler)."""
    import importlib

    from ltr.trainers.ltr_trainer import AMP_DTYPES

    from ltr.train_settings.bbreg import common

    if iterations < 1 or warmup < 0:
        raise ValueError(f"iterations must be >= 1 and warmup >= 0, got {iterations}, {warmup}")
    if amp not in AMP_DTYPES:
        raise ValueError(f"amp must be one of {sorted(AMP_DTYPES)}, got {amp!r}")
    settings = TrainSettings(module_name="bbreg", script_name=setting, device=device, workers=workers,
                             batch_size=batch_size, seed=seed, env=load_settings(), show_progress=False,
                             use_tensorboard=False)
    module = importlib.import_module(f"ltr.train_settings.bbreg.{setting}")
    cfg = module.config(settings)
    # enough pairs for warmup + iterations in one epoch
    cfg_batch = batch_size or cfg.batch_size
    cfg.samples_per_epoch = max(cfg.samples_per_epoch, (warmup + iterations) * cfg_batch)
    job = common.build_job(cfg, settings)
    dev = settings.dist.device
    actor, loader, optimizer = job.actor, job.loaders[0], job.optimizer
    actor.to(dev)
    actor.train(True)
    loader.set_epoch(1)
    iterator = iter(loader)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == "fp16")
    wait = compute = 0.0
    pairs = 0
    for step in range(warmup + iterations):
        t0 = time.perf_counter()
        batch = move_to_device(next(iterator), dev)
        t1 = time.perf_counter()
        with torch.autocast(dev.type, dtype=AMP_DTYPES[amp], enabled=amp != "off"):
            loss, _ = actor(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t2 = time.perf_counter()
        if step >= warmup:
            wait += t1 - t0
            compute += t2 - t1
            pairs += batch["test_images"].shape[0]
    total = wait + compute
    return {"setting": setting, "device": str(dev), "workers": job.config.num_workers,
            "batch_size": job.config.batch_size, "output_sz": job.config.output_sz,
            "pairs_per_s": pairs / total, "data_wait_share": wait / total,
            "seconds_per_step": total / iterations, "compute_seconds_per_step": compute / iterations,
            "data_wait_seconds_per_step": wait / iterations, "threads": torch.get_num_threads(), "amp": amp}


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("ltr.benchmark_training", __doc__)
    parser.add_argument("setting", nargs="?", default="atom_ebm_cpu", choices=available_settings("bbreg"),
                        help="train setting of module bbreg (default atom_ebm_cpu)")
    parser.add_argument("--iterations", type=int, default=10, help="timed training steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    parser.add_argument("--workers", type=int, default=None, help="data-loader worker processes (default: the setting's)")
    parser.add_argument("--batch_size", type=int, default=None, help="batch size (default: the setting's)")
    add_alias(parser, "--batch-size", "--batch_size")
    parser.add_argument("--amp", choices=["off", "bf16", "fp16"], default="off",
                        help="mixed precision of the forward pass, as ltr.run_training --amp")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    r = benchmark(args.setting, args.iterations, args.warmup, args.device, args.workers, args.batch_size,
                  amp=args.amp)
    print(f"bbreg/{r['setting']} on {r['device']} ({r['threads']} threads, {r['workers']} workers, amp {r['amp']}, batch "
          f"{r['batch_size']}, {r['output_sz']} px): {r['pairs_per_s']:.2f} pairs/s, "
          f"{r['seconds_per_step']:.2f} s/step (compute {r['compute_seconds_per_step']:.2f} s, waiting for data "
          f"{r['data_wait_seconds_per_step']:.2f} s = {100 * r['data_wait_share']:.0f}%)")


if __name__ == "__main__":
    main()
