"""Training objectives for EBMs ``p(y|x) = exp f(x, y) / Z(x)`` and the regression baselines.

Every loss returns the mean over the batch as a scalar tensor. Scores ``f`` are raw network
outputs (unbounded); ``log_q`` is the log density of the proposal that drew the samples
(:class:`ebm.proposals.GaussianMixtureProposal`). All partition-function estimates use
``logsumexp`` so they are stable for scores of any magnitude.

Bad input (wrong shapes, non-finite values) raises ``ValueError`` naming the argument.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

from ebm.proposals import GaussianMixtureProposal

__all__ = [
    "log_partition_is",
    "ml_is_loss",
    "kl_is_loss",
    "nce_loss",
    "nce_plus_true_sample",
    "nce_true_sample",
    "gaussian_label_log_density",
    "gaussian_nll",
    "laplace_nll",
    "l2_regression_loss",
    "l1_regression_loss",
]

_LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------- checks
def _check_tensor(value: torch.Tensor, name: str, dim: Optional[int] = None) -> None:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if dim is not None and value.dim() != dim:
        raise ValueError(f"{name} must have {dim} dimension(s), got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if not torch.isfinite(value.detach()).all():
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def _check_same_shape(a: torch.Tensor, a_name: str, b: torch.Tensor, b_name: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{a_name} {tuple(a.shape)} and {b_name} {tuple(b.shape)} must have the same shape")


def _check_batch(true: torch.Tensor, true_name: str, samples: torch.Tensor, samples_name: str) -> None:
    if true.shape[0] != samples.shape[0]:
        raise ValueError(
            f"{true_name} {tuple(true.shape)} and {samples_name} {tuple(samples.shape)} must have the same batch size B"
        )


# ----------------------------------------------------------------------------- EBM losses
def log_partition_is(score_samples: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Importance-sampling estimate of ``log Z(x_i)`` per example, ``[B, M] -> [B]``:

    ``log Z_i ~= logsumexp_m( f(x_i, y_m) - log q(y_m) ) - log M``, ``y_m ~ q``.

    Shared by ML-IS and KL-IS; inputs are checked by the callers.
    """
    return torch.logsumexp(score_samples - log_q, dim=1) - math.log(score_samples.shape[1])


