"""Actors of the box estimator: EBM (ML-IS, KL-IS, NCE, NCE+), IoU-Net and direct regression.

Batches come from :class:`ltr.data.processing.BBRegProcessing` collated over the batch:
``train_images [B, 1, 3, S, S]``, ``train_boxes [B, 1, 4]``, ``test_images [B, T, 3, S, S]``,
``test_boxes [B, T, 4]`` and candidate boxes ``[B, T, N, 4]``. Each (reference, test frame) is one
pair; :func:`flatten_pairs` turns them into network inputs with ``P = B * T`` pairs.

Batches of cached backbone features (:mod:`ltr.data.feature_cache`) carry ``train_feat_s8``,
``train_feat_s16`` ``[B, 1, C, H, W]`` and ``test_feat_s8``, ``test_feat_s16`` ``[B, T, C, H, W]``
instead of images; :func:`run_estimator` then runs only ``net.bb_regressor`` on them (the backbone
is frozen, so the result is the same as running the whole network on the images).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ltr.actors.base_actor import BaseActor

__all__ = ["EBMActor", "EBMBatch", "EBMLoss", "IoUNetActor", "RegressionActor", "RegressionLoss", "flatten_pairs",
           "run_estimator", "CACHED_FEATURE_KEYS"]

#: keys of a batch of cached backbone features (stride 8 and stride 16 maps of reference and test crops)
CACHED_FEATURE_KEYS = ("train_feat_s8", "train_feat_s16", "test_feat_s8", "test_feat_s16")



@dataclass
class EBMBatch:
    """What an EBM loss sees of one batch (``P`` pairs, ``M`` samples, the true sample first):
    ``true_score [P]``, ``sample_scores [P, M]``, ``log_q [P, M + 1]`` (log density of every proposal
    under the noise mixture, relative space), ``proposals [P, M + 1, 4]`` and ``gt [P, 4]`` (xywh, crop px)."""

    true_score: Tensor
    sample_scores: Tensor
    log_q: Tensor
    proposals: Tensor
    gt: Tensor


#: an EBM training loss: the batch's scores -> scalar (batch mean); see :mod:`ltr.actors.methods`
EBMLoss = Callable[[EBMBatch], Tensor]
#: a regression loss ``(mean [P, 4], log_var [P, 4], target [P, 4]) -> scalar`` (relative-space offsets)
RegressionLoss = Callable[[Tensor, Tensor, Tensor], Tensor]


def flatten_pairs(data: dict[str, Any], boxes_key: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(train_imgs [P, 3, S, S], test_imgs [P, 3, S, S], train_bb [P, 4], boxes [P, N, 4])``.

    The reference frame (``train_images[:, 0]``) is repeated for every test frame of its pair.
    """
    train_images, test_images = data["train_images"], data["test_images"]
    if train_images.dim() != 5 or test_images.dim() != 5:
        raise ValueError(f"train_images/test_images must be [B, n, 3, H, W], got {tuple(train_images.shape)} and "
                         f"{tuple(test_images.shape)}")
    num_test = test_images.shape[1]
    train_imgs = train_images[:, 0].repeat_interleave(num_test, dim=0)
    train_bb = data["train_boxes"][:, 0].repeat_interleave(num_test, dim=0)
    return train_imgs, test_images.flatten(0, 1), train_bb, data[boxes_key].flatten(0, 1)


def _as_float32(output: Any) -> Any:
    """Floating tensors of a network output (a tensor or a tuple of them) in float32: under mixed
    precision (autocast) the scores may be bf16/fp16, and the losses are computed in float32."""
    if isinstance(output, Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, tuple):
        return tuple(_as_float32(o) for o in output)
    return output


def run_estimator(net: nn.Module, data: dict[str, Any], boxes_key: str) -> tuple[Any, Tensor]:
    """``(net output for the boxes of data[boxes_key] flattened to [P, N, 4], those boxes)``, the
    output's floating tensors in float32.

    Image batches run the whole network; cached-feature batches (:data:`CACHED_FEATURE_KEYS`) run
    ``net.bb_regressor`` on the features (a DDP-wrapped network is refused there: its gradient
    synchronisation would be bypassed).
    """
    if "train_feat_s8" not in data:
        train_imgs, test_imgs, train_bb, boxes = flatten_pairs(data, boxes_key)
        return _as_float32(net(train_imgs, test_imgs, train_bb, boxes)), boxes
    missing = [k for k in CACHED_FEATURE_KEYS if k not in data]
    if missing:
        raise ValueError(f"data: cached-feature batch lacks {missing}")
    if isinstance(net, nn.parallel.DistributedDataParallel):
        raise ValueError("net: cached-feature training does not support DistributedDataParallel")
    num_test = data["test_feat_s8"].shape[1]
    feat_ref = [data[k][:, 0].repeat_interleave(num_test, dim=0) for k in ("train_feat_s8", "train_feat_s16")]
    feat_test = [data[k].flatten(0, 1) for k in ("test_feat_s8", "test_feat_s16")]
    train_bb = data["train_boxes"][:, 0].repeat_interleave(num_test, dim=0)
    boxes = data[boxes_key].flatten(0, 1)
    return _as_float32(net.bb_regressor(feat_ref, feat_test, train_bb, boxes)), boxes


