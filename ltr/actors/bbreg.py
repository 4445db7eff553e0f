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

from typing import Any

import torch
from torch import Tensor, nn

from ebm import losses
from ebm.boxes import xywh_to_rel
from ltr.actors.base_actor import BaseActor

__all__ = ["EBMActor", "IoUNetActor", "RegressionActor", "flatten_pairs", "run_estimator", "EBM_METHODS",
           "REGRESSION_LOSSES", "CACHED_FEATURE_KEYS"]

#: keys of a batch of cached backbone features (stride 8 and stride 16 maps of reference and test crops)
CACHED_FEATURE_KEYS = ("train_feat_s8", "train_feat_s16", "test_feat_s8", "test_feat_s16")

EBM_METHODS = ("ml-is", "kl-is", "nce", "nce+")
REGRESSION_LOSSES = ("gauss", "laplace", "l2", "l1")


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
    """EBM box estimator ``f(x, y)`` trained with ``method`` (see :mod:`ebm.losses`).

    ``proposals [.., M + 1, 4]`` hold the true sample first (the ground truth for ML-IS/KL-IS/NCE,
    the beta-jittered one for NCE+) and ``proposal_log_q`` their log density under the noise
    mixture in relative space. Losses:

    - ``'ml-is'``: ``logsumexp_m(f_m - log q_m) - log M - f(y_gt)``;
    - ``'kl-is'``: KL to a Gaussian label (``label_sigma`` 0.05, relative space) around the gt;
    - ``'nce'`` / ``'nce+'``: ``logsumexp(s_0..s_M) - s_0``, ``s = f - log q``.
    """

    def __init__(self, net: nn.Module, method: str = "ml-is", label_sigma: float = 0.05):
        if method not in EBM_METHODS:
            raise ValueError(f"method must be one of {EBM_METHODS}, got {method!r}")
        super().__init__(net, objective=None)
        self.method = method
        self.label_sigma = float(label_sigma)

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        scores, proposals = run_estimator(self.net, data, "proposals")  # [P, M + 1]
        log_q = data["proposal_log_q"].flatten(0, 1)
        if not _finite(scores):
            return self.nan_loss(scores.device), {"Loss/total": float("nan")}
        true_score, sample_scores = scores[:, 0], scores[:, 1:]
        if self.method == "ml-is":
            loss = losses.ml_is_loss(true_score, sample_scores, log_q[:, 1:])
        elif self.method == "kl-is":
            gt = data["test_boxes"].flatten(0, 1)
            ref_wh = gt[:, 2:]
            rel = xywh_to_rel(proposals[:, 1:], ref_wh[:, None, :])
            log_label = losses.gaussian_label_log_density(rel, xywh_to_rel(gt, ref_wh), self.label_sigma)
            loss = losses.kl_is_loss(sample_scores, log_q[:, 1:], log_label)
        else:
            loss = losses.nce_loss(true_score, log_q[:, 0], sample_scores, log_q[:, 1:])
        with torch.no_grad():
            rank = (sample_scores > true_score[:, None]).float().mean()
        stats = {"Loss/total": float(loss.detach()), f"Loss/{self.method}": float(loss.detach()),
                 "score_true_minus_mean": float((true_score - sample_scores.mean(1)).mean().detach()),
                 "frac_samples_above_true": float(rank)}
        return loss, stats


class IoUNetActor(BaseActor):
    """IoU-Net (ATOM): mean squared error between the scores and ``iou_target = 2 * IoU - 1``."""

    def __init__(self, net: nn.Module, objective: nn.Module | None = None):
        super().__init__(net, objective if objective is not None else nn.MSELoss())

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        scores, _ = run_estimator(self.net, data, "proposals")  # [P, N]
        target = data["iou_target"].flatten(0, 1)
        if not _finite(scores):
            return self.nan_loss(scores.device), {"Loss/total": float("nan")}
        loss = self.objective(scores, target)
        return loss, {"Loss/total": float(loss.detach()), "Loss/iou": float(loss.detach())}


class RegressionActor(BaseActor):
    """Direct box regression from initial boxes: ``loss`` in ``'gauss'`` (Gaussian NLL, default),
    ``'laplace'`` (Laplace NLL, ``log_var`` read as log-scale), ``'l2'``, ``'l1'`` on the
    relative-space offsets ``regression_target`` (see :mod:`ltr.models.bbreg.regression_net`)."""

    def __init__(self, net: nn.Module, loss: str = "gauss"):
        if loss not in REGRESSION_LOSSES:
            raise ValueError(f"loss must be one of {REGRESSION_LOSSES}, got {loss!r}")
        objective = {"gauss": losses.gaussian_nll, "laplace": losses.laplace_nll,
                     "l2": losses.l2_regression_loss, "l1": losses.l1_regression_loss}[loss]
        super().__init__(net, objective)
        self.loss_name = loss

    def __call__(self, data: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        (mean, log_var), _ = run_estimator(self.net, data, "init_boxes")
        target = data["regression_target"].flatten(0, 1).reshape(-1, 4)
        mean, log_var = mean.reshape(-1, 4), log_var.reshape(-1, 4)
        if not _finite(mean, log_var):
            return self.nan_loss(mean.device), {"Loss/total": float("nan")}
        if self.loss_name in ("gauss", "laplace"):
            loss = self.objective(mean, log_var, target)
        else:
            loss = self.objective(mean, target)
        with torch.no_grad():
            err = (mean - target).abs().mean()
        return loss, {"Loss/total": float(loss.detach()), f"Loss/{self.loss_name}": float(loss.detach()),
                      "mean_abs_error": float(err)}
