"""Proposal distribution q(y | y_i): a mixture of zero-mean Gaussians on the offset.

``q(y | c) = sum_k w_k prod_d N(y_d - c_d; 0, sigma_kd^2)`` with ``K`` components,
per-dimension standard deviations ``sigma_kd`` and weights ``w_k`` (equal by default).
``log q`` is evaluated in log space,

``log q = logsumexp_k( log w_k + sum_d [ -0.5 ((y_d - c_d) / sigma_kd)^2 - log sigma_kd - 0.5 log 2 pi ] )``,

so a narrow component that underflows in linear space cannot turn the density into
``-inf`` or NaN (offsets of many standard deviations stay finite).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

__all__ = ["GaussianMixtureProposal", "BOX_PROPOSAL_SIGMAS", "BOX_NCE_PLUS_BETA"]

#: Tracking default (DESIGN): K = 2 components in relative box space
#: (cx / w0, cy / h0, log w, log h), sigma 0.05 and 0.5 on every dimension.
BOX_PROPOSAL_SIGMAS: tuple[tuple[float, ...], ...] = ((0.05, 0.05, 0.05, 0.05), (0.5, 0.5, 0.5, 0.5))

#: NCE+ jitter factor for boxes (the true sample is jittered by the mixture scaled by beta).
BOX_NCE_PLUS_BETA: float = 0.1

_LOG_2PI = math.log(2.0 * math.pi)

TensorLike = Union[torch.Tensor, Sequence[Sequence[float]], Sequence[float]]


class GaussianMixtureProposal:
    """Equal- (or given-) weight mixture of ``K`` zero-mean diagonal Gaussians in ``D`` dimensions.

    Args:
        sigmas: ``[K, D]`` standard deviation per component and dimension (all > 0).
            A 1D sequence ``[K]`` is read as ``D = 1``.
        weights: optional ``[K]`` non-negative mixture weights (normalised here);
            equal weights ``1 / K`` when omitted.

    The distribution is stored in float64 on CPU and moved to the dtype/device of the
    tensors it is used with.
    """

    def __init__(self, sigmas: TensorLike, weights: Optional[TensorLike] = None) -> None:
        sig = torch.as_tensor(sigmas, dtype=torch.float64).detach().cpu()
        if sig.dim() == 1:
            sig = sig[:, None]
        if sig.dim() != 2 or sig.numel() == 0:
            raise ValueError(f"sigmas must have shape [K, D] with K, D >= 1, got {tuple(sig.shape)}")
        if not torch.isfinite(sig).all() or (sig <= 0).any():
            raise ValueError(f"sigmas must be finite and > 0, got {sig.tolist()}")
        num_components = sig.shape[0]
        if weights is None:
            w = torch.full((num_components,), 1.0 / num_components, dtype=torch.float64)
        else:
            w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu().reshape(-1)
            if w.shape[0] != num_components:
                raise ValueError(
                    f"weights must have shape [K] = [{num_components}] to match sigmas, got {tuple(w.shape)}"
                )
            if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f"weights must be finite, >= 0 and not all zero, got {w.tolist()}")
            w = w / w.sum()
        self.sigmas = sig
        self.weights = w

    @classmethod
    def for_boxes(cls) -> "GaussianMixtureProposal":
        """The tracking default of DESIGN: K = 2, sigmas 0.05 and 0.5 on all 4 relative-space dimensions."""
        return cls(BOX_PROPOSAL_SIGMAS)

    @property
    def num_components(self) -> int:
        return int(self.sigmas.shape[0])

    @property
    def dim(self) -> int:
        return int(self.sigmas.shape[1])

    @property
    def offset_std(self) -> torch.Tensor:
        """Per-dimension standard deviation of the offset: ``sqrt(sum_k w_k sigma_kd^2)`` ``[D]`` (float64)."""
        return torch.sqrt((self.weights[:, None] * self.sigmas**2).sum(0))

    def scaled(self, beta: float) -> "GaussianMixtureProposal":
        """The same mixture with every sigma multiplied by ``beta`` (> 0); used for the NCE+ jitter."""
        beta = float(beta)
        if not math.isfinite(beta) or beta <= 0:
            raise ValueError(f"beta must be finite and > 0, got {beta}")
        return GaussianMixtureProposal(self.sigmas * beta, self.weights)

    def _check_center(self, center: torch.Tensor) -> None:
        if not isinstance(center, torch.Tensor):
            raise ValueError(f"center must be a torch.Tensor, got {type(center).__name__}")
        if center.dim() != 2 or center.shape[1] != self.dim:
            raise ValueError(f"center must have shape [B, D={self.dim}], got {tuple(center.shape)}")

    def sample(
        self, center: torch.Tensor, num_samples: int, generator: Optional[torch.Generator] = None
    ) -> torch.Tensor:
        """Draw ``num_samples`` samples ``y_m = center + eps_m``, eps ~ mixture. Returns ``[B, M, D]``.

        The component of every sample is drawn independently (multinomial on the weights).
        ``generator`` must live on ``center.device`` if given.
        """
        self._check_center(center)
        if isinstance(num_samples, bool) or int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {num_samples}")
        num_samples = int(num_samples)
        dtype = center.dtype if center.is_floating_point() else torch.float32
        device = center.device
        batch = center.shape[0]
        weights = self.weights.to(device=device, dtype=torch.float64)
        comp = torch.multinomial(
            weights.expand(batch, -1), num_samples, replacement=True, generator=generator
        )  # [B, M]
        sigmas = self.sigmas.to(device=device, dtype=dtype)[comp]  # [B, M, D]
        noise = torch.randn(batch, num_samples, self.dim, generator=generator, device=device, dtype=dtype)
        return center.to(dtype)[:, None, :] + sigmas * noise

    def log_prob(self, samples: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
        """``log q(samples | center)`` ``[B, M]`` for samples ``[B, M, D]`` and centres ``[B, D]``.

        Computed as ``logsumexp_k(log w_k + log N_k)``; finite for any finite offset.
        """
        self._check_center(center)
        if not isinstance(samples, torch.Tensor):
            raise ValueError(f"samples must be a torch.Tensor, got {type(samples).__name__}")
        if samples.dim() != 3 or samples.shape[0] != center.shape[0] or samples.shape[2] != self.dim:
            raise ValueError(
                f"samples must have shape [B={center.shape[0]}, M, D={self.dim}] to match center, "
                f"got {tuple(samples.shape)}"
            )
        dtype = samples.dtype if samples.is_floating_point() else torch.float32
        sigmas = self.sigmas.to(device=samples.device, dtype=dtype)  # [K, D]
        log_w = torch.log(self.weights).to(device=samples.device, dtype=dtype)  # [K]
        offset = (samples.to(dtype) - center.to(dtype)[:, None, :])[:, :, None, :]  # [B, M, 1, D]
        z = offset / sigmas  # [B, M, K, D]
        log_normal = (-0.5 * z**2 - torch.log(sigmas) - 0.5 * _LOG_2PI).sum(-1)  # [B, M, K]
        return torch.logsumexp(log_normal + log_w, dim=-1)

    def __repr__(self) -> str:
        return f"GaussianMixtureProposal(sigmas={self.sigmas.tolist()}, weights={self.weights.tolist()})"
