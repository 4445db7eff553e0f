"""Conjugate gradient and Gauss-Newton on random SPD / least-squares problems."""
import pytest
import torch

from pytracking.libs.optimization import conjugate_gradient, gauss_newton


def _random_spd(n: int, cond: float = 50.0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
    eig = torch.logspace(0, torch.log10(torch.tensor(cond)).item(), n, dtype=torch.float64)
    return q @ torch.diag(eig) @ q.T


def test_cg_solves_spd_system_to_tolerance():
    a = _random_spd(30)
    b = torch.randn(30, dtype=torch.float64)
    result = conjugate_gradient(lambda x: [a @ x[0]], b, num_iter=200, tol=1e-10)
    expected = torch.linalg.solve(a, b)
    assert torch.allclose(result.x, expected, atol=1e-8)
    assert result.residual_norms[-1] < 1e-8 * b.norm()
    # in exact arithmetic CG terminates in n steps
    assert len(result.residual_norms) <= 60  # ~n steps in exact arithmetic


def test_cg_on_list_of_tensors_and_warm_start():
    a1, a2 = _random_spd(8), _random_spd(5)
    b = [torch.randn(2, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]

    def apply(x):
        return [(a1 @ x[0].reshape(-1)).reshape(2, 4), a2 @ x[1]]

    exact = [torch.linalg.solve(a1, b[0].reshape(-1)).reshape(2, 4), torch.linalg.solve(a2, b[1])]
    result = conjugate_gradient(apply, b, num_iter=50, tol=1e-12)
    assert all(torch.allclose(x, e, atol=1e-8) for x, e in zip(result.x, exact))
    warm = conjugate_gradient(apply, b, x0=exact, num_iter=5)
    assert warm.residual_norms[0] < 1e-8


def test_cg_rejects_bad_input():
    with pytest.raises(ValueError, match="num_iter"):
        conjugate_gradient(lambda x: x, torch.ones(3), num_iter=-1)
    with pytest.raises(ValueError, match="b must be"):
        conjugate_gradient(lambda x: x, [], num_iter=1)


def test_gauss_newton_linear_least_squares_matches_lstsq():
    a = torch.randn(40, 10, dtype=torch.float64)
    y = torch.randn(40, dtype=torch.float64)
    lam = 0.1

    def residual(v):
        return [a @ v[0] - y, lam ** 0.5 * v[0]]

    result = gauss_newton(residual, torch.zeros(10, dtype=torch.float64), num_gn_iter=1, num_cg_iter=50)
    expected = torch.linalg.solve(a.T @ a + lam * torch.eye(10, dtype=torch.float64), a.T @ y)
    assert torch.allclose(result.x, expected, atol=1e-7)
    assert result.losses[-1] < result.losses[0]


def test_gauss_newton_bilinear_problem_decreases_loss():
    # rank-1 factorisation y = u v^T: nonlinear in (u, v), like projection + filter
    u_true, v_true = torch.randn(6, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    target = torch.outer(u_true, v_true)

    def residual(v):
        return [torch.outer(v[0], v[1]) - target, 1e-3 * v[0], 1e-3 * v[1]]

    x0 = [torch.randn(6, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]
    result = gauss_newton(residual, x0, num_gn_iter=8, num_cg_iter=20, damping=1e-2)
    u, v = result.x
    assert torch.allclose(torch.outer(u, v), target, atol=1e-2)
    assert result.losses[-1] < 1e-5 * result.losses[0]
    assert all(not t.requires_grad for t in result.x)


def test_gauss_newton_works_inside_inference_mode():
    a = torch.randn(12, 4)
    y = torch.randn(12)
    with torch.inference_mode():
        result = gauss_newton(lambda v: a @ v[0] - y, [torch.zeros(4)], num_gn_iter=2, num_cg_iter=10)
    expected = torch.linalg.lstsq(a, y.unsqueeze(1)).solution.squeeze(1)
    assert torch.allclose(result.x[0], expected, atol=1e-4)


def test_gauss_newton_needs_a_residual_or_a_linearization():
    with pytest.raises(ValueError, match="residual_fn or linearize"):
        gauss_newton(None, [torch.zeros(3)])
