"""The online target classifier of the ATOM-style tracker.

Model, for a feature map ``x`` ``[C, H, W]`` (stride-16 backbone features of the search patch):

    z = P * x            1x1 projection, P: [D, C]  (D = projection_dim, e.g. 64)
    s = f (*) z          one k x k filter f: [1, D, k, k], zero padding k // 2
                         -> score map [Ho, Wo] = [H + 2 (k // 2) - k + 1, ...]

Score cell ``i`` is centred on feature coordinate ``i + (k - 1) / 2 - k // 2`` (cells), i.e. on
patch pixel ``(i + (k - 1) / 2 - k // 2 + 0.5) * cell`` with ``cell = patch size / H``.

Features are normalised per sample so that ``mean(x^2) = 1`` (comparable across backbones).

Loss over the weighted sample memory ``{(x_n, y_n, w_n)}`` with Gaussian labels ``y_n``:

    L(P, f) = sum_n w_n ||s_n - y_n||^2 + lambda_f ||f||^2 + lambda_P ||P||^2

First frame: Gauss-Newton over (P, f) with CG inner solves (``pytracking.libs.optimization``),
P initialised by PCA of the first-frame features, f by zero. Later updates keep P fixed, so L is
quadratic in f and a few warm-started CG iterations on the normal equations
``(sum_n w_n Z_n^T Z_n + lambda_f) f = sum_n w_n Z_n^T y_n`` do the update. The memory stores the
projected features' spectra, on which both the correlation and its filter gradient are per-frequency
matrix-vector products (``pytracking.libs.fourier_correlation``).

Memory: fixed capacity; a new sample gets weight ``lr`` while the others decay by ``(1 - lr)``
(exponential forgetting); it replaces the lowest-weight non-initial sample when full; the initial
samples are never replaced and their total weight is kept >= ``init_samples_minimum_weight``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pytracking.libs.fourier_correlation import (correlate, correlate_spectrum, feature_spectra, filter_from_spectrum,
                                                 filter_gradient, filter_spectrum, inner_product_weights,
                                                 spectral_size, weighted_spectra_sum)
from pytracking.libs.optimization import Linearization, conjugate_gradient, gauss_newton
from pytracking.tracker.atom.settings import ClassifierSettings

__all__ = ["OnlineClassifier", "gaussian_label", "find_peaks", "strong_peaks", "PeakResult",
           "first_frame_linearization"]


def gaussian_label(center: torch.Tensor, sigma: float, output_size: tuple[int, int]) -> torch.Tensor:
    """Labels ``exp(-|p - c|^2 / (2 sigma^2))`` on the score grid; ``center`` ``[N, 2]`` (x, y) in
    score-cell coordinates (cell index units); returns ``[N, Ho, Wo]``."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    center = center.reshape(-1, 2)
    ho, wo = output_size
    ys = torch.arange(ho, dtype=center.dtype, device=center.device)
    xs = torch.arange(wo, dtype=center.dtype, device=center.device)
    dy = (ys[None, :] - center[:, 1:2]) ** 2
    dx = (xs[None, :] - center[:, 0:1]) ** 2
    return torch.exp(-(dy[:, :, None] + dx[:, None, :]) / (2 * sigma ** 2))