def _finite(*tensors: Tensor) -> bool:
    return all(bool(torch.isfinite(t.detach()).all()) for t in tensors)


class EBMActor(BaseActor):
    """EBM box estimator ``f(x, y)`` trained with ``loss`` (an :data:`EBMLoss`; the methods' losses are
    in :mod:`ltr.actors.methods`), logged as ``Loss/<name>``.

    ``proposals [.., M + 1, 4]`` hold the true sample first (the ground truth for ML-IS/KL-IS/NCE,
    the beta-jittered one for NCE+) and ``proposal_log_q`` their log density under the noise
    mixture in relative space.
    """

    def __init__(self, net: nn.Module, loss: EBMLoss, name: str):
        if not callable(loss):
            raise ValueError(f"loss must be callable (an EBMLoss), got {loss!r}")
        super().__init__(net, objective=loss)
        self.name = name

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        scores, proposals = run_estimator(self.net, data, "proposals")  # [P, M + 1]
        log_q = data["proposal_log_q"].flatten(0, 1)
        if not _finite(scores):
            return self.nan_loss(scores.device), {"Loss/total": float("nan")}
        true_score, sample_scores = scores[:, 0], scores[:, 1:]
        loss = self.objective(EBMBatch(true_score, sample_scores, log_q, proposals, data["test_boxes"].flatten(0, 1)))
        with torch.no_grad():
            rank = (sample_scores > true_score[:, None]).float().mean()
        stats = {"Loss/total": float(loss.detach()), f"Loss/{self.name}": float(loss.detach()),
                 "score_true_minus_mean": float((true_score - sample_scores.mean(1)).mean().detach()),
                 "frac_samples_above_true": float(rank)}
        return loss, stats


class IoUNetActor(BaseActor):
    """IoU-Net (ATOM): ``loss(scores, iou_target)`` with ``iou_target = 2 * IoU - 1`` (mean squared error by default)."""

    def __init__(self, net: nn.Module, loss: Callable[[Tensor, Tensor], Tensor] | None = None, name: str = "iou"):
        super().__init__(net, loss if loss is not None else nn.MSELoss())
        self.name = name

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        scores, _ = run_estimator(self.net, data, "proposals")  # [P, N]
        target = data["iou_target"].flatten(0, 1)
        if not _finite(scores):
            return self.nan_loss(scores.device), {"Loss/total": float("nan")}
        loss = self.objective(scores, target)
        return loss, {"Loss/total": float(loss.detach()), f"Loss/{self.name}": float(loss.detach())}


class RegressionActor(BaseActor):
    """Direct box regression from initial boxes: ``loss(mean, log_var, target)`` (a :data:`RegressionLoss`,
    e.g. Gaussian NLL) on the relative-space offsets ``regression_target`` (see
    :mod:`ltr.models.bbreg.regression_net`), logged as ``Loss/<name>``."""

    def __init__(self, net: nn.Module, loss: RegressionLoss, name: str):
        if not callable(loss):
            raise ValueError(f"loss must be callable (a RegressionLoss), got {loss!r}")
        super().__init__(net, loss)
        self.name = name

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        (mean, log_var), _ = run_estimator(self.net, data, "init_boxes")
        target = data["regression_target"].flatten(0, 1).reshape(-1, 4)
        mean, log_var = mean.reshape(-1, 4), log_var.reshape(-1, 4)
        if not _finite(mean, log_var):
            return self.nan_loss(mean.device), {"Loss/total": float("nan")}
        loss = self.objective(mean, log_var, target)
        with torch.no_grad():
            err = (mean - target).abs().mean()
        return loss, {"Loss/total": float(loss.detach()), f"Loss/{self.name}": float(loss.detach()),
                      "mean_abs_error": float(err)}
