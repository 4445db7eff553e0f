"""The CLI ``python -m ltr.data.feature_cache``: build backbone-feature cache shards of the ``default`` spec
(the shipped weights' cache) or of the ``wide`` spec (parallel rendering, backbone on ``--device``)."""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ltr.admin.cli import add_alias
from ltr.data.feature_cache.shards import ensure_cache
from ltr.data.feature_cache.spec import WIDE_NUM_SHARDS, WIDE_PAIRS_PER_SHARD, cache_spec, default_cache_root

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.data.feature_cache",
                                     description="Build backbone-feature cache shards.")
    parser.add_argument("--spec", choices=["default", "wide"], default="default",
                        help="cache spec: default (the shipped weights' 24 x 200 pairs) or wide (photo-bank pairs)")
    parser.add_argument("--root", default=None, help="cache folder (default: <workspace>/feature_cache/<spec>)")
    parser.add_argument("--shards", default=None, help="comma-separated shard ids (default: all)")
    parser.add_argument("--torch_threads", type=int, default=None, help="torch intra-op threads")
    add_alias(parser, "--threads", "--torch_threads")
    parser.add_argument("--processes", type=int, default=1,
                        help="wide spec: render processes feeding the one backbone process (default 1)")
    parser.add_argument("--device", default="cpu", help="wide spec: device of the backbone (cpu | cuda | cuda:N)")
    parser.add_argument("--batch_crops", type=int, default=None,
                        help="wide spec: crops per backbone call (default 256 on CUDA, 16 on a CPU, where a 256-crop "
                             "batch spent most of its time in page faults: 362 ms a pair, 26 of 40 s system time)")
    parser.add_argument("--bank", default=None, help="wide spec: photo bank folder (default: <workspace>/photo_bank)")
    parser.add_argument("--num_shards", type=int, default=None,
                        help=f"wide spec: number of shards (default {WIDE_NUM_SHARDS})")
    parser.add_argument("--pairs_per_shard", type=int, default=None,
                        help=f"wide spec: pairs per shard (default {WIDE_PAIRS_PER_SHARD})")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    if args.spec == "default" and (args.num_shards or args.pairs_per_shard or args.bank or args.processes != 1
                                   or args.device != "cpu"):
        parser.error("--num_shards, --pairs_per_shard, --bank, --processes and --device apply to --spec wide only")
    try:
        spec = (cache_spec("default") if args.spec == "default" else
                cache_spec("wide", pairs_per_shard=args.pairs_per_shard, num_shards=args.num_shards, bank=args.bank))
    except FileNotFoundError as exc:
        parser.error(str(exc))
    if args.root is None:
        from ltr.admin.local_settings import load_settings
        root = default_cache_root(load_settings().workspace, spec)
    else:
        root = Path(args.root)
    shards = None if args.shards is None else [int(s) for s in args.shards.split(",") if s.strip()]
    if args.spec == "default":
        ensure_cache(root, spec, shards)
        return
    from ltr.data.feature_cache.wide import ensure_wide_cache

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {device}: CUDA is not available here")
    batch_crops = args.batch_crops or (256 if device.startswith("cuda") else 16)
    paths = ensure_wide_cache(root, spec, shards, bank=args.bank, processes=args.processes, device=device,
                              batch_crops=batch_crops)
    print(f"{root}: {len(paths)} shards of spec {spec.name}")
