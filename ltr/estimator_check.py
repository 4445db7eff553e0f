"""Sanity check of a trained box estimator on held-out cached TRAIN-side pairs.

``python -m ltr.estimator_check WEIGHTS [--shards 23] [--steps 1e-4,1e-3 ...] [--num_pairs 200]``

For each held-out pair (shards of :mod:`ltr.data.feature_cache` not used for training) ``num_starts``
start boxes are drawn around the ground truth ``(cx, cy, w, h)``: centre ``+ N(0, (0.1 sqrt(w h))^2)``
per coordinate, size ``* exp(N(0, 0.15^2))`` per side (a tracker-like error). Then

- score networks (EBM / IoU-Net): :func:`ebm.refinement.refine` in relative space
  ``(cx / w0, cy / h0, log w, log h)`` (``(w0, h0)`` = the start box's size) with step lengths
  ``(c, c, s, s)`` for every ``c,s`` given, ``num_iter`` 10, decay 0.5;
- regression networks: one step ``apply_offset(start, mean)``.

Printed: mean IoU to the ground truth of the start boxes and of the refined boxes, and the mean
number of accepted steps. No test-side data is used.
"""
from __future__ import annotations

import argparse
from typing import Sequence

import torch

from ebm.boxes import box_iou, rel_to_xywh, xywh_to_rel
from ebm.refinement import refine

__all__ = ["perturbed_starts", "refine_iou", "regression_iou", "main"]


def perturbed_starts(gt: torch.Tensor, num_starts: int, generator: torch.Generator,
                     centre_sigma: float = 0.1, size_sigma: float = 0.15) -> torch.Tensor:
    """``gt [B, 4]`` xywh -> start boxes ``[B, num_starts, 4]`` (see the module docstring)."""
    if gt.dim() != 2 or gt.shape[-1] != 4:
        raise ValueError(f"gt must be [B, 4], got {tuple(gt.shape)}")
    c = gt[:, :2] + 0.5 * gt[:, 2:]
    side = torch.sqrt(gt[:, 2] * gt[:, 3])[:, None, None]
    noise_c = torch.randn(gt.shape[0], num_starts, 2, generator=generator) * centre_sigma * side
    noise_s = torch.randn(gt.shape[0], num_starts, 2, generator=generator) * size_sigma
    wh = gt[:, None, 2:] * noise_s.exp()
    centre = c[:, None] + noise_c
    return torch.cat([centre - 0.5 * wh, wh], dim=-1)


def _features(cache: dict[str, torch.Tensor], index: torch.Tensor) -> tuple[list, list, torch.Tensor, torch.Tensor]:
    ref = [cache["train_feat_s8"][index].float(), cache["train_feat_s16"][index].float()]
    test = [cache["test_feat_s8"][index].float(), cache["test_feat_s16"][index].float()]
    return ref, test, cache["train_boxes"][index].float(), cache["test_boxes"][index].float()


def refine_iou(net: torch.nn.Module, cache: dict[str, torch.Tensor], starts: torch.Tensor,
               step_length: Sequence[float], num_iter: int = 10, decay: float = 0.5,
               batch: int = 16) -> tuple[float, float, float]:
    """(mean IoU of the starts, mean IoU after refinement, mean accepted steps) of a score network."""
    head = net.bb_regressor
    ious0, ious1, accepted = [], [], []
    step = torch.tensor(step_length, dtype=torch.float32)
    for lo in range(0, starts.shape[0], batch):
        index = torch.arange(lo, min(lo + batch, starts.shape[0]))
        ref, test, ref_bb, gt = _features(cache, index)
        with torch.no_grad():
            modulation = head.get_modulation(ref, ref_bb)
            iou_feat = head.get_iou_feat(test)
        y0_boxes = starts[index]
        ref_wh = y0_boxes[..., 2:].clone()
        y0 = xywh_to_rel(y0_boxes, ref_wh)

        def score_fn(y: torch.Tensor) -> torch.Tensor:
            return head.predict_iou(modulation, iou_feat, rel_to_xywh(y, ref_wh))

        result = refine(score_fn, y0, step, num_iter=num_iter, decay=decay)
        boxes = rel_to_xywh(result.y, ref_wh)
        ious0.append(box_iou(y0_boxes, gt[:, None]).flatten())
        ious1.append(box_iou(boxes, gt[:, None]).flatten())
        accepted.append(result.num_accepted.float().flatten())
    return (float(torch.cat(ious0).mean()), float(torch.cat(ious1).mean()), float(torch.cat(accepted).mean()))


