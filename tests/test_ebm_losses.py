"""EBM training losses and regression baselines (ebm.losses)."""
import math

import pytest
import torch

from ebm.losses import (
    gaussian_label_log_density,
    gaussian_nll,
    kl_is_loss,
    l1_regression_loss,
    l2_regression_loss,
    laplace_nll,
    ml_is_loss,
    nce_loss,
    nce_plus_true_sample,
    nce_true_sample,
)
from ebm.proposals import GaussianMixtureProposal


def _log_sum_exp(values):
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


# ----------------------------------------------------------------------------- ML-IS
def _log_z_estimate(num_samples, seed):
    """ML-IS with score_true = 0 is the IS estimate of log Z for f(y) = -0.5 sum_d ((y_d - mu_d) / s_d)^2."""
    mu = torch.tensor([0.4, -0.3], dtype=torch.float64)
    s = torch.tensor([0.5, 0.8], dtype=torch.float64)
    prop = GaussianMixtureProposal([[0.6, 0.9], [1.5, 1.5]])
    center = torch.zeros(1, 2, dtype=torch.float64)
    samples = prop.sample(center, num_samples, generator=torch.Generator().manual_seed(seed))
    scores = -0.5 * (((samples - mu) / s) ** 2).sum(-1)
    log_z = ml_is_loss(torch.zeros(1, dtype=torch.float64), scores, prop.log_prob(samples, center))
    true_log_z = float(torch.log(2 * math.pi * s[0] * s[1]))
    return float(log_z), true_log_z


def test_ml_is_log_z_converges_with_num_samples():
    errors = {}
    for num_samples in (8, 4096):
        errs = []
        for seed in range(10):
            estimate, truth = _log_z_estimate(num_samples, seed)
            errs.append(abs(estimate - truth))
        errors[num_samples] = sum(errs) / len(errs)
    assert errors[4096] < 0.03
    assert errors[4096] < errors[8] / 3


def test_ml_is_hand_value_and_gradients():
    score_true = torch.tensor([1.0, -0.5], requires_grad=True)
    score_samples = torch.tensor([[0.0, 1.0, 2.0], [0.5, -1.0, 0.0]], requires_grad=True)
    log_q = torch.tensor([[0.0, 0.5, -1.0], [0.2, 0.2, 0.2]])
    loss = ml_is_loss(score_true, score_samples, log_q)
    per_item = [
        _log_sum_exp([0.0, 0.5, 3.0]) - math.log(3) - 1.0,
        _log_sum_exp([0.3, -1.2, -0.2]) - math.log(3) + 0.5,
    ]
    assert loss.item() == pytest.approx(sum(per_item) / 2, abs=1e-6)
    loss.backward()
    assert torch.allclose(score_true.grad, torch.full((2,), -0.5))
    expected = torch.softmax(score_samples.detach() - log_q, dim=1) / 2
    assert torch.allclose(score_samples.grad, expected)


def test_ml_is_stable_for_large_scores():
    score_samples = torch.tensor([[1e4, 1e4 - 1.0]], requires_grad=True)
    loss = ml_is_loss(torch.tensor([1e4]), score_samples, torch.zeros(1, 2))
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(score_samples.grad).all()


# ----------------------------------------------------------------------------- KL-IS
def test_kl_is_hand_value_both_weightings():
    f = torch.tensor([[0.0, 1.0]])
    log_q = torch.tensor([[0.0, math.log(2.0)]])
    log_label = torch.tensor([[math.log(0.5), math.log(3.0)]])
    log_z = _log_sum_exp([0.0, 1.0 - math.log(2.0)]) - math.log(2)
    ratios = [0.5, 1.5]  # p / q
    sn = [r / sum(ratios) for r in ratios]
    assert kl_is_loss(f, log_q, log_label).item() == pytest.approx(log_z - (sn[0] * 0 + sn[1] * 1), abs=1e-6)
    un = [r / 2 for r in ratios]
    assert kl_is_loss(f, log_q, log_label, self_normalised=False).item() == pytest.approx(log_z - un[1], abs=1e-6)


def test_kl_is_reduces_to_ml_is_for_a_delta_label_and_is_shift_invariant():
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(3, 5, generator=gen)
    log_q = torch.randn(3, 5, generator=gen)
    log_label = torch.full((3, 5), -1e4)
    log_label[:, 0] = 0.0  # all label mass on sample 0
    assert torch.allclose(kl_is_loss(f, log_q, log_label), ml_is_loss(f[:, 0], f, log_q))
    shifted = f + torch.tensor([[3.0], [-7.0], [100.0]])
    assert torch.allclose(kl_is_loss(shifted, log_q, log_label), kl_is_loss(f, log_q, log_label), atol=1e-5)


