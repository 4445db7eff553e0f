"""Train a network: ``python -m ltr.run_training <module> <setting> [options]``.

Examples::

    python -m ltr.run_training bbreg atom_ebm_cpu                 # CPU setting, synthetic data
    python -m ltr.run_training bbreg atom_ebm_paper --device cuda  # the paper's setting (needs the datasets)
    python -m ltr.run_training bbreg atom_ebm_cpu --resume         # continue after the last finished epoch

Settings live in ``ltr/train_settings/<module>/<setting>.py`` (``--help`` lists them). Checkpoints go
to ``<workspace>/checkpoints/<module>/<setting>/``, TensorBoard logs to ``<workspace>/tensorboard/...``
(``tensorboard --logdir <workspace>/tensorboard``). The workspace comes from the local settings file
(``local_settings.toml``) unless ``--workspace`` is given.

Multi-GPU (DistributedDataParallel; each process draws its own share of the pairs)::

    # 1 node x N GPUs
    torchrun --standalone --nproc_per_node=N -m ltr.run_training bbreg atom_ebm_paper --device cuda

    # M nodes x N GPUs: run on every node, with node_rank 0..M-1 and the address of node 0
    torchrun --nnodes=M --nproc_per_node=N --node_rank=<k> --master_addr=<node0 host> --master_port=29500 \\
        -m ltr.run_training bbreg atom_ebm_paper --device cuda

The batch size of a setting is per process; the pairs per epoch are split over the processes.
On CPU, torchrun with ``--device cpu`` uses the gloo backend.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import pkgutil
import sys
from pathlib import Path

from ltr.admin.cli import add_alias, plain_dataset_warnings
from ltr.admin.local_settings import SettingsError, load_settings

__all__ = ["available_settings", "main", "run_training"]


def available_settings(module: str = "bbreg") -> list[str]:
    """Names of the train settings of ``module`` (modules with a ``run`` function; 'common' excluded)."""
    package = importlib.import_module(f"ltr.train_settings.{module}")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_") and m.name != "common")


def _describe(module: str, name: str) -> str:
    path = Path(__file__).resolve().parent / "train_settings" / module / f"{name}.py"
    try:
        text = path.read_text()
        start = text.index('"""') + 3
        return text[start:text.index('"""', start)].strip().splitlines()[0]
    except (OSError, ValueError, IndexError):
        return ""


def run_training(module: str, name: str, device: str | None = None, resume: bool = False,
                 epochs: int | None = None, workers: int | None = None, seed: int = 1,
                 workspace: str | None = None, batch_size: int | None = None, show_progress: bool = True,
                 use_tensorboard: bool = True, visdom_port: int | None = None, amp: str = "off",
                 data_root: str | None = None) -> dict:
    """Import ``ltr.train_settings.<module>.<name>`` and call its ``run(settings)``.

    ``data_root``: dataset roots at ``data_root/<name>`` for the dataset folders there (see
    :meth:`ltr.admin.local_settings.Settings.with_data_root`) instead of the local settings' roots."""
    from ltr.admin.multigpu import barrier, cleanup_distributed
    from ltr.admin.settings import TrainSettings

    if name not in available_settings(module):
        raise ValueError(f"unknown setting {module}/{name}; available: {', '.join(available_settings(module))}")
    env = load_settings()
    if data_root is not None:
        env = env.with_data_root(data_root)
    settings = TrainSettings(module_name=module, script_name=name, device=device, resume=resume, epochs=epochs,
                             workers=workers, batch_size=batch_size, seed=seed,
                             workspace=Path(workspace) if workspace else None, env=env,
                             show_progress=show_progress, use_tensorboard=use_tensorboard,
                             visdom_port=visdom_port, amp=amp)
    setting = importlib.import_module(f"ltr.train_settings.{module}.{name}")
    try:
        result = setting.run(settings)
        # the DDP wrapper and its reducer sit in reference cycles: free them now, while the process group they
        # hold work of is alive, not at interpreter exit after it is destroyed; then every rank has finished
        # (rank 0 wrote the last checkpoint) before any tears the group down. Without either, a rank was seen
        # to abort at exit ("terminate called without an active exception").
        gc.collect()
        barrier()
        return result
    finally:
        cleanup_distributed()


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {n:18s} {_describe('bbreg', n)}" for n in available_settings("bbreg"))
    parser = argparse.ArgumentParser(
        prog="python -m ltr.run_training", description="Train a network with one of the train settings.",
        epilog=f"settings of module bbreg:\n{listing}\n\nMulti-GPU: see the docstring of ltr/run_training.py "
               "(torchrun --nproc_per_node=N -m ltr.run_training ...).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", choices=["bbreg"], help="train-settings module")
    parser.add_argument("setting", help="name of the setting (see below)")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the local settings' device)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint of the setting")
    parser.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    parser.add_argument("--workers", type=int, default=None, help="override the data-loader worker count")
    parser.add_argument("--batch_size", type=int, default=None, help="override the batch size (per process)")
    add_alias(parser, "--batch-size", "--batch_size")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--workspace", default=None, help="folder for checkpoints and logs (default: local settings)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar (e.g. for log files)")
    add_alias(parser, "--no-progress", "--no_progress")
    parser.add_argument("--use_visdom", action="store_true",
                        help="stream loss curves to the visdom server (start it with python -m pytracking.visdom_server)")
    parser.add_argument("--visdom_port", type=int, default=8097, help="visdom server port on 127.0.0.1")
    parser.add_argument("--amp", choices=["off", "bf16", "fp16"], default="off",
                        help="mixed precision of the forward pass: bf16, or fp16 with loss scaling (default off)")
    parser.add_argument("--data_root", default=None,
                        help="dataset roots: DIR/<name> for every dataset folder there (lasot, got10k, ...) instead "
                             "of the local settings' roots")
    add_alias(parser, "--data-root", "--data_root")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    plain_dataset_warnings()
    if args.setting not in available_settings(args.module):
        parser.error(f"unknown setting {args.setting!r}; available: {', '.join(available_settings(args.module))}")
    try:
        run_training(args.module, args.setting, device=args.device, resume=args.resume, epochs=args.epochs,
                     workers=args.workers, seed=args.seed, workspace=args.workspace, batch_size=args.batch_size,
                     show_progress=not args.no_progress,
                     visdom_port=args.visdom_port if args.use_visdom else None, amp=args.amp,
                     data_root=args.data_root)
    except SettingsError as err:
        print(f"error: setting {args.module}/{args.setting} (ltr/train_settings/{args.module}/{args.setting}.py) "
              f"cannot run: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