def ml_is_loss(score_true: torch.Tensor, score_samples: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Maximum likelihood with importance sampling (ML-IS), the seed's objective.

    For one pair with ground truth ``y_i`` and samples ``y_m ~ q(.|y_i)``, m = 1..M:

    ``L_i = logsumexp_m( f(x_i, y_m) - log q(y_m) ) - log M - f(x_i, y_i)``,

    i.e. ``-log p_theta(y_i|x_i)`` with ``Z(x_i) ~= (1/M) sum_m exp f(x_i, y_m) / q(y_m)``.
    The ground truth enters only the data term. Returns ``mean_i L_i``.

    Args:
        score_true: ``[B]`` scores ``f(x_i, y_i)``.
        score_samples: ``[B, M]`` scores ``f(x_i, y_m)``.
        log_q: ``[B, M]`` ``log q(y_m | y_i)``.
    """
    _check_tensor(score_true, "score_true", 1)
    _check_tensor(score_samples, "score_samples", 2)
    _check_tensor(log_q, "log_q", 2)
    _check_same_shape(score_samples, "score_samples", log_q, "log_q")
    _check_batch(score_true, "score_true", score_samples, "score_samples")
    return (log_partition_is(score_samples, log_q) - score_true).mean()


def kl_is_loss(
    score_samples: torch.Tensor,
    log_q: torch.Tensor,
    log_label: torch.Tensor,
    self_normalised: bool = True,
) -> torch.Tensor:
    """KL divergence ``KL(p_label || p_theta)`` up to a constant, by importance sampling (KL-IS, PrDiMP).

    ``KL = E_label[log p_label] - E_label[f] + log Z``. With samples ``y_m ~ q``:

    ``L_i = logsumexp_m( f_m - log q_m ) - log M - sum_m w_m f_m``

    where the label-expectation weights are, by default, self-normalised importance weights

    ``w_m = softmax_m( log p_label(y_m) - log q_m )``  (``self_normalised=True``),

    or the unnormalised estimate ``w_m = (1/M) exp(log p_label(y_m) - log q_m)``
    (``self_normalised=False``, as written in PrDiMP). The constant entropy term is dropped.

    Why self-normalised by default: ``f`` is defined only up to a per-input constant, and
    with ``sum_m w_m = 1`` the loss is *exactly* invariant to ``f -> f + c`` (its gradient
    w.r.t. the scores sums to zero), whereas the unnormalised weights only sum to 1 in
    expectation, adding gradient noise along that constant direction. It also does not
    need the label density to be normalised. It is biased for small M, unbiased as M grows.

    Args:
        score_samples: ``[B, M]`` scores ``f(x_i, y_m)``.
        log_q: ``[B, M]`` proposal log densities ``log q(y_m | y_i)``.
        log_label: ``[B, M]`` label log densities ``log p_label(y_m | y_i)``, e.g. a Gaussian
            with sigma 0.05 in relative space around ``y_i`` (:func:`gaussian_label_log_density`).
        self_normalised: choose the weight estimate (see above).
    """
    _check_tensor(score_samples, "score_samples", 2)
    _check_tensor(log_q, "log_q", 2)
    _check_tensor(log_label, "log_label", 2)
    _check_same_shape(score_samples, "score_samples", log_q, "log_q")
    _check_same_shape(score_samples, "score_samples", log_label, "log_label")
    log_z = log_partition_is(score_samples, log_q)
    log_ratio = (log_label - log_q).detach()
    if self_normalised:
        weights = torch.softmax(log_ratio, dim=1)
    else:
        weights = torch.exp(log_ratio) / score_samples.shape[1]
    expected_score = (weights * score_samples).sum(dim=1)
    return (log_z - expected_score).mean()


def gaussian_label_log_density(samples: torch.Tensor, center: torch.Tensor, sigma: float = 0.05) -> torch.Tensor:
    """Log density of the KL-IS label: isotropic Gaussian ``N(y; y_i, sigma^2 I)``.

    ``log p = sum_d [ -0.5 ((y_d - c_d) / sigma)^2 - log sigma - 0.5 log 2 pi ]``.
    ``samples`` ``[B, M, D]``, ``center`` ``[B, D]`` -> ``[B, M]``. Default sigma 0.05 (relative space).
    """
    return GaussianMixtureProposal([[float(sigma)] * center.shape[-1]]).log_prob(samples, center)


def nce_loss(
    score_true: torch.Tensor, log_q_true: torch.Tensor, score_samples: torch.Tensor, log_q: torch.Tensor
) -> torch.Tensor:
    """Noise-contrastive estimation (NCE / NCE+ of Gustafsson et al., BMVC 2020).

    With ``s_0 = f(x_i, y_(0)) - log q(y_(0)|y_i)`` for the true sample and
    ``s_m = f(x_i, y_m) - log q(y_m|y_i)`` for the M noise samples ``y_m ~ q``:

    ``L_i = -log( exp s_0 / sum_{m=0..M} exp s_m ) = logsumexp(s_0, s_1, ..., s_M) - s_0``.

    NCE uses ``y_(0) = y_i``. NCE+ is the same loss with the true sample jittered,
    ``y_(0) = y_i + beta * nu``, ``nu ~ q(.|0)`` (beta = 0.1 for boxes), and ``log q`` always
    the *noise* mixture's density; :func:`nce_plus_true_sample` draws ``y_(0)`` and its ``log q``.

    Args:
        score_true: ``[B]`` ``f(x_i, y_(0))``.
        log_q_true: ``[B]`` ``log q(y_(0) | y_i)`` under the noise mixture.
        score_samples: ``[B, M]``.
        log_q: ``[B, M]``.
    """
    _check_tensor(score_true, "score_true", 1)
    _check_tensor(log_q_true, "log_q_true", 1)
    _check_tensor(score_samples, "score_samples", 2)
    _check_tensor(log_q, "log_q", 2)
    _check_same_shape(score_true, "score_true", log_q_true, "log_q_true")
    _check_same_shape(score_samples, "score_samples", log_q, "log_q")
    _check_batch(score_true, "score_true", score_samples, "score_samples")
    s_true = score_true - log_q_true
    s_all = torch.cat([s_true[:, None], score_samples - log_q], dim=1)
    return (torch.logsumexp(s_all, dim=1) - s_true).mean()


def nce_true_sample(proposal: GaussianMixtureProposal, y_true: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """NCE true sample: ``y_(0) = y_i`` and ``log q(y_i | y_i)`` under ``proposal`` -> (``[B, D]``, ``[B]``)."""
    return y_true, proposal.log_prob(y_true[:, None, :], y_true)[:, 0]


def nce_plus_true_sample(
    proposal: GaussianMixtureProposal,
    y_true: torch.Tensor,
    beta: float,
    generator: Optional[torch.Generator] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """NCE+ true sample: ``y_(0) ~ q_beta(.|y_i)`` (the mixture with sigmas * beta) and ``log q(y_(0)|y_i)``.

    The log density is that of the *noise* mixture ``proposal`` (not the beta-scaled one), as in
    the NCE+ objective. Returns (``[B, D]``, ``[B]``).
    """
    jittered = proposal.scaled(beta).sample(y_true, 1, generator=generator)  # [B, 1, D]
    return jittered[:, 0, :], proposal.log_prob(jittered, y_true)[:, 0]


# ----------------------------------------------------------------------------- regression baselines
def _as_batch_by_dim(value: torch.Tensor) -> torch.Tensor:
    return value[:, None] if value.dim() == 1 else value


def _check_regression(pairs: list[tuple[torch.Tensor, str]]) -> None:
    first, first_name = pairs[0]
    for value, name in pairs:
        _check_tensor(value, name)
        if value.dim() not in (1, 2):
            raise ValueError(f"{name} must have shape [B, D] or [B], got {tuple(value.shape)}")
        _check_same_shape(first, first_name, value, name)


def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gaussian negative log-likelihood, summed over D, mean over the batch.

    ``L_i = sum_d 0.5 * ( log 2 pi + log_var_d + (target_d - mean_d)^2 / exp(log_var_d) )``.
    Tensors ``[B, D]`` (or ``[B]`` for D = 1).
    """
    _check_regression([(mean, "mean"), (log_var, "log_var"), (target, "target")])
    mean, log_var, target = map(_as_batch_by_dim, (mean, log_var, target))
    nll = 0.5 * (_LOG_2PI + log_var + (target - mean) ** 2 * torch.exp(-log_var))
    return nll.sum(dim=1).mean()


def laplace_nll(mean: torch.Tensor, log_scale: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Laplace negative log-likelihood, summed over D, mean over the batch.

    ``L_i = sum_d ( log 2 + log_scale_d + |target_d - mean_d| / exp(log_scale_d) )``
    (density ``exp(-|y - mu| / b) / (2 b)``, ``b = exp(log_scale)``). Tensors ``[B, D]`` or ``[B]``.
    """
    _check_regression([(mean, "mean"), (log_scale, "log_scale"), (target, "target")])
    mean, log_scale, target = map(_as_batch_by_dim, (mean, log_scale, target))
    nll = math.log(2.0) + log_scale + (target - mean).abs() * torch.exp(-log_scale)
    return nll.sum(dim=1).mean()


def l2_regression_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Direct L2 regression: ``L_i = sum_d (prediction_d - target_d)^2``, mean over the batch."""
    _check_regression([(prediction, "prediction"), (target, "target")])
    prediction, target = map(_as_batch_by_dim, (prediction, target))
    return ((prediction - target) ** 2).sum(dim=1).mean()


def l1_regression_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Direct L1 regression: ``L_i = sum_d |prediction_d - target_d|``, mean over the batch."""
    _check_regression([(prediction, "prediction"), (target, "target")])
    prediction, target = map(_as_batch_by_dim, (prediction, target))
    return (prediction - target).abs().sum(dim=1).mean()
