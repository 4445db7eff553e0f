"""Algorithm S1 (ebm.refinement.refine)."""
import pytest
import torch
from torch import nn

from ebm.refinement import RefinementResult, refine

SCALES = torch.tensor([4.0, 1.0, 0.5], dtype=torch.float64)  # per-dimension curvature of the test objective


def _concave(center):
    """f(y) = -||A (y - c)||^2 with A = diag(SCALES); maximum 0 at y = c; grad = -2 A^2 (y - c)."""

    def score_fn(y):
        return -(((y - center) * SCALES) ** 2).sum(-1)

    return score_fn


class _Recorder:
    """Wraps a score function and records every evaluation (detached)."""

    def __init__(self, score_fn):
        self.score_fn = score_fn
        self.calls = []

    def __call__(self, y):
        score = self.score_fn(y)
        self.calls.append(score.detach().clone())
        return score


def test_reaches_the_maximum_with_per_dimension_steps():
    gen = torch.Generator().manual_seed(0)
    center = torch.randn(2, 1, 3, generator=gen, dtype=torch.float64)
    y0 = center + torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    step = 0.3 / SCALES**2  # contraction |1 - 2 * 0.3| = 0.4 per step in every dimension
    result = refine(_concave(center), y0, step, num_iter=30)
    assert isinstance(result, RefinementResult)
    assert result.y.shape == (2, 5, 3) and result.score.shape == (2, 5) and result.num_accepted.shape == (2, 5)
    assert torch.allclose(result.y, center.expand_as(y0), atol=1e-6)
    assert (result.score > -1e-10).all()
    assert (result.num_accepted == 30).all()


def test_too_large_step_decays_and_never_accepts_a_worse_point():
    center = torch.zeros(1, 1, 3, dtype=torch.float64)
    y0 = torch.tensor([[[1.0, -2.0, 0.5], [0.3, 0.3, 0.3]]], dtype=torch.float64)
    recorder = _Recorder(_concave(center))
    initial = recorder.score_fn(y0)
    result = refine(recorder, y0, 1.0, num_iter=25, decay=0.5)  # 1.0 overshoots the steep dimension
    assert len(recorder.calls) == 26  # one forward per iteration plus the initial point
    calls = torch.stack(recorder.calls)  # [T + 1, B, N]
    # the kept score is the best ever seen (every improvement accepted, nothing worse kept)
    assert torch.allclose(result.score, calls.max(0).values)
    assert (result.score >= initial).all()
    assert (result.score > initial + 0.1).all()
    assert (result.num_accepted < 25).all()  # some steps were rejected
    # the returned score is f at the returned y (reused, not stale)
    assert torch.allclose(result.score, recorder.score_fn(result.y))


def test_candidates_are_independent():
    center = torch.zeros(1, 1, 3, dtype=torch.float64)
    y0 = torch.tensor([[[0.0, 0.0, 0.0], [1.0, -1.0, 2.0]]], dtype=torch.float64)  # the first is at the maximum
    both = refine(_concave(center), y0, 0.05, num_iter=8)
    alone = refine(_concave(center), y0[:, 1:], 0.05, num_iter=8)
    assert torch.equal(both.y[:, 1:], alone.y)
    assert both.num_accepted[0, 0] == 0
    assert torch.equal(both.y[:, 0], y0[:, 0])


def test_works_under_no_grad_and_leaves_parameter_grads_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    for p in net.parameters():
        p.grad = torch.full_like(p, 7.0)

    def score_fn(y):
        return net(y)[..., 0] - (y**2).sum(-1)

    y0 = torch.randn(3, 4, 4)
    with torch.no_grad():
        initial = score_fn(y0)
        result = refine(score_fn, y0, torch.tensor([0.1, 0.1, 0.05, 0.05]), num_iter=10)
    assert not result.y.requires_grad and not result.score.requires_grad
    assert (result.score >= initial).all()
    assert (result.score > initial).any()
    for p in net.parameters():
        assert torch.equal(p.grad, torch.full_like(p, 7.0))


def test_non_finite_candidates_are_rejected():
    def score_fn(y):
        score = -((y - 2.0) ** 2).sum(-1)
        return torch.where(y[..., 0] > 0.5, torch.full_like(score, float("nan")), score)

    y0 = torch.zeros(2, 3, 2)
    result = refine(score_fn, y0, 1.0, num_iter=12)
    assert torch.isfinite(result.y).all() and torch.isfinite(result.score).all()
    assert (result.y[..., 0] <= 0.5).all()
    assert (result.score >= score_fn(y0)).all()


def test_zero_iterations_and_validation():
    y0 = torch.randn(1, 2, 3)
    result = refine(lambda y: -(y**2).sum(-1), y0, 0.1, num_iter=0)
    assert torch.equal(result.y, y0)
    assert torch.allclose(result.score, -(y0**2).sum(-1))
    with pytest.raises(ValueError, match="y0"):
        refine(lambda y: y.sum(-1), torch.zeros(2, 3), 0.1)
    with pytest.raises(ValueError, match="score_fn"):
        refine(lambda y: y.sum(), torch.zeros(1, 2, 3), 0.1)
    with pytest.raises(ValueError, match="step_length"):
        refine(lambda y: y.sum(-1), torch.zeros(1, 2, 3), torch.ones(4))
    with pytest.raises(ValueError, match="decay"):
        refine(lambda y: y.sum(-1), torch.zeros(1, 2, 3), 0.1, decay=2.0)
