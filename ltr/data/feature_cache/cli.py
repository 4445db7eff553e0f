"""The CLI ``python -m ltr.data.feature_cache``: build backbone-feature cache shards of the default spec."""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ltr.admin.cli import add_alias
from ltr.data.feature_cache.shards import ensure_cache
from ltr.data.feature_cache.spec import CacheSpec, default_cache_root

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.data.feature_cache",
                                     description="Build backbone-feature cache shards (default spec).")
    parser.add_argument("--root", default=None, help="cache folder (default: <workspace>/feature_cache/<spec>)")
    parser.add_argument("--shards", default=None, help="comma-separated shard ids (default: all)")
    parser.add_argument("--torch_threads", type=int, default=None, help="torch intra-op threads")
    add_alias(parser, "--threads", "--torch_threads")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    spec = CacheSpec()
    if args.root is None:
        from ltr.admin.local_settings import load_settings
        root = default_cache_root(load_settings().workspace, spec)
    else:
        root = Path(args.root)
    shards = None if args.shards is None else [int(s) for s in args.shards.split(",") if s.strip()]
    ensure_cache(root, spec, shards)
