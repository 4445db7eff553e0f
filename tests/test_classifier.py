"""The online classifier: trained on frame 1, it peaks at the target in frame 2; memory rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pytracking.features.extractor import BackboneFeatureExtractor
from pytracking.features.preprocessing import PatchGeometry, sample_patch
from pytracking.libs.fourier_correlation import feature_spectra, spectral_size
from pytracking.libs.optimization import gauss_newton
from pytracking.tracker.atom.classifier import (OnlineClassifier, find_peaks, first_frame_linearization, gaussian_label,
                                                strong_peaks)
from pytracking.tracker.atom.settings import ClassifierSettings
from test_atom_tracker import RandomConvFeatures, synthetic_sequence

SAMPLE = 128


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _params(**extra) -> ClassifierSettings:
    values = dict(projection_dim=16, filter_size=4, sample_memory_size=20, init_GN_iter=4, init_CG_iter=40)
    return ClassifierSettings(**{**values, **extra})


def _patch_features(extractor, image, centre, sample_px):
    patch, _ = sample_patch(image, centre, sample_px, SAMPLE)
    return extractor.extract(patch[None])["layer3"]


def test_trained_on_frame_one_peaks_at_target_in_frame_two():
    frames, boxes = synthetic_sequence(num_frames=12)
    extractor = BackboneFeatureExtractor(RandomConvFeatures(), ["layer3"])
    box0, box1 = boxes[0], boxes[8]                       # the target moves ~13 px
    centre0 = box0[:2] + box0[2:] / 2
    sample_px = 5 * np.sqrt(box0[2] * box0[3])
    clf = OnlineClassifier(_params())
    geometry = PatchGeometry(tuple(centre0), SAMPLE / sample_px, (SAMPLE, SAMPLE))

    shifts = [(0, 0), (8, 0), (-8, 0), (0, 8), (0, -8)]
    feats, centres = [], []
    for dx, dy in shifts:
        patch, affine = sample_patch(frames[0], centre0, sample_px, SAMPLE, shift=(dx, dy))
        feats.append(extractor.extract(patch[None])["layer3"])
        centres.append(affine @ np.array([*centre0, 1.0]))
    feats = torch.cat(feats)
    cell = (SAMPLE / feats.shape[-1], SAMPLE / feats.shape[-2])
    out_size = clf.output_size(tuple(feats.shape[-2:]))
    labels = gaussian_label(torch.tensor(clf.patch_to_output(np.stack(centres), cell), dtype=torch.float32), 0.5, out_size)
    clf.initialize(feats, labels)
    assert clf.init_losses[-1] < 0.5 * clf.init_losses[0]

    scores = clf.score(_patch_features(extractor, frames[8], centre0, sample_px))[0]
    peak = find_peaks(scores, (2.0, 2.0))
    predicted = geometry.to_image(clf.output_to_patch(np.asarray(peak.position), cell))
    true_centre = box1[:2] + box1[2:] / 2
    error_cells = np.linalg.norm(predicted - true_centre) * geometry.scale / cell[0]
    assert error_cells < 1.0, (predicted, true_centre)
    assert peak.score > 0.3
    # the untrained position (the old centre) is clearly off
    assert np.linalg.norm(centre0 - true_centre) * geometry.scale / cell[0] > 0.7


def test_sample_memory_weights_and_update():
    torch.manual_seed(0)
    clf = OnlineClassifier(_params(sample_memory_size=8, init_samples_minimum_weight=0.4))
    feats = torch.randn(3, 12, 6, 6)
    out = clf.output_size((6, 6))
    assert out == (7, 7)
    labels = gaussian_label(torch.tensor([[3.0, 3.0]] * 3), 1.0, out)
    clf.initialize(feats, labels)
    assert torch.allclose(clf.sample_weights, torch.full((3,), 1 / 3))
    # the stored memory spectra are those of the projected features (Z = X P^T): the loss over the memory
    # equals the loss of the direct convolutional scores
    direct = (float(((clf.score(feats) - labels) ** 2).sum()) / 3 + clf.filter_reg * float(clf.filter.pow(2).sum())
              + clf.projection_reg * float(clf.projection.pow(2).sum()))
    assert clf.training_loss() == pytest.approx(direct, rel=1e-4)
    for i in range(12):
        slot = clf.add_sample(torch.randn(12, 6, 6), gaussian_label(torch.tensor([[2.0, 4.0]]), 1.0, out)[0], 0.3)
        assert slot >= 3                                        # initial samples are never replaced
        w = clf.sample_weights
        assert abs(float(w.sum()) - 1.0) < 1e-5
        assert float(w[:3].sum()) >= 0.4 - 1e-5
    assert clf.num_samples == 8
    before = clf.training_loss()
    residuals = clf.update(10)
    assert residuals[-1] < residuals[0]
    assert clf.training_loss() < before
    with pytest.raises(ValueError, match="learning_rate"):
        clf.add_sample(torch.randn(12, 6, 6), labels[0], 0.0)


def test_geometry_round_trip_and_label_peak():
    clf = OnlineClassifier(_params(filter_size=4))
    cell = (16.0, 16.0)
    pts = np.array([[10.0, 100.0], [64.0, 64.0]])
    assert np.allclose(clf.output_to_patch(clf.patch_to_output(pts, cell), cell), pts)
    # odd kernel: score cell i is centred on feature cell i
    odd = OnlineClassifier(_params(filter_size=3))
    assert odd.cell_offset == 0.0 and odd.output_size((8, 8)) == (8, 8)
    label = gaussian_label(torch.tensor([[2.0, 5.0]]), 1.0, (9, 9))[0]
    assert divmod(int(label.argmax()), 9) == (5, 2)
    peak = find_peaks(label, (1.5, 1.5))
    assert np.allclose(peak.position, (2.0, 5.0), atol=1e-6)
    assert peak.second_score < 0.2


@pytest.mark.parametrize("feature_size,k", [((8, 8), 4), ((7, 9), 3)])
def test_first_frame_linearization_equals_autograd_gauss_newton(feature_size, k):
    """The written-out linearisation (spectral, no autograd) has the loss, -J^T r and J^T J p of the
    convolutional residual that autograd differentiates, and Gauss-Newton takes the same path on it."""
    gen = torch.Generator().manual_seed(k)
    n, c, d, p = 4, 6, 5, k // 2
    x = torch.randn(n, c, *feature_size, generator=gen, dtype=torch.float64)
    out = (feature_size[0] + 2 * p - k + 1, feature_size[1] + 2 * p - k + 1)
    y = torch.rand(n, *out, generator=gen, dtype=torch.float64)
    reg_f, reg_p = 0.1, 0.05

    def residual(v):
        proj, filt = v
        s = F.conv2d(F.conv2d(x, proj[:, :, None, None]), filt, padding=p)[:, 0]
        return [(s - y) / n ** 0.5, reg_f ** 0.5 * filt, reg_p ** 0.5 * proj]

    proj = torch.randn(d, c, generator=gen, dtype=torch.float64)
    filt = torch.randn(1, d, k, k, generator=gen, dtype=torch.float64)
    size = spectral_size(feature_size, k)
    linearize = first_frame_linearization(feature_spectra(x, size), size, y, k, reg_f, reg_p)
    loss, rhs, normal_op = linearize([proj, filt])

    pv, fv = proj.clone().requires_grad_(True), filt.clone().requires_grad_(True)
    r = torch.cat([t.reshape(-1) for t in residual([pv, fv])])
    assert loss == pytest.approx(float((r.detach() ** 2).sum()), rel=1e-10)
    jt_r = torch.autograd.grad(r, [pv, fv], r.detach(), retain_graph=True)
    for mine, ref in zip(rhs, jt_r):
        assert torch.allclose(mine, -ref, atol=1e-9)
    direction = [torch.randn(d, c, generator=gen, dtype=torch.float64), torch.randn(1, d, k, k, generator=gen, dtype=torch.float64)]
    jp = torch.autograd.functional.jvp(lambda a, b: torch.cat([t.reshape(-1) for t in residual([a, b])]),
                                       (proj, filt), tuple(direction))[1]
    jtjp = torch.autograd.grad(r, [pv, fv], jp)
    for mine, ref in zip(normal_op(direction), jtjp):
        assert torch.allclose(mine, ref, atol=1e-9)

    spectral = gauss_newton(None, [proj, filt], num_gn_iter=3, num_cg_iter=8, linearize=linearize)
    autograd = gauss_newton(residual, [proj, filt], num_gn_iter=3, num_cg_iter=8)
    assert spectral.losses == pytest.approx(autograd.losses, rel=1e-8)
    assert spectral.losses[-1] < spectral.losses[0]
    for mine, ref in zip(spectral.x, autograd.x):
        assert torch.allclose(mine, ref, atol=1e-8)


def test_strong_peaks_are_taken_best_first_with_their_neighbourhoods_masked():
    scores = torch.zeros(20, 30)
    scores[5, 5], scores[5, 6], scores[15, 25], scores[10, 12], scores[2, 28] = 1.0, 0.9, 0.6, 0.4, 0.2
    peaks = strong_peaks(scores, (2.0, 2.0), min_score=0.3, max_count=5)
    assert peaks == [(5.0, 5.0, 1.0), (25.0, 15.0, pytest.approx(0.6)), (12.0, 10.0, pytest.approx(0.4))]
    # (6, 5) lies in the first peak's ellipse; 0.2 is below min_score
    assert len(strong_peaks(scores, (2.0, 2.0), 0.3, max_count=2)) == 2
    # the target's own neighbourhood excluded first
    excluding_the_first = strong_peaks(scores, (2.0, 2.0), 0.3, 5, excluded=(5.0, 5.0))
    assert [p[:2] for p in excluding_the_first] == [(25.0, 15.0), (12.0, 10.0)]
    assert strong_peaks(scores, (2.0, 2.0), 2.0, 5) == []
    with pytest.raises(ValueError, match="Ho, Wo"):
        strong_peaks(scores[None], (2.0, 2.0), 0.3, 5)


def test_initial_samples_added_after_initialize_are_protected_and_lower_a_negative():
    torch.manual_seed(0)
    clf = OnlineClassifier(_params(sample_memory_size=8, init_samples_minimum_weight=0.4))
    out = clf.output_size((6, 6))
    positives = torch.randn(3, 12, 6, 6)
    clf.initialize(positives, gaussian_label(torch.tensor([[3.0, 3.0]] * 3), 1.0, out))
    negative = positives[:1] + 0.3 * torch.randn(1, 12, 6, 6)      # a look-alike, the target nowhere in it
    before = float(clf.score(negative).max())
    clf.add_initial_samples(negative, torch.zeros(1, *out))
    clf.update(20)
    assert float(clf.score(negative).max()) < before
    assert clf.num_init_samples == clf.num_samples == 4
    assert torch.allclose(clf.sample_weights, torch.full((4,), 0.25))
    for _ in range(6):                                              # later samples never replace it
        assert clf.add_sample(torch.randn(12, 6, 6), torch.zeros(out), 0.3) >= 4
    with pytest.raises(RuntimeError, match="right after initialize"):
        clf.add_initial_samples(negative, torch.zeros(1, *out))
    fresh = OnlineClassifier(_params(sample_memory_size=4))
    fresh.initialize(positives, gaussian_label(torch.tensor([[3.0, 3.0]] * 3), 1.0, out))
    with pytest.raises(ValueError, match="sample_memory_size"):
        fresh.add_initial_samples(negative, torch.zeros(1, *out))
    with pytest.raises(ValueError, match="labels must be"):
        fresh.add_initial_samples(negative, torch.zeros(2, *out))