def first_frame_linearization(spectra: torch.Tensor, size: tuple[int, int], y: torch.Tensor, filter_size: int,
                              filter_reg: float, projection_reg: float) -> Linearization:
    """The first frame's problem over ``(P, f)`` for :func:`pytracking.libs.optimization.gauss_newton`:

        L(P, f) = (1 / N) sum_n ||f (*) (P x_n) - y_n||^2 + lambda_f ||f||^2 + lambda_P ||P||^2

    for normalised features ``x`` ``[N, C, H, W]`` and labels ``y`` ``[N, Ho, Wo]``, linearised without autograd on
    the features' spectra ``X = feature_spectra(x, size)`` ``[F, N, C]`` with ``size = spectral_size((H, W),
    filter_size)`` (``pytracking.libs.fourier_correlation``). With ``K(f)`` the filter's spectrum,
    ``f (*) (P x)`` has the spectrum ``X P^T K(f)``; for output-grid weights ``g`` (spectra ``G``) and
    ``H = sum_n conj(G_n) X_n`` the transposed Jacobian is ``d/df = filter taps of H P^T`` and
    ``d/dP = Re(sum_F w_F conj(K(f)) conj(H)^T)`` (Parseval, ``w`` = :func:`inner_product_weights`): the gradient in
    ``z = P x`` (the correlation of ``g`` with ``f``) never has to be formed. Equals the autograd Gauss-Newton
    on the convolutions to float rounding (``tests/test_classifier.py``)."""
    weight = 1.0 / y.shape[0]
    out = (y.shape[1], y.shape[2])
    freq_weights = inner_product_weights(size, y.dtype, y.device)[:, None]

    def linearize(v: list[torch.Tensor]):
        proj, filt = v
        proj_c = proj.to(spectra.dtype)                                  # [D, C]
        k_filt = filter_spectrum(filt, size)                             # [F, D]

        def scores(effective: torch.Tensor) -> torch.Tensor:           # effective filter spectrum [F, C]
            return correlate_spectrum(spectra, effective, size, out)

        def transposed(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = weighted_spectra_sum(spectra, g, size)                   # [F, C]
            d_filt = filter_from_spectrum(h @ proj_c.T, size, filter_size)
            d_proj = ((freq_weights * k_filt.conj()).T @ h.conj()).real
            return d_proj, d_filt

        error = scores(k_filt @ proj_c) - y
        loss = weight * error.pow(2).sum() + filter_reg * filt.pow(2).sum() + projection_reg * proj.pow(2).sum()
        g_proj, g_filt = transposed(weight * error)
        rhs = [-(g_proj + projection_reg * proj), -(g_filt + filter_reg * filt)]

        def normal_op(p: list[torch.Tensor]) -> list[torch.Tensor]:
            d_proj, d_filt = p
            jp = scores(filter_spectrum(d_filt, size) @ proj_c + k_filt @ d_proj.to(spectra.dtype))
            a_proj, a_filt = transposed(weight * jp)
            return [a_proj + projection_reg * d_proj, a_filt + filter_reg * d_filt]

        return float(loss), rhs, normal_op

    return linearize


@dataclass
class PeakResult:
    """Main and second peak of a score map: positions (x, y) in score cells (sub-cell refined for
    the main peak) and values."""

    position: tuple[float, float]
    score: float
    second_position: tuple[float, float]
    second_score: float


def _subcell(scores: torch.Tensor, iy: int, ix: int) -> tuple[float, float]:
    """Parabola fit through the peak and its two neighbours, per axis (offset clamped to +-0.5)."""

    def offset(m: float, c: float, p: float) -> float:
        denom = m - 2 * c + p
        return float(np.clip(0.5 * (m - p) / denom, -0.5, 0.5)) if denom < -1e-12 else 0.0

    ho, wo = scores.shape
    dx = offset(float(scores[iy, ix - 1]), float(scores[iy, ix]), float(scores[iy, ix + 1])) if 0 < ix < wo - 1 else 0.0
    dy = offset(float(scores[iy - 1, ix]), float(scores[iy, ix]), float(scores[iy + 1, ix])) if 0 < iy < ho - 1 else 0.0
    return ix + dx, iy + dy


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], radius: tuple[float, float]) -> torch.Tensor:
    """Cells ``[Ho, Wo]`` (bool) inside the ellipse of radii ``radius`` (x, y cells, at least 0.5) around ``centre``
    (x, y cells): a peak's neighbourhood."""
    ys = torch.arange(shape[0], dtype=torch.float32)[:, None]
    xs = torch.arange(shape[1], dtype=torch.float32)[None, :]
    rx, ry = max(radius[0], 0.5), max(radius[1], 0.5)
    return ((xs - centre[0]) / rx) ** 2 + ((ys - centre[1]) / ry) ** 2 <= 1.0


def find_peaks(scores: torch.Tensor, exclusion_radius: tuple[float, float]) -> PeakResult:
    """Highest peak of ``scores`` ``[Ho, Wo]`` and the highest value outside the ellipse of radii
    ``exclusion_radius`` (x, y cells) around it (the distractor candidate)."""
    if scores.dim() != 2:
        raise ValueError(f"scores must be [Ho, Wo], got {tuple(scores.shape)}")
    scores = scores.detach().float().cpu()
    ho, wo = scores.shape
    flat = int(torch.argmax(scores))
    iy, ix = divmod(flat, wo)
    masked = scores.masked_fill(_ellipse((ho, wo), (ix, iy), exclusion_radius), -math.inf)
    flat2 = int(torch.argmax(masked))
    iy2, ix2 = divmod(flat2, wo)
    second = float(masked[iy2, ix2])
    return PeakResult(
        position=_subcell(scores, iy, ix),
        score=float(scores[iy, ix]),
        second_position=(float(ix2), float(iy2)),
        second_score=second if math.isfinite(second) else -math.inf,
    )


