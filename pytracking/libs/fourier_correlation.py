"""The classifier's filter correlation and its filter gradient, computed on stored feature spectra.

For feature maps ``z_n`` ``[D, H, W]`` and one filter ``f`` ``[1, D, k, k]`` with zero padding
``p = k // 2``, the score map and the filter gradient of ``sum_n <g_n, s_n>`` are

    s_n[y, x] = sum_{c, i, j} f[c, i, j] z_n[c, y + i - p, x + j - p]          (= F.conv2d(z, f, padding=p))
    grad[c, i, j] = sum_n sum_{y, x} g_n[y, x] z_n[c, y + i - p, x + j - p]      (= conv2d_weight)

on an output grid ``Ho x Wo = (H + 2p - k + 1) x (W + 2p - k + 1)``. Both index ``z`` at
``u = y + i - p`` in ``[-p, H + p - 1]``. On a circular grid of size ``S >= H + p`` (per axis) those
indices never wrap onto a stored value, so with ``Z = rfft2(z, S)``:

    s_n    = irfft2(Z_n * K)[:Ho, :Wo],   K = rfft2(f placed at (p - i) mod S)
    grad_c = irfft2(sum_n conj(G_n) Z_{n,c})[(i - p) mod S, (j - p) mod S],   G_n = rfft2(g_n, S)

Per frequency both are matrix-vector products with the ``[n, D]`` matrix of stored spectra, so an
operator application reads the spectra once instead of running a convolution over the samples: the
classifier's conjugate-gradient update (``OnlineClassifier.update``) is several times cheaper than with
``F.conv2d`` and its weight gradient (measured in ``docs/speed.md``). The results equal the direct
convolutions up to float rounding.
"""
from __future__ import annotations

import torch

__all__ = ["spectral_size", "feature_spectra", "filter_spectrum", "map_spectra", "maps_from_spectra",
           "filter_from_spectrum", "inner_product_weights", "correlate_spectrum", "weighted_spectra_sum",
           "correlate", "filter_gradient"]


def spectral_size(feature_size: tuple[int, int], filter_size: int) -> tuple[int, int]:
    """The smallest circular grid ``(H + p, W + p)`` with ``p = filter_size // 2`` on which the correlation
    and its filter gradient do not wrap (module docstring)."""
    p = filter_size // 2
    return feature_size[0] + p, feature_size[1] + p


