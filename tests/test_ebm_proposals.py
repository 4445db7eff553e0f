"""Gaussian-mixture proposal (ebm.proposals)."""
import math

import pytest
import torch

from ebm.density import grid_1d, grid_2d
from ebm.proposals import BOX_PROPOSAL_SIGMAS, GaussianMixtureProposal


def _explicit_density(samples, center, sigmas, weights):
    """q by the textbook formula in float64 linear space (valid where nothing underflows)."""
    offset = (samples - center[:, None, :]).double()
    total = torch.zeros(samples.shape[:2], dtype=torch.float64)
    for k in range(sigmas.shape[0]):
        s = torch.as_tensor(sigmas[k], dtype=torch.float64)
        comp = torch.exp(-0.5 * (offset / s) ** 2) / (math.sqrt(2 * math.pi) * s)
        total += float(weights[k]) * comp.prod(-1)
    return total


def test_log_prob_matches_explicit_formula():
    sigmas = torch.tensor([[0.05, 0.1, 0.05], [0.5, 0.3, 0.8]])
    weights = torch.tensor([0.3, 0.7])
    prop = GaussianMixtureProposal(sigmas, weights)
    center = torch.randn(4, 3, dtype=torch.float64)
    samples = center[:, None, :] + 0.2 * torch.randn(4, 6, 3, dtype=torch.float64)
    expected = torch.log(_explicit_density(samples, center, sigmas, weights))
    assert torch.allclose(prop.log_prob(samples, center), expected, atol=1e-10)


def test_log_prob_integrates_to_one_1d_and_2d():
    prop = GaussianMixtureProposal([[0.05], [0.5]])
    points, vol = grid_1d(-6.0, 6.0, 24000, dtype=torch.float64)
    center = torch.tensor([[0.3]], dtype=torch.float64)
    q = torch.exp(prop.log_prob(points[None], center))
    assert float(q.sum() * vol) == pytest.approx(1.0, abs=1e-5)

    prop2 = GaussianMixtureProposal([[0.1, 0.2], [0.6, 0.4]], weights=[1.0, 3.0])
    points2, vol2 = grid_2d(-5.0, 5.0, 400, dtype=torch.float64)
    q2 = torch.exp(prop2.log_prob(points2[None], torch.zeros(1, 2, dtype=torch.float64)))
    assert float(q2.sum() * vol2) == pytest.approx(1.0, abs=1e-4)


def test_log_prob_finite_far_in_the_tail_float32():
    prop = GaussianMixtureProposal.for_boxes()
    center = torch.zeros(2, 4)
    samples = torch.full((2, 3, 4), 30 * 0.5)  # 30 sigma of the wide component, 300 of the narrow one
    log_q = prop.log_prob(samples, center)
    assert torch.isfinite(log_q).all()
    # the narrow component is negligible: only the wide one (weight 1/2) remains
    z = 30.0
    expected = math.log(0.5) + 4 * (-0.5 * z**2 - math.log(0.5) - 0.5 * math.log(2 * math.pi))
    assert torch.allclose(log_q, torch.full((2, 3), expected), rtol=1e-5)


def test_sample_moments_match_mixture():
    sigmas = [[0.1, 1.0], [1.0, 0.2]]
    weights = [0.25, 0.75]
    prop = GaussianMixtureProposal(sigmas, weights)
    gen = torch.Generator().manual_seed(5)
    center = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    samples = prop.sample(center, 200_000, generator=gen)
    assert samples.shape == (1, 200_000, 2)
    assert samples.dtype == torch.float64
    offset = samples[0] - center
    assert torch.allclose(offset.mean(0), torch.zeros(2, dtype=torch.float64), atol=0.01)
    expected_std = torch.sqrt(torch.tensor([0.25 * 0.01 + 0.75 * 1.0, 0.25 * 1.0 + 0.75 * 0.04], dtype=torch.float64))
    assert torch.allclose(offset.std(0), expected_std, rtol=0.01)
    assert torch.allclose(prop.offset_std, expected_std)
    # E|eps| = sum_k w_k sigma_k sqrt(2 / pi) distinguishes the mixture from a single Gaussian
    expected_abs = torch.tensor(
        [0.25 * 0.1 + 0.75 * 1.0, 0.25 * 1.0 + 0.75 * 0.2], dtype=torch.float64
    ) * math.sqrt(2 / math.pi)
    assert torch.allclose(offset.abs().mean(0), expected_abs, rtol=0.01)


def test_sample_is_reproducible_with_generator():
    prop = GaussianMixtureProposal.for_boxes()
    center = torch.rand(3, 4)
    a = prop.sample(center, 16, generator=torch.Generator().manual_seed(7))
    b = prop.sample(center, 16, generator=torch.Generator().manual_seed(7))
    assert a.shape == (3, 16, 4)
    assert torch.equal(a, b)


def test_for_boxes_and_scaled():
    prop = GaussianMixtureProposal.for_boxes()
    assert prop.num_components == 2 and prop.dim == 4
    assert torch.allclose(prop.sigmas, torch.tensor(BOX_PROPOSAL_SIGMAS, dtype=torch.float64))
    assert torch.allclose(prop.weights, torch.tensor([0.5, 0.5], dtype=torch.float64))
    small = prop.scaled(0.1)
    assert torch.allclose(small.sigmas, prop.sigmas * 0.1)
    assert torch.allclose(small.weights, prop.weights)
    with pytest.raises(ValueError, match="beta"):
        prop.scaled(0.0)


def test_validation():
    with pytest.raises(ValueError, match="sigmas"):
        GaussianMixtureProposal([[0.1, 0.0]])
    with pytest.raises(ValueError, match="sigmas"):
        GaussianMixtureProposal([[0.1, -1.0]])
    with pytest.raises(ValueError, match="weights"):
        GaussianMixtureProposal([[0.1], [0.2]], weights=[1.0])
    prop = GaussianMixtureProposal([[0.1, 0.1]])
    with pytest.raises(ValueError, match="num_samples"):
        prop.sample(torch.zeros(2, 2), 0)
    with pytest.raises(ValueError, match="center"):
        prop.sample(torch.zeros(2, 3), 4)
    with pytest.raises(ValueError, match="samples"):
        prop.log_prob(torch.zeros(3, 4, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="samples"):
        prop.log_prob(torch.zeros(2, 4, 3), torch.zeros(2, 2))
