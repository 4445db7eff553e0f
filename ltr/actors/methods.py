"""The training methods of the box estimator: one :class:`Method` record per name.

A method is the loss (from :mod:`ebm.losses`, adapted to its actor's signature), the candidate
boxes the processing draws for it (``proposal_mode``, a :data:`ltr.data.processing.MODES` entry),
the network family it trains (registry names ``<family>_<backbone>``) and the actor that runs it.
Settings name a method by string (``BBRegConfig.method``); :func:`get_method` resolves it. Adding a
loss touches two files: the loss in ``ebm/losses.py`` and its record here.

=========  ===============  ============  ==========================================================
name       proposal mode    family        loss
=========  ===============  ============  ==========================================================
ml-is      ebm              atom          ``logsumexp_m(f_m - log q_m) - log M - f(y_gt)``
kl-is      ebm              atom          KL to a Gaussian label (sigma 0.05, relative space) at the gt
nce        ebm              atom          ``logsumexp(s_0..s_M) - s_0``, ``s = f - log q``
nce+       nce+             atom          as NCE, the true sample beta-jittered
iou        iou              atom          MSE to ``2 IoU - 1``
gauss      regression       regression    Gaussian NLL of the relative offsets
laplace    regression       regression    Laplace NLL (``log_var`` read as log-scale)
l2, l1     regression       regression    L2 / L1 on the mean
=========  ===============  ============  ==========================================================
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from ebm import losses
from ebm.boxes import xywh_to_rel
from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import EBMActor, EBMBatch, IoUNetActor, RegressionActor

__all__ = ["METHODS", "Method", "get_method", "ml_is", "kl_is", "nce"]

#: network families: registry names are ``<family>_<backbone>`` (e.g. ``atom_resnet18``, ``regression_tiny``)
FAMILIES = ("atom", "regression")


# --- the EBM losses in the EBMActor's signature (see ebm.losses for the formulas) ----------------------
def ml_is(batch: EBMBatch) -> Tensor:
    """ML-IS: :func:`ebm.losses.ml_is_loss` on the samples (the true sample's ``log q`` is unused)."""
    return losses.ml_is_loss(batch.true_score, batch.sample_scores, batch.log_q[:, 1:])


def kl_is(batch: EBMBatch, label_sigma: float = 0.05) -> Tensor:
    """KL-IS: :func:`ebm.losses.kl_is_loss` with a Gaussian label of std ``label_sigma`` (relative space)
    centred on the ground truth."""
    ref_wh = batch.gt[:, 2:]
    rel = xywh_to_rel(batch.proposals[:, 1:], ref_wh[:, None, :])
    log_label = losses.gaussian_label_log_density(rel, xywh_to_rel(batch.gt, ref_wh), label_sigma)
    return losses.kl_is_loss(batch.sample_scores, batch.log_q[:, 1:], log_label)


def nce(batch: EBMBatch) -> Tensor:
    """NCE / NCE+: :func:`ebm.losses.nce_loss` (they differ in how the processing draws the true sample)."""
    return losses.nce_loss(batch.true_score, batch.log_q[:, 0], batch.sample_scores, batch.log_q[:, 1:])


# --- the regression losses in the RegressionActor's signature (mean, log_var, target) --------------------
def _l2(mean: Tensor, log_var: Tensor, target: Tensor) -> Tensor:
    return losses.l2_regression_loss(mean, target)


def _l1(mean: Tensor, log_var: Tensor, target: Tensor) -> Tensor:
    return losses.l1_regression_loss(mean, target)


@dataclass(frozen=True)
class Method:
    """One training method: ``loss`` (handed to ``actor``), the processing's ``proposal_mode`` and the
    network ``family``."""

    name: str
    loss: Callable[..., Tensor]
    proposal_mode: str
    family: str
    actor: type[BaseActor]

    def network_name(self, backbone: str) -> str:
        """The registry constructor of this method's network on ``backbone`` (e.g. ``'resnet18'``)."""
        return f"{self.family}_{backbone}"

    def build_network(self, backbone: str, **kwargs: Any) -> nn.Module:
        """``registry.build(self.network_name(backbone), **kwargs)``."""
        from ltr.models import registry
        return registry.build(self.network_name(backbone), **kwargs)

    def make_actor(self, net: nn.Module) -> BaseActor:
        """The actor training ``net`` with this method's loss."""
        return self.actor(net, self.loss, self.name)  # type: ignore[call-arg]


def _methods(*records: Method) -> dict[str, Method]:
    return {m.name: m for m in records}


METHODS: dict[str, Method] = _methods(
    Method("ml-is", ml_is, "ebm", "atom", EBMActor),
    Method("kl-is", kl_is, "ebm", "atom", EBMActor),
    Method("nce", nce, "ebm", "atom", EBMActor),
    Method("nce+", nce, "nce+", "atom", EBMActor),
    Method("iou", nn.functional.mse_loss, "iou", "atom", IoUNetActor),
    Method("gauss", losses.gaussian_nll, "regression", "regression", RegressionActor),
    Method("laplace", losses.laplace_nll, "regression", "regression", RegressionActor),
    Method("l2", _l2, "regression", "regression", RegressionActor),
    Method("l1", _l1, "regression", "regression", RegressionActor),
)


def get_method(name: str | Method, where: str = "") -> Method:
    """The :class:`Method` called ``name`` (a Method is returned as is). ValueError names the unknown
    name, the closest known one and ``where`` (e.g. the settings file)."""
    if isinstance(name, Method):
        return name
    if name in METHODS:
        return METHODS[name]
    close = difflib.get_close_matches(str(name), list(METHODS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    prefix = f"{where}: " if where else ""
    raise ValueError(f"{prefix}unknown method {name!r} ({hint}known: {', '.join(METHODS)})")