def feature_spectra(z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``z`` ``[N, D, H, W]`` -> its spectra ``[F, N, D]`` complex (``F = S_h (S_w // 2 + 1)`` frequencies
    first: the layout the per-frequency matrix products read)."""
    spectra = torch.fft.rfft2(z, s=size)                              # [N, D, S_h, S_w // 2 + 1]
    return spectra.flatten(2).permute(2, 0, 1).contiguous()


def filter_spectrum(filt: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``K`` of the module docstring for ``filt`` ``[1, D, k, k]``: ``[F, D]`` complex."""
    k = filt.shape[-1]
    placed = filt.new_zeros((filt.shape[1],) + tuple(size))
    placed[:, :k, :k] = filt[0].flip(-1, -2)                          # f[i] at k - 1 - i ...
    shift = k - 1 - k // 2
    placed = torch.roll(placed, shifts=(-shift, -shift), dims=(1, 2))   # ... then at (p - i) mod S
    return torch.fft.rfft2(placed).flatten(1).T


def map_spectra(g: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Output-grid maps ``g`` ``[N, Ho, Wo]`` (placed at the grid's origin) -> spectra ``[F, N]``."""
    return torch.fft.rfft2(g, s=size).flatten(1).T.contiguous()


def maps_from_spectra(products: torch.Tensor, size: tuple[int, int], output_size: tuple[int, int]) -> torch.Tensor:
    """Spectra ``[F, N]`` -> the ``[N, Ho, Wo]`` corner of their inverse transforms (the correlation's valid grid)."""
    sh, sw = size
    maps = torch.fft.irfft2(products.T.reshape(-1, sh, sw // 2 + 1), s=size)
    return maps[:, : output_size[0], : output_size[1]]


def filter_from_spectrum(summed: torch.Tensor, size: tuple[int, int], filter_size: int) -> torch.Tensor:
    """``sum_n conj(G_n) Z_n`` ``[F, D]`` -> the filter gradient ``[1, D, k, k]``: its inverse transform at lags
    ``(i - p) mod S`` (module docstring)."""
    sh, sw = size
    corr = torch.fft.irfft2(summed.T.reshape(-1, sh, sw // 2 + 1), s=size)   # [D, S_h, S_w]
    p = filter_size // 2
    rows = [(i - p) % sh for i in range(filter_size)]
    cols = [(j - p) % sw for j in range(filter_size)]
    return corr[:, rows][:, :, cols][None]


def inner_product_weights(size: tuple[int, int], dtype: torch.dtype = torch.float32,
                          device: torch.device | str = "cpu") -> torch.Tensor:
    """``[F]`` weights with ``sum_u a[u] b[u] = sum_F weight * Re(A conj(B))`` for real maps ``a, b`` on the grid
    ``size`` and their half spectra (Parseval): ``1 / (S_h S_w)``, doubled for the columns whose conjugate
    twins the half spectrum leaves out (all but column 0 and, for even ``S_w``, column ``S_w / 2``)."""
    sh, sw = size
    cols = torch.full((sw // 2 + 1,), 2.0, dtype=dtype, device=device)
    cols[0] = 1.0
    if sw % 2 == 0:
        cols[-1] = 1.0
    return (cols[None, :] / (sh * sw)).expand(sh, -1).reshape(-1)


def correlate_spectrum(spectra: torch.Tensor, spectrum: torch.Tensor, size: tuple[int, int],
                       output_size: tuple[int, int]) -> torch.Tensor:
    """Score maps ``[N, Ho, Wo]`` of the filter whose spectrum (:func:`filter_spectrum`) is ``spectrum`` ``[F, D]``
    on the samples with spectra ``[F, N, D]``: ``irfft2(Z_n K)`` cut to the valid grid."""
    products = torch.bmm(spectra, spectrum[:, :, None])              # [F, N, 1]
    return maps_from_spectra(products[:, :, 0], size, output_size)


def weighted_spectra_sum(spectra: torch.Tensor, g: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``sum_n conj(G_n) Z_n`` ``[F, D]`` for output-grid weights ``g`` ``[N, Ho, Wo]`` and sample spectra
    ``[F, N, D]``: the spectrum of the filter gradient before :func:`filter_from_spectrum` picks its taps."""
    return torch.bmm(map_spectra(g, size).conj().resolve_conj()[:, None, :], spectra)[:, 0, :]


def correlate(spectra: torch.Tensor, filt: torch.Tensor, size: tuple[int, int],
              output_size: tuple[int, int]) -> torch.Tensor:
    """Score maps ``[N, Ho, Wo]`` of ``filt`` ``[1, D, k, k]`` on the samples whose :func:`feature_spectra`
    (grid ``size``) are ``spectra`` ``[F, N, D]``: ``F.conv2d(z, filt, padding=k // 2)[:, 0]``."""
    return correlate_spectrum(spectra, filter_spectrum(filt, size), size, output_size)


def filter_gradient(spectra: torch.Tensor, g: torch.Tensor, size: tuple[int, int],
                    filter_size: int) -> torch.Tensor:
    """``[1, D, k, k]``: the gradient of ``sum_n <g_n, s_n>`` in the filter for output-grid weights ``g``
    ``[N, Ho, Wo]`` (``torch.nn.grad.conv2d_weight(z, (1, D, k, k), g[:, None], padding=k // 2)``)."""
    return filter_from_spectrum(weighted_spectra_sum(spectra, g, size), size, filter_size)
