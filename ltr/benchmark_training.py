"""Measure estimator-training throughput: ``python -m ltr.benchmark_training [setting] [options]``.

Builds the setting's job exactly as training would (datasets, loader with its workers, network,
actor, optimiser) and runs ``--iterations`` training steps after ``--warmup`` steps, timing

- pairs per second of the whole step (data + forward + backward + optimiser step), and
- the share of the time spent waiting for the next batch from the loader,

plus the time per batch of the data loading alone in the main process (``--workers 0`` view).
Nothing is written to the workspace. Default setting: ``atom_ebm_cpu`` on the CPU. The output line names the
JPEG decoder the loader uses (``jpeg4py`` when libturbojpeg works, else ``opencv``).

Options for running a paper setting on data in the real layouts (``python -m ltr.synthetic.layout_data``):
``--data-root DIR`` points the dataset roots at ``DIR/<name>`` (``lasot``, ``got10k``, ...), ``--datasets lasot
got10k`` keeps only those training datasets of the setting (their weights as set), ``--random-backbone`` builds
the backbone without its ImageNet weights (a throughput figure needs none). ``--losses`` prints the loss of
every step (a short loss curve, e.g. to compare ``--amp off|bf16|fp16`` on the same batches: the pairs depend
only on the seed). The validation loader is never built.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch

from ltr.admin.cli import add_alias, plain_dataset_warnings
from ltr.admin.local_settings import SettingsError, load_settings
from ltr.admin.settings import TrainSettings
from ltr.data.image_loader import jpeg4py_available
from ltr.data.loader import move_to_device
from ltr.run_training import available_settings

if TYPE_CHECKING:
    from ltr.train_settings.bbreg.common import BBRegConfig

__all__ = ["PROFILE_PARTS", "benchmark", "benchmark_config", "data_benchmark", "main", "restrict_datasets"]


def restrict_datasets(cfg: BBRegConfig, names: list[str], setting: str) -> BBRegConfig:
    """``cfg`` with only the training datasets named in ``names`` (and their sampling weights); a
    ``SettingsError`` names the setting's datasets if one of ``names`` is not among them."""
    known = [name for name, _ in cfg.train_datasets]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SettingsError(f"--datasets: setting {setting} has no training dataset {', '.join(unknown)}; "
                            f"it has {', '.join(known)}")
    keep = [i for i, (name, _) in enumerate(cfg.train_datasets) if name in names]
    weights = None if cfg.p_datasets is None else [cfg.p_datasets[i] for i in keep]
    return replace(cfg, train_datasets=[cfg.train_datasets[i] for i in keep], p_datasets=weights)


def benchmark_config(setting: str, settings: TrainSettings, datasets: list[str] | None = None,
                     random_backbone: bool = False) -> BBRegConfig:
    """The config of ``bbreg/<setting>`` as benchmarked: no validation loader, only ``datasets`` (if given),
    no backbone weights file with ``random_backbone``."""
    import importlib

    module = importlib.import_module(f"ltr.train_settings.bbreg.{setting}")
    cfg = replace(module.config(settings), val_samples_per_epoch=0)
    if datasets:
        cfg = restrict_datasets(cfg, list(datasets), setting)
    if random_backbone:
        cfg = replace(cfg, backbone_weights_file=None)
    return cfg