@torch.no_grad()
def regression_iou(net: torch.nn.Module, cache: dict[str, torch.Tensor], starts: torch.Tensor,
                   batch: int = 16) -> tuple[float, float]:
    """(mean IoU of the starts, mean IoU after one regression step) of a regression network."""
    from ltr.models.bbreg.regression_net import apply_offset
    head = net.bb_regressor
    ious0, ious1 = [], []
    for lo in range(0, starts.shape[0], batch):
        index = torch.arange(lo, min(lo + batch, starts.shape[0]))
        ref, test, ref_bb, gt = _features(cache, index)
        mean, _ = head.predict(head.get_modulation(ref, ref_bb), head.get_iou_feat(test), starts[index])
        ious0.append(box_iou(starts[index], gt[:, None]).flatten())
        ious1.append(box_iou(apply_offset(starts[index], mean), gt[:, None]).flatten())
    return float(torch.cat(ious0).mean()), float(torch.cat(ious1).mean())


def build_parser() -> argparse.ArgumentParser:
    from ltr.admin.cli import cli_parser
    parser = cli_parser("ltr.estimator_check", __doc__)
    parser.add_argument("weights", help="estimator weights file (.pth) to check")
    parser.add_argument("--shards", default="23", help="held-out cache shards (comma-separated)")
    parser.add_argument("--num_pairs", type=int, default=200, help="held-out pairs scored (default 200)")
    parser.add_argument("--num_starts", type=int, default=4, help="jittered starting boxes per pair (default 4)")
    parser.add_argument("--steps", nargs="*", default=["1e-4,1e-3", "3e-4,3e-3", "1e-3,1e-2", "3e-3,3e-2"],
                        help="'centre,logsize' step lengths to try")
    parser.add_argument("--num_iter", type=int, default=10, help="refinement iterations (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the jitter (default 0)")
    return parser


def main(argv: list[str] | None = None) -> None:
    from ltr.admin.checkpoint import load_network
    from ltr.admin.local_settings import load_settings
    from ltr.data.feature_cache import CacheSpec, default_cache_root, load_cache

    parser = build_parser()
    args = parser.parse_args(argv)
    spec = CacheSpec()
    cache = load_cache(default_cache_root(load_settings().workspace, spec), spec,
                       [int(s) for s in args.shards.split(",")])
    cache = {k: v[:args.num_pairs] for k, v in cache.items()}
    net = load_network(args.weights).float().eval()
    generator = torch.Generator().manual_seed(args.seed)
    starts = perturbed_starts(cache["test_boxes"].float(), args.num_starts, generator)
    if hasattr(net.bb_regressor, "predict") and not hasattr(net.bb_regressor, "predictor"):
        before, after = regression_iou(net, cache, starts)
        print(f"{args.weights}: regression, {starts.shape[0]} pairs x {args.num_starts} starts: "
              f"IoU {before:.4f} -> {after:.4f}")
        return
    for text in args.steps:
        centre, size = (float(v) for v in text.split(","))
        before, after, acc = refine_iou(net, cache, starts, (centre, centre, size, size), num_iter=args.num_iter)
        print(f"{args.weights}: steps centre {centre:g} log-size {size:g}: {starts.shape[0]} pairs x "
              f"{args.num_starts} starts: IoU {before:.4f} -> {after:.4f} (accepted steps {acc:.2f})")


if __name__ == "__main__":
    main()
