"""Precise RoI pooling: exactness against a fine-grid average, gradients, degenerate RoIs."""
import pytest
import torch
import torch.nn.functional as F

from ltr.models.layers.prroi_pool import PrRoIPool2D, prroi_pool2d, prroi_pool2d_batched


def brute_force_prroi(features: torch.Tensor, rois: torch.Tensor, output_size, spatial_scale, samples=48):
    """Midpoint-rule average of the zero-padded bilinear map (torch grid_sample) over each bin."""
    ph, pw = output_size
    _, _, height, width = features.shape
    outputs = []
    for roi in rois:
        b = int(roi[0])
        x1, y1, x2, y2 = (float(v) * spatial_scale for v in roi[1:])
        bw, bh = (x2 - x1) / pw, (y2 - y1) / ph
        out = torch.zeros(features.shape[1], ph, pw, dtype=features.dtype)
        offsets = (torch.arange(samples, dtype=features.dtype) + 0.5) / samples
        for p in range(ph):
            for q in range(pw):
                xs = x1 + (q + offsets) * bw
                ys = y1 + (p + offsets) * bh
                gy, gx = torch.meshgrid(ys, xs, indexing="ij")
                grid = torch.stack([2 * gx / (width - 1) - 1, 2 * gy / (height - 1) - 1], dim=-1)[None]
                values = F.grid_sample(features[b:b + 1], grid, mode="bilinear", padding_mode="zeros",
                                       align_corners=True)
                out[:, p, q] = values.mean(dim=(-1, -2))[0]
        outputs.append(out)
    return torch.stack(outputs)


def test_matches_fine_grid_average_including_rois_outside_the_map():
    features = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    rois = torch.tensor([
        [0, 3.3, 5.1, 40.7, 30.2],     # inside
        [1, -10.0, -6.5, 20.3, 12.9],  # partly left/top of the map
        [0, 50.0, 35.0, 90.0, 70.0],   # partly right/bottom
        [1, 12.2, 8.8, 14.9, 10.1],    # smaller than one feature cell
    ], dtype=torch.float64)
    got = prroi_pool2d(features, rois, (3, 4), spatial_scale=1 / 8)
    expected = brute_force_prroi(features, rois, (3, 4), 1 / 8)
    assert got.shape == (4, 3, 3, 4)
    rel_err = (got - expected).abs().max() / expected.abs().max()
    assert rel_err < 1e-3


def test_constant_map_gives_constant_inside_and_fades_outside():
    features = torch.full((1, 1, 6, 6), 2.0)
    inside = prroi_pool2d(features, torch.tensor([[0, 1.0, 1.0, 4.0, 4.0]]), 2, 1.0)
    torch.testing.assert_close(inside, torch.full((1, 1, 2, 2), 2.0))
    # the strip [-1, 0] of the map's left border: mean of the ramp 0..2 is 1
    border = prroi_pool2d(features, torch.tensor([[0, -1.0, 1.0, 0.0, 4.0]]), 1, 1.0)
    torch.testing.assert_close(border, torch.full((1, 1, 1, 1), 1.0))
    far = prroi_pool2d(features, torch.tensor([[0, 20.0, 20.0, 30.0, 30.0]]), 1, 1.0)
    assert far.abs().max() == 0


def test_batched_equals_generic_float32():
    features = torch.randn(3, 4, 10, 12)
    boxes = torch.rand(3, 5, 4) * 60
    boxes[..., 2:] = boxes[..., :2] + 1 + torch.rand(3, 5, 2) * 40
    rois = torch.cat([torch.arange(3).repeat_interleave(5)[:, None].float(), boxes.reshape(-1, 4)], dim=1)
    generic = prroi_pool2d(features, rois, (5, 5), 1 / 8)
    batched = prroi_pool2d_batched(features, boxes, (5, 5), 1 / 8)
    torch.testing.assert_close(batched.reshape(15, 4, 5, 5), generic, rtol=1e-4, atol=1e-5)
    module = PrRoIPool2D(5, 5, 1 / 8)
    torch.testing.assert_close(module(features, rois), generic)


def test_gradcheck_features_and_boxes():
    features = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[0.37, 0.61, 3.28, 3.71], [1.13, -0.42, 4.55, 2.27]], dtype=torch.float64)
    boxes = boxes.repeat(2, 1, 1) + torch.tensor([[[0.0]], [[0.21]]], dtype=torch.float64)
    boxes.requires_grad_(True)

    def generic(feat, bx):
        rois = torch.cat([torch.tensor([[0.0], [0.0], [1.0], [1.0]], dtype=torch.float64), bx.reshape(-1, 4)], 1)
        return prroi_pool2d(feat, rois, (2, 3), 1.0)

    assert torch.autograd.gradcheck(generic, (features, boxes))
    assert torch.autograd.gradcheck(lambda f, b: prroi_pool2d_batched(f, b, (3, 2), 1.0), (features, boxes))


def test_box_gradient_points_towards_brighter_region():
    features = torch.zeros(1, 1, 8, 8)
    features[..., 5:] = 1.0  # bright on the right
    boxes = torch.tensor([[[1.3, 1.2, 4.4, 5.6]]], requires_grad=True)
    prroi_pool2d_batched(features, boxes, 1, 1.0).sum().backward()
    assert boxes.grad[0, 0, 0] > 0 and boxes.grad[0, 0, 2] > 0  # moving right increases the mean
    assert boxes.grad[0, 0, 1].abs() < 1e-6 and boxes.grad[0, 0, 3].abs() < 1e-6


def test_degenerate_rois_give_zero_and_finite_gradients():
    features = torch.randn(1, 3, 6, 6, requires_grad=True)
    rois = torch.tensor([[0, 2.0, 2.0, 2.0, 5.0],   # zero width
                         [0, 1.0, 3.0, 4.0, 3.0],   # zero height
                         [0, 4.0, 4.0, 1.0, 1.0]],  # inverted
                        requires_grad=True)
    out = prroi_pool2d(features, rois, (2, 2), 1.0)
    assert torch.all(out == 0)
    out.sum().backward()
    assert torch.isfinite(features.grad).all() and torch.isfinite(rois.grad).all()


@pytest.mark.parametrize("bad", [(0, 2), (2,), 2.5])
def test_bad_output_size_raises(bad):
    with pytest.raises(ValueError, match="output_size"):
        prroi_pool2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), bad, 1.0)


def test_bad_rois_raise():
    with pytest.raises(ValueError, match="rois"):
        prroi_pool2d(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4), 2, 1.0)
    with pytest.raises(ValueError, match="batch_index"):
        prroi_pool2d(torch.zeros(1, 1, 4, 4), torch.tensor([[3.0, 0, 0, 1, 1]]), 2, 1.0)