def benchmark(setting: str = "atom_ebm_cpu", iterations: int = 10, warmup: int = 2, device: str = "cpu",
              workers: int | None = None, batch_size: int | None = None, seed: int = 1,
              amp: str = "off", data_root: str | None = None, datasets: list[str] | None = None,
              random_backbone: bool = False) -> dict[str, Any]:
    """Time ``iterations`` training steps of ``bbreg/<setting>``; returns pairs/s, the data-wait share, the
    JPEG decoder and ``losses`` (the loss of every step, warm-up included).

    ``amp``: mixed precision as in training (``'off'``, ``'bf16'``, ``'fp16'`` with a gradient scaler).
    ``data_root``, ``datasets``, ``random_backbone``: see the module docstring."""
    from ltr.trainers.ltr_trainer import AMP_DTYPES

    from ltr.train_settings.bbreg import common

    if iterations < 1 or warmup < 0:
        raise ValueError(f"iterations must be >= 1 and warmup >= 0, got {iterations}, {warmup}")
    if amp not in AMP_DTYPES:
        raise ValueError(f"amp must be one of {sorted(AMP_DTYPES)}, got {amp!r}")
    env = load_settings()
    if data_root is not None:
        env = env.with_data_root(data_root)
    settings = TrainSettings(module_name="bbreg", script_name=setting, device=device, workers=workers,
                             batch_size=batch_size, seed=seed, env=env, show_progress=False,
                             use_tensorboard=False)
    cfg = benchmark_config(setting, settings, datasets, random_backbone)
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
    losses: list[float] = []
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
        losses.append(float(loss.detach()))
        if step >= warmup:
            wait += t1 - t0
            compute += t2 - t1
            pairs += batch["test_images"].shape[0]
    total = wait + compute
    return {"setting": setting, "device": str(dev), "workers": job.config.num_workers,
            "batch_size": job.config.batch_size, "output_sz": job.config.output_sz,
            "pairs_per_s": pairs / total, "data_wait_share": wait / total,
            "seconds_per_step": total / iterations, "compute_seconds_per_step": compute / iterations,
            "data_wait_seconds_per_step": wait / iterations, "threads": torch.get_num_threads(), "amp": amp,
            "jpeg_decoder": "jpeg4py" if jpeg4py_available() else "opencv", "losses": losses,
            "warmup": warmup}


#: profile categories of :func:`data_benchmark`: (part, function names whose *own* time it sums, as cProfile
#: reports them); everything else of an item is "other (sampling, Python)"
PROFILE_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("file read", ("read", "readinto", "open", "fromfile")),
    ("JPEG decode", ("decode", "parse_header", "imdecode", "_decode_jpeg4py", "_decode_opencv",
                     "_decode_opencv_reduced", "cvtColor")),
    ("crop + resize", ("warpAffine", "resize", "copyMakeBorder")),
    ("to tensor, brightness, normalise", ("image_to_tensor", "normalised_pixels", "LUT", "permute", "float",
                                          "div_", "mul_", "clamp_", "sub_", "from_numpy", "stack",
                                          "ascontiguousarray", "contiguous")),
    ("proposals", ("candidates", "_ebm_proposals", "_gaussian_boxes", "sample", "log_prob", "rel_to_xywh",
                   "xywh_to_rel", "manual_seed", "randn", "logsumexp", "cat")),
)