def test_kl_is_gradients_finite_with_label_density():
    prop = GaussianMixtureProposal.for_boxes()
    center = torch.zeros(2, 4)
    samples = prop.sample(center, 64, generator=torch.Generator().manual_seed(1))
    log_label = gaussian_label_log_density(samples, center, 0.05)
    assert log_label.shape == (2, 64)
    scores = (-(samples**2).sum(-1)).requires_grad_(True)
    loss = kl_is_loss(scores, prop.log_prob(samples, center), log_label)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(scores.grad).all()
    # self-normalised weights: the gradient w.r.t. one input's scores sums to zero
    assert torch.allclose(scores.grad.sum(1), torch.zeros(2), atol=1e-6)


# ----------------------------------------------------------------------------- NCE / NCE+
def test_nce_hand_value_and_gradients():
    score_true = torch.tensor([2.0], requires_grad=True)
    log_q_true = torch.tensor([1.0])
    score_samples = torch.tensor([[0.0, 1.0]], requires_grad=True)
    log_q = torch.tensor([[-1.0, 0.5]])
    loss = nce_loss(score_true, log_q_true, score_samples, log_q)
    s = [1.0, 1.0, 0.5]
    assert loss.item() == pytest.approx(_log_sum_exp(s) - s[0], abs=1e-6)
    loss.backward()
    soft = torch.softmax(torch.tensor(s), 0)
    assert score_true.grad.item() == pytest.approx(float(soft[0]) - 1.0, abs=1e-6)
    assert torch.allclose(score_samples.grad[0], soft[1:])


def test_nce_true_samples():
    prop = GaussianMixtureProposal.for_boxes()
    y_true = torch.rand(4000, 4)
    y0, log_q0 = nce_true_sample(prop, y_true)
    assert torch.equal(y0, y_true)
    assert torch.allclose(log_q0, prop.log_prob(y_true[:, None], y_true)[:, 0])
    jittered, log_q = nce_plus_true_sample(prop, y_true, 0.1, generator=torch.Generator().manual_seed(3))
    assert jittered.shape == (4000, 4) and log_q.shape == (4000,)
    assert torch.allclose(log_q, prop.log_prob(jittered[:, None], y_true)[:, 0])  # noise mixture, not the scaled one
    offset_std = (jittered - y_true).std(0)
    assert torch.allclose(offset_std, (0.1 * prop.offset_std).float(), rtol=0.1)


# ----------------------------------------------------------------------------- regression baselines
def test_regression_losses_hand_values():
    mean = torch.zeros(2, 2, requires_grad=True)
    target = torch.tensor([[1.0, 0.0], [2.0, -1.0]])
    zero = torch.zeros(2, 2, requires_grad=True)
    g = gaussian_nll(mean, zero, target)
    # sum over D of 0.5 (log 2 pi + 0 + r^2), mean over the batch
    expected = (0.5 * (4 * math.log(2 * math.pi) + 1 + 0 + 4 + 1)) / 2
    assert g.item() == pytest.approx(expected, abs=1e-6)
    lap = laplace_nll(mean, zero, target)
    assert lap.item() == pytest.approx((4 * math.log(2) + 1 + 0 + 2 + 1) / 2, abs=1e-6)
    assert l2_regression_loss(mean, target).item() == pytest.approx((1 + 4 + 1) / 2)
    assert l1_regression_loss(mean, target).item() == pytest.approx((1 + 2 + 1) / 2)
    # a wider Gaussian lowers the NLL of a far target: log_var = log 4, r = 2 -> 0.5 (log 2 pi + log 4 + 1)
    one_d = gaussian_nll(torch.zeros(1), torch.full((1,), math.log(4.0)), torch.full((1,), 2.0))
    assert one_d.item() == pytest.approx(0.5 * (math.log(2 * math.pi) + math.log(4.0) + 1.0), abs=1e-6)
    (g + lap).backward()
    assert torch.isfinite(mean.grad).all() and torch.isfinite(zero.grad).all()


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_name_the_argument():
    ok_true, ok_samples, ok_q = torch.zeros(2), torch.zeros(2, 3), torch.zeros(2, 3)
    bad = ok_samples.clone()
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="score_samples"):
        ml_is_loss(ok_true, bad, ok_q)
    with pytest.raises(ValueError, match="score_true"):
        ml_is_loss(torch.tensor([0.0, float("inf")]), ok_samples, ok_q)
    with pytest.raises(ValueError, match="log_q"):
        ml_is_loss(ok_true, ok_samples, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="score_true"):
        ml_is_loss(torch.zeros(3), ok_samples, ok_q)
    with pytest.raises(ValueError, match="log_label"):
        kl_is_loss(ok_samples, ok_q, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="log_q_true"):
        nce_loss(ok_true, torch.zeros(3), ok_samples, ok_q)
    with pytest.raises(ValueError, match="score_samples"):
        nce_loss(ok_true, ok_true, bad, ok_q)
    with pytest.raises(ValueError, match="log_var"):
        gaussian_nll(torch.zeros(2, 2), torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="target"):
        l1_regression_loss(torch.zeros(2), torch.tensor([0.0, float("nan")]))
