"""The spectral correlation and filter gradient equal the direct convolutions they replace."""
import pytest
import torch
import torch.nn.functional as F

from pytracking.libs.fourier_correlation import correlate, feature_spectra, filter_gradient, spectral_size


@pytest.mark.parametrize("feature_size,k", [((16, 16), 4), ((9, 13), 3), ((6, 6), 5), ((7, 5), 1), ((10, 8), 2)])
def test_correlation_and_filter_gradient_match_conv2d(feature_size, k):
    gen = torch.Generator().manual_seed(sum(feature_size) + k)
    n, d, p = 5, 6, k // 2
    z = torch.randn(n, d, *feature_size, generator=gen, dtype=torch.float64)
    filt = torch.randn(1, d, k, k, generator=gen, dtype=torch.float64)
    size = spectral_size(feature_size, k)
    spectra = feature_spectra(z, size)
    direct = F.conv2d(z, filt, padding=p)[:, 0]
    scores = correlate(spectra, filt, size, tuple(direct.shape[1:]))
    assert scores.shape == direct.shape
    assert torch.allclose(scores, direct, atol=1e-10)

    g = torch.randn(direct.shape, generator=gen, dtype=torch.float64)
    expected = torch.nn.grad.conv2d_weight(z, filt.shape, g[:, None], padding=p)
    grad = filter_gradient(spectra, g, size, k)
    assert grad.shape == expected.shape
    assert torch.allclose(grad, expected, atol=1e-9)


def test_a_smaller_grid_would_wrap():
    """The grid of spectral_size is the smallest that works: one cell less per axis wraps the filter's taps."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(2, 3, 8, 8, generator=gen, dtype=torch.float64)
    filt = torch.randn(1, 3, 4, 4, generator=gen, dtype=torch.float64)
    direct = F.conv2d(z, filt, padding=2)[:, 0]
    sh, sw = spectral_size((8, 8), 4)
    small = (sh - 1, sw - 1)
    wrapped = correlate(feature_spectra(z, small), filt, small, tuple(direct.shape[1:]))
    assert not torch.allclose(wrapped, direct, atol=1e-6)


def test_float32_error_is_rounding_only():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(100, 64, 16, 16, generator=gen)
    filt = torch.randn(1, 64, 4, 4, generator=gen) * 0.05
    size = spectral_size((16, 16), 4)
    spectra = feature_spectra(z, size)
    direct = F.conv2d(z, filt, padding=2)[:, 0]
    scores = correlate(spectra, filt, size, (17, 17))
    assert float((scores - direct).abs().max()) < 1e-4 * float(direct.abs().max())
    g = torch.randn(100, 17, 17, generator=gen)
    expected = torch.nn.grad.conv2d_weight(z, filt.shape, g[:, None], padding=2)
    grad = filter_gradient(spectra, g, size, 4)
    assert float((grad - expected).abs().max()) < 1e-4 * float(expected.abs().max())
