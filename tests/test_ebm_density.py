"""Grid densities and KL (ebm.density)."""
import math

import pytest
import torch

from ebm.density import grid_1d, grid_2d, kl_divergence, normalised_density


def _log_normal(y, mean, std):
    return -0.5 * ((y - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)


def test_grid_1d_cells():
    points, vol = grid_1d(-1.0, 1.0, 4)
    assert points.shape == (4, 1)
    assert vol == pytest.approx(0.5)
    assert torch.allclose(points[:, 0], torch.tensor([-0.75, -0.25, 0.25, 0.75]))


def test_grid_2d_order_and_volume():
    points, vol = grid_2d((0.0, -1.0), (1.0, 1.0), (2, 4))
    assert points.shape == (8, 2)
    assert vol == pytest.approx(0.5 * 0.5)
    grid = points.reshape(2, 4, 2)
    assert torch.allclose(grid[1, 2], torch.tensor([0.75, 0.25]))
    # closed-form 2D Gaussian integrates to one on the grid
    pts, vol = grid_2d(-6.0, 6.0, 120, dtype=torch.float64)
    dens = torch.exp(_log_normal(pts[:, 0], 0.3, 1.0) + _log_normal(pts[:, 1], -0.2, 0.7))
    assert float(dens.sum() * vol) == pytest.approx(1.0, abs=1e-4)


def test_normalised_density_integrates_to_one_and_is_stable():
    points, vol = grid_1d(-3.0, 3.0, 50, dtype=torch.float64)
    logits = torch.randn(3, 50, dtype=torch.float64) * 1e4  # EBM scores of any magnitude
    dens = normalised_density(logits, vol)
    assert torch.isfinite(dens).all()
    assert torch.allclose(dens.sum(-1) * vol, torch.ones(3, dtype=torch.float64))
    assert torch.allclose(normalised_density(logits + 123.0, vol), dens)
    # a closed-form log density keeps its values
    log_p = _log_normal(points[:, 0], 0.0, 0.5)
    assert torch.allclose(normalised_density(log_p, vol), torch.exp(log_p), rtol=1e-3)


def test_kl_divergence_matches_closed_form():
    points, vol = grid_1d(-15.0, 15.0, 6000, dtype=torch.float64)
    y = points[:, 0]
    p = torch.exp(_log_normal(y, 0.0, 1.0))
    q = torch.exp(_log_normal(y, 1.0, 2.0))
    expected = math.log(2.0) + (1.0 + 1.0) / (2 * 4.0) - 0.5
    assert float(kl_divergence(p, q, vol)) == pytest.approx(expected, abs=1e-4)
    assert float(kl_divergence(p, p, vol)) == pytest.approx(0.0, abs=1e-12)
    assert float(kl_divergence(q, p, vol)) > 0


def test_kl_divergence_is_eps_safe():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    q = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    kl = kl_divergence(p, q, 1.0)
    assert kl.shape == (2,)
    assert torch.isfinite(kl).all()
    assert kl[0] > 5.0  # q = 0 where p > 0: large but finite
    assert kl[1] == 0.0


def test_density_bad_input():
    with pytest.raises(ValueError, match="hi"):
        grid_1d(1.0, 0.0, 10)
    with pytest.raises(ValueError, match="n"):
        grid_1d(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="cell_volume"):
        normalised_density(torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence(torch.ones(3), torch.ones(4), 1.0)