def strong_peaks(scores: torch.Tensor, exclusion_radius: tuple[float, float], min_score: float, max_count: int,
                 excluded: tuple[float, float] | None = None) -> list[tuple[float, float, float]]:
    """Up to ``max_count`` peaks ``(x, y, score)`` (score cells, best first) of ``scores`` ``[Ho, Wo]`` with a score of
    at least ``min_score``, each one's ellipse of radii ``exclusion_radius`` (x, y cells) masked before the next is
    taken; with ``excluded`` (x, y cells) that point's ellipse is masked first (the target's own peak)."""
    if scores.dim() != 2:
        raise ValueError(f"scores must be [Ho, Wo], got {tuple(scores.shape)}")
    remaining = scores.detach().float().cpu().clone()

    def mask(x: float, y: float) -> None:
        remaining.masked_fill_(_ellipse(tuple(remaining.shape), (x, y), exclusion_radius), -math.inf)

    if excluded is not None:
        mask(*excluded)
    peaks: list[tuple[float, float, float]] = []
    while len(peaks) < max_count:
        iy, ix = divmod(int(torch.argmax(remaining)), remaining.shape[1])
        value = float(remaining[iy, ix])
        if not value >= min_score:
            break
        peaks.append((float(ix), float(iy), value))
        mask(float(ix), float(iy))
    return peaks