def _item_profile(sampler: Any, indices: range) -> dict[str, float]:
    """Seconds per item by :data:`PROFILE_PARTS` (cProfile, own time of the named functions)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for i in indices:
        sampler[i]
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in stats.values())
    parts = {name: 0.0 for name, _ in PROFILE_PARTS}
    for (_, _, func), (_, _, own, _, _) in stats.items():
        # "decode", "<built-in method torch.stack>", "<method 'read' of '_io.BufferedReader' objects>", "<warpAffine>"
        quoted = re.search(r"'([^']+)'", func)
        bare = quoted.group(1) if quoted else func.strip("<>").split(" ")[-1]
        bare = bare.split(".")[-1]
        for name, funcs in PROFILE_PARTS:
            if bare in funcs:
                parts[name] += own
                break
    parts["other (sampling, Python)"] = total - sum(parts.values())
    return {k: v / len(indices) for k, v in parts.items()}


def _collate_shared(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """The tensors of ``items`` stacked into new shared-memory tensors, as ``default_collate`` does in a worker."""
    out = {}
    for key, value in items[0].items():
        if isinstance(value, torch.Tensor):
            target = torch.empty((len(items), *value.shape), dtype=value.dtype).share_memory_()
            out[key] = torch.stack([item[key] for item in items], out=target)
    return out


def data_benchmark(setting: str = "atom_ebm_cpu", pairs: int = 64, workers: int | None = None,
                   batch_size: int | None = None, seed: int = 1, data_root: str | None = None,
                   datasets: list[str] | None = None, profile: bool = True) -> dict[str, Any]:
    """The data pipeline of ``bbreg/<setting>`` alone, no network.

    - per worker: ``pairs`` items drawn and processed in this process on one torch/OpenCV thread, as one
      loader worker does, then collated into batches in shared memory (as ``default_collate`` does in a
      worker: the IPC of a worker; the main process receives handles);
      ``pairs_per_s_per_worker = 1 / (mean seconds per item + collation per pair)``, and with the median item
      (``..._median``: robust to other processes on a shared machine);
    - ``profile``: the seconds per item by part (:data:`PROFILE_PARTS`), from cProfile over the same items;
    - ``workers > 0``: the loader with that many worker processes, pairs/s over the batches after the first
      round (each worker's first batch), as the training loop would see it.
    """
    import cv2
    import numpy as np

    from ltr.train_settings.bbreg import common

    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    env = load_settings()
    if data_root is not None:
        env = env.with_data_root(data_root)
    settings = TrainSettings(module_name="bbreg", script_name=setting, device="cpu", workers=workers,
                             batch_size=batch_size, seed=seed, env=env, show_progress=False,
                             use_tensorboard=False)
    cfg = benchmark_config(setting, settings, datasets, random_backbone=True)
    batch = batch_size or cfg.batch_size
    cfg.samples_per_epoch = max(cfg.samples_per_epoch, 2 * pairs + 1, batch * (3 * max(workers or 0, 1) + 2))
    job = common.build_job(cfg, settings)
    loader = job.loaders[0]
    sampler = loader.dataset
    sampler.set_epoch(1)
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        sampler[pairs]  # warm-up (imports, caches)
        items, item_seconds = [], []
        for i in range(pairs):
            t = time.perf_counter()
            items.append(sampler[i])
            item_seconds.append(time.perf_counter() - t)
        t1 = time.perf_counter()
        for start in range(0, pairs, batch):
            _collate_shared(items[start:start + batch])
        collate = (time.perf_counter() - t1) / pairs
        profile_parts = _item_profile(sampler, range(pairs, 2 * pairs)) if profile else {}
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)
    result: dict[str, Any] = {
        "setting": setting, "pairs": pairs, "batch_size": batch, "output_sz": cfg.output_sz,
        "pairs_per_s_per_worker": 1.0 / (float(np.mean(item_seconds)) + collate),
        "pairs_per_s_per_worker_median": 1.0 / (float(np.median(item_seconds)) + collate),
        "ms_per_pair": 1000 * (float(np.mean(item_seconds)) + collate),
        "ms_per_pair_collate_ipc": 1000 * collate,
        "profile_ms": {k: 1000 * v for k, v in profile_parts.items()},
        "jpeg_decoder": "jpeg4py" if jpeg4py_available() else "opencv",
        "workers": job.config.num_workers, "pairs_per_s_total": None}
    if job.config.num_workers > 0:
        loader.set_epoch(1)
        iterator = iter(loader)
        for _ in range(job.config.num_workers):  # every worker's first batch: start-up
            next(iterator)
        rounds = 2 * job.config.num_workers
        t0 = time.perf_counter()
        for _ in range(rounds):
            next(iterator)
        result["pairs_per_s_total"] = rounds * loader.batch_size / (time.perf_counter() - t0)
        del iterator
    return result


def _workers_arg(text: str) -> int:
    """``--workers``: a count >= 0 or ``auto`` (:func:`ltr.data.loader.default_num_workers`)."""
    if text == "auto":
        from ltr.data.loader import default_num_workers

        return default_num_workers()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'auto', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'auto', got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("ltr.benchmark_training", __doc__)
    parser.add_argument("setting", nargs="?", default="atom_ebm_cpu", choices=available_settings("bbreg"),
                        help="train setting of module bbreg (default atom_ebm_cpu)")
    parser.add_argument("--iterations", type=int, default=10, help="timed training steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    parser.add_argument("--workers", type=_workers_arg, default=None,
                        help="data-loader worker processes, or 'auto': the machine's CPUs less one "
                             "(default: the setting's)")
    parser.add_argument("--batch_size", type=int, default=None, help="batch size (default: the setting's)")
    add_alias(parser, "--batch-size", "--batch_size")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the pairs depend only on it (default 1)")
    parser.add_argument("--amp", choices=["off", "bf16", "fp16"], default="off",
                        help="mixed precision of the forward pass, as ltr.run_training --amp")
    parser.add_argument("--data_root", default=None,
                        help="dataset roots: DIR/<name> for every dataset folder there (lasot, got10k, ...), "
                             "e.g. from python -m ltr.synthetic.layout_data")
    add_alias(parser, "--data-root", "--data_root")
    parser.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                        help="keep only these training datasets of the setting (e.g. lasot got10k)")
    parser.add_argument("--random_backbone", action="store_true",
                        help="build the backbone without its ImageNet weights file (for throughput only)")
    add_alias(parser, "--random-backbone", "--random_backbone")
    parser.add_argument("--losses", action="store_true", help="print the loss of every step")
    parser.add_argument("--data_only", action="store_true",
                        help="time the data pipeline alone (no network): pairs/s of one worker on one thread, a "
                             "profile by part, and pairs/s of the loader with --workers processes")
    add_alias(parser, "--data-only", "--data_only")
    parser.add_argument("--pairs", type=int, default=64, help="--data_only: pairs timed per worker (default 64)")
    parser.add_argument("--no_profile", action="store_true", help="--data_only: skip the profile")
    add_alias(parser, "--no-profile", "--no_profile")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    plain_dataset_warnings()
    if args.data_only:
        return _main_data_only(args)
    try:
        r = benchmark(args.setting, args.iterations, args.warmup, args.device, args.workers, args.batch_size,
                      seed=args.seed, amp=args.amp, data_root=args.data_root, datasets=args.datasets,
                      random_backbone=args.random_backbone)
    except SettingsError as err:
        print(f"error: benchmark of bbreg/{args.setting}: {err}", file=sys.stderr)
        return 2
    if args.losses:
        for step, loss in enumerate(r["losses"]):
            print(f"step {step:3d}{' (warm-up)' if step < r['warmup'] else ''}: loss {loss:.5f} (amp {r['amp']})")
    print(f"bbreg/{r['setting']} on {r['device']} ({r['threads']} threads, {r['workers']} workers, amp {r['amp']}, batch "
          f"{r['batch_size']}, {r['output_sz']} px, jpeg decoder {r['jpeg_decoder']}): {r['pairs_per_s']:.2f} pairs/s, "
          f"{r['seconds_per_step']:.3f} s/step (compute {r['compute_seconds_per_step']:.3f} s, waiting for data "
          f"{r['data_wait_seconds_per_step']:.3f} s = {100 * r['data_wait_share']:.0f}%)")
    return 0


def _main_data_only(args: argparse.Namespace) -> int:
    try:
        r = data_benchmark(args.setting, args.pairs, args.workers, args.batch_size, seed=args.seed,
                           data_root=args.data_root, datasets=args.datasets, profile=not args.no_profile)
    except (SettingsError, ValueError) as err:
        print(f"error: data benchmark of bbreg/{args.setting}: {err}", file=sys.stderr)
        return 2
    if r["profile_ms"]:
        total = sum(r["profile_ms"].values())
        print(f"profile of one item ({r['pairs']} items, cProfile, one thread; its overhead inflates 'other'):")
        for part, ms in r["profile_ms"].items():
            print(f"  {part:<36s} {ms:7.2f} ms  {100 * ms / total:3.0f}%")
        print(f"  {'collate + shared memory (timed)':<36s} {r['ms_per_pair_collate_ipc']:7.2f} ms")
    print(f"bbreg/{r['setting']} data pipeline ({r['output_sz']} px, jpeg decoder {r['jpeg_decoder']}): "
          f"{r['pairs_per_s_per_worker']:.1f} pairs/s per worker ({r['ms_per_pair']:.2f} ms per pair, one thread; "
          f"{r['pairs_per_s_per_worker_median']:.1f} with the median item)")
    if r["pairs_per_s_total"] is not None:
        print(f"loader with {r['workers']} workers, batch {r['batch_size']}: {r['pairs_per_s_total']:.1f} pairs/s "
              f"in total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
