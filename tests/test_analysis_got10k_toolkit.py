"""Our metrics against the official GOT-10k toolkit (PyPI ``got10k``, a test-only dependency).

The toolkit computes IoU with ``eps`` added to the union (and clips to [0, 1]), centre error with
centres ``x + (w - 1) / 2``, the success curve with ``IoU > t`` on ``linspace(0, 1, 21)`` and the
precision curve with ``error <= t`` on ``0, 1, ..., 50`` px: everything must agree to 1e-6.
"""
import numpy as np
import pytest

from pytracking.analysis import metrics as M

got10k_metrics = pytest.importorskip("got10k.utils.metrics", reason="the got10k toolkit (pip install got10k) is not installed")
otb = pytest.importorskip("got10k.experiments.otb", reason="the got10k toolkit is not installed")


def toolkit_curves(ious, errors):
    """The toolkit's own curve code (ExperimentOTB._calc_curves) with its default bin counts."""
    class Bins:
        nbins_iou = 21
        nbins_ce = 51
    return otb.ExperimentOTB._calc_curves(Bins(), ious, errors)


def random_predictions(rng, n):
    gt = np.column_stack([rng.uniform(0, 400, n), rng.uniform(0, 300, n), rng.uniform(5, 120, n), rng.uniform(5, 120, n)])
    noise = rng.normal(0, 1, (n, 4)) * [12, 12, 0.25, 0.25]
    pred = np.column_stack([gt[:, :2] + noise[:, :2], gt[:, 2:] * np.exp(noise[:, 2:])])
    far = rng.random(n) < 0.15  # some complete misses
    pred[far, :2] += 500
    return pred, gt


HAND_MADE = np.array([
    # pred                 gt
    [[10, 10, 20, 20], [10, 10, 20, 20]],      # identical
    [[10, 10, 20, 20], [20, 10, 20, 20]],      # half overlap in x: IoU 1/3
    [[0, 0, 10, 10], [10, 10, 10, 10]],        # touching corners: IoU 0
    [[0, 0, 40, 40], [10, 10, 20, 20]],        # containment: IoU 0.25
    [[5.5, 3.25, 7.75, 9.5], [6, 2, 8, 11]],   # fractional
    [[100, 100, 1, 1], [0, 0, 1, 1]],          # far apart, tiny
], dtype=np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iou_and_centre_error_match_toolkit_on_random_predictions(seed):
    pred, gt = random_predictions(np.random.default_rng(seed), 500)
    np.testing.assert_allclose(M.iou_xywh(pred, gt), got10k_metrics.rect_iou(pred.copy(), gt.copy()), atol=1e-6, rtol=0)
    np.testing.assert_allclose(M.centre_error(pred, gt), got10k_metrics.center_error(pred, gt), atol=1e-6, rtol=0)


def test_iou_and_centre_error_match_toolkit_on_hand_made_boxes():
    pred, gt = HAND_MADE[:, 0], HAND_MADE[:, 1]
    ours = M.iou_xywh(pred, gt)
    np.testing.assert_allclose(ours, got10k_metrics.rect_iou(pred.copy(), gt.copy()), atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours[:4], [1.0, 1 / 3, 0.0, 0.25], atol=1e-12)
    np.testing.assert_allclose(M.centre_error(pred, gt), got10k_metrics.center_error(pred, gt), atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", [3, 4])
def test_success_and_precision_curves_match_toolkit(seed):
    pred, gt = random_predictions(np.random.default_rng(seed), 400)
    ious, errors = M.iou_xywh(pred, gt), M.centre_error(pred, gt)
    succ_ref, prec_ref = toolkit_curves(ious, errors)
    np.testing.assert_allclose(M.success_curve(ious), succ_ref, atol=1e-6, rtol=0)
    ours_prec = M.precision_curve(errors, thresholds=np.arange(0, 51, dtype=np.float64))
    np.testing.assert_allclose(ours_prec, prec_ref, atol=1e-6, rtol=0)
    # AUC (mean of the success curve) and precision at 20 px, as the analysis reports them
    assert abs(M.success_curve(ious).mean() - succ_ref.mean()) < 1e-6
    assert abs(ours_prec[20] - prec_ref[20]) < 1e-6