class OnlineClassifier:
    """Projection + filter classifier trained online (see the module docstring for the formulas).

    Its numbers come from :class:`pytracking.tracker.atom.settings.ClassifierSettings` (defaults
    there): ``projection_dim``, ``filter_size``, ``filter_reg``, ``projection_reg``, ``init_GN_iter``,
    ``init_CG_iter`` (total), ``CG_iter``, ``sample_memory_size``, ``init_samples_minimum_weight``,
    ``projection_init`` 'pca' | 'randn'.
    """

    def __init__(self, settings: ClassifierSettings | None = None, device: torch.device | str = "cpu") -> None:
        self.settings = settings = settings if settings is not None else ClassifierSettings()
        if not isinstance(settings, ClassifierSettings):
            raise ValueError(f"settings must be a ClassifierSettings, got {type(settings).__name__}")
        self.device = torch.device(device)
        self.projection_dim = settings.projection_dim
        self.filter_size = settings.filter_size
        if self.filter_size < 1 or self.projection_dim < 1:
            raise ValueError("filter_size and projection_dim must be >= 1")
        self.padding = self.filter_size // 2
        self.filter_reg = settings.filter_reg
        self.projection_reg = settings.projection_reg
        self.memory_size = settings.sample_memory_size
        self.min_init_weight = settings.init_samples_minimum_weight
        self.projection: torch.Tensor | None = None
        self.filter: torch.Tensor | None = None
        self.init_losses: list[float] = []

    # --- geometry -----------------------------------------------------------------------
    @property
    def cell_offset(self) -> float:
        """Feature coordinate (cells) of score cell 0's centre: ``(k - 1) / 2 - k // 2``."""
        return (self.filter_size - 1) / 2 - self.padding

    def output_size(self, feature_size: tuple[int, int]) -> tuple[int, int]:
        """Score-map size ``(Ho, Wo)`` for feature size ``(H, W)``."""
        k, p = self.filter_size, self.padding
        return feature_size[0] + 2 * p - k + 1, feature_size[1] + 2 * p - k + 1

    def patch_to_output(self, points: np.ndarray, cell_size: tuple[float, float]) -> np.ndarray:
        """Patch pixels (x, y) -> score-cell coordinates."""
        return np.asarray(points, dtype=np.float64) / np.asarray(cell_size) - 0.5 - self.cell_offset

    def output_to_patch(self, points: np.ndarray, cell_size: tuple[float, float]) -> np.ndarray:
        """Score-cell coordinates (x, y) -> patch pixels."""
        return (np.asarray(points, dtype=np.float64) + self.cell_offset + 0.5) * np.asarray(cell_size)

    # --- model --------------------------------------------------------------------------
    @staticmethod
    def normalise(features: torch.Tensor) -> torch.Tensor:
        """``x / sqrt(mean(x^2))`` per sample."""
        scale = features.pow(2).mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12).sqrt()
        return features / scale

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """Normalised features ``[N, C, H, W]`` -> projected ``[N, D, H, W]``."""
        if self.projection is None:
            raise RuntimeError("classifier is not initialised")
        return F.conv2d(self.normalise(features.to(self.device)), self.projection[:, :, None, None])

    def _filter_scores(self, projected: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
        return F.conv2d(projected, filt, padding=self.padding)[:, 0]

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """Score maps ``[N, Ho, Wo]`` for backbone features ``[N, C, H, W]``."""
        if self.filter is None:
            raise RuntimeError("classifier is not initialised")
        with torch.inference_mode():
            return self._filter_scores(self.project(features), self.filter)

    def _pca_projection(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        rows = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
        rows = rows - rows.mean(dim=0, keepdim=True)
        cov = rows.T @ rows / max(rows.shape[0] - 1, 1)
        _, eigvec = torch.linalg.eigh(cov)
        d = min(self.projection_dim, x.shape[1])
        proj = eigvec[:, -d:].flip(1).T.contiguous()          # [d, C], leading components first
        if d < self.projection_dim:                            # fewer channels than D: pad randomly
            extra = torch.randn(self.projection_dim - d, x.shape[1], generator=generator).to(x.device, x.dtype)
            proj = torch.cat([proj, extra / math.sqrt(x.shape[1])])
        return proj

    # --- training -----------------------------------------------------------------------
    def initialize(self, features: torch.Tensor, labels: torch.Tensor,
                   generator: torch.Generator | None = None) -> None:
        """Train on the first frame's (augmented) samples: ``features`` ``[N, C, H, W]``, ``labels``
        ``[N, Ho, Wo]``; all get weight ``1 / N`` and become the protected initial samples. ``generator``
        (a CPU generator): the random projection's draws (``projection_init='random'``, or PCA padding when the
        features have fewer channels than ``projection_dim``); None: torch's global generator."""
        if features.dim() != 4 or labels.dim() != 3 or features.shape[0] != labels.shape[0]:
            raise ValueError(f"features [N, C, H, W] and labels [N, Ho, Wo] must agree, got "
                             f"{tuple(features.shape)} and {tuple(labels.shape)}")
        expected = self.output_size((features.shape[2], features.shape[3]))
        if tuple(labels.shape[1:]) != expected:
            raise ValueError(f"labels must be [N, {expected[0]}, {expected[1]}], got {tuple(labels.shape)}")
        n = features.shape[0]
        if n >= self.memory_size:
            raise ValueError(f"sample_memory_size ({self.memory_size}) must exceed the number of initial samples ({n})")
        with torch.inference_mode(False):
            x = self.normalise(features.detach().to(self.device).clone().float())
            y = labels.detach().to(self.device).clone().float()
            if self.settings.projection_init == "pca":
                proj = self._pca_projection(x, generator)
            else:
                proj = torch.randn(self.projection_dim, x.shape[1], generator=generator).to(self.device)
                proj = proj / math.sqrt(x.shape[1])
            filt = torch.zeros(1, self.projection_dim, self.filter_size, self.filter_size, device=self.device)
            self._spectral_size = spectral_size((x.shape[2], x.shape[3]), self.filter_size)
            x_spectra = feature_spectra(x, self._spectral_size)         # [F, n, C]
            problem = first_frame_linearization(x_spectra, self._spectral_size, y, self.filter_size, self.filter_reg,
                                                self.projection_reg)
            num_gn = max(1, self.settings.init_GN_iter)
            num_cg = max(1, self.settings.init_CG_iter // num_gn)
            result = gauss_newton(None, [proj, filt], num_gn_iter=num_gn, num_cg_iter=num_cg, linearize=problem)
            proj, filt = result.x  # type: ignore[misc]
            self.init_losses = result.losses
        self.projection = proj.detach()
        self.filter = filt.detach()

        with torch.inference_mode():
            spectra = x_spectra @ self.projection.T.to(x_spectra.dtype)     # Z = X P^T by linearity: [F, n, D]
            self._memory_spectra = spectra.new_zeros((spectra.shape[0], self.memory_size, spectra.shape[2]))
            self._memory_spectra[:, :n] = spectra
        self._memory_y = torch.zeros((self.memory_size,) + tuple(y.shape[1:]), device=self.device)
        self._weights = torch.zeros(self.memory_size, device=self.device)
        self._memory_y[:n] = y
        self._weights[:n] = 1.0 / n
        self.num_init_samples = n
        self.num_samples = n

    def add_initial_samples(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Append samples (``features`` ``[M, C, H, W]``, ``labels`` ``[M, Ho, Wo]``) to the protected initial ones,
        right after :meth:`initialize` (the projection is kept); every initial sample then has weight ``1 / n``. Call
        :meth:`update` to re-fit the filter."""
        if self.filter is None or self.num_samples != self.num_init_samples:
            raise RuntimeError("add_initial_samples: only right after initialize")
        m, n = features.shape[0], self.num_samples
        if labels.shape[0] != m or tuple(labels.shape[1:]) != tuple(self._memory_y.shape[1:]):
            raise ValueError(f"labels must be [{m}, {self._memory_y.shape[1]}, {self._memory_y.shape[2]}], got "
                             f"{tuple(labels.shape)}")
        if n + m >= self.memory_size:
            raise ValueError(f"sample_memory_size ({self.memory_size}) must exceed the number of initial samples "
                             f"({n + m})")
        with torch.inference_mode():
            z = self.project(features.to(self.device))
            self._memory_spectra[:, n:n + m] = feature_spectra(z, self._spectral_size)
            self._memory_y[n:n + m] = labels.to(self.device, torch.float32)
            self._weights[:n + m] = 1.0 / (n + m)
        self.num_init_samples = self.num_samples = n + m

    @property
    def sample_weights(self) -> torch.Tensor:
        """Current weights of the stored samples (sum 1)."""
        return self._weights[: self.num_samples].clone()

    def add_sample(self, features: torch.Tensor, label: torch.Tensor, learning_rate: float) -> int:
        """Store one sample (``features`` ``[1, C, H, W]`` or ``[C, H, W]``, ``label`` ``[Ho, Wo]``)
        with weight ``learning_rate``; returns the memory slot used."""
        if not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate}")
        if features.dim() == 3:
            features = features[None]
        with torch.inference_mode():
            z = self.project(features)[0]
            w = self._weights
            w[: self.num_samples] *= 1.0 - learning_rate
            if self.num_samples < self.memory_size:
                slot = self.num_samples
                self.num_samples += 1
            else:
                slot = self.num_init_samples + int(torch.argmin(w[self.num_init_samples:]))
            self._memory_spectra[:, slot] = feature_spectra(z[None], self._spectral_size)[:, 0]
            self._memory_y[slot] = label.to(self.device, torch.float32)
            w[slot] = learning_rate
            init_total = float(w[: self.num_init_samples].sum())
            if init_total < self.min_init_weight:
                rest_total = float(w[self.num_init_samples: self.num_samples].sum())
                w[: self.num_init_samples] *= self.min_init_weight / max(init_total, 1e-12)
                w[self.num_init_samples: self.num_samples] *= (1.0 - self.min_init_weight) / max(rest_total, 1e-12)
            w[: self.num_samples] /= w[: self.num_samples].sum()
        return slot

    def update(self, num_cg_iter: int | None = None) -> list[float]:
        """A few warm-started CG iterations on the filter's normal equations (P fixed); returns
        the CG residual norms."""
        if self.filter is None:
            raise RuntimeError("classifier is not initialised")
        iters = int(self.settings.CG_iter if num_cg_iter is None else num_cg_iter)
        n = self.num_samples
        spectra, y, w = self._memory_spectra[:, :n], self._memory_y[:n], self._weights[:n, None, None]
        size, out, k, reg = self._spectral_size, tuple(self._memory_y.shape[1:]), self.filter_size, self.filter_reg

        def normal_op(v: list[torch.Tensor]) -> list[torch.Tensor]:
            s = correlate(spectra, v[0], size, out)
            return [filter_gradient(spectra, w * s, size, k) + reg * v[0]]

        with torch.inference_mode():
            rhs = filter_gradient(spectra, w * y, size, k)
            result = conjugate_gradient(normal_op, [rhs], x0=[self.filter], num_iter=iters)
            self.filter = result.x[0].detach()  # type: ignore[index]
        return result.residual_norms

    def training_loss(self) -> float:
        """``L(P, f)`` over the current memory (for diagnostics and tests)."""
        n = self.num_samples
        with torch.inference_mode():
            s = correlate(self._memory_spectra[:, :n], self.filter, self._spectral_size, tuple(self._memory_y.shape[1:]))
            data = (self._weights[:n, None, None] * (s - self._memory_y[:n]) ** 2).sum()
            return float(data + self.filter_reg * self.filter.pow(2).sum()
                         + self.projection_reg * self.projection.pow(2).sum())
