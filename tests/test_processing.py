"""Processing: crops, box mapping, jitter convention, proposals (EBM, NCE+, IoU, regression)."""
import math

import numpy as np
import pytest
import torch

from ebm.boxes import box_iou, xywh_to_rel
from ltr.data.processing import BBRegProcessing, sample_gaussian_boxes
from ltr.data.transforms import crop_search_region, image_to_tensor, jitter_box


def _pair(box=(20.0, 30.0, 16.0, 8.0), size=(100, 120)):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (size[0], size[1], 3), dtype=np.uint8)
    return {"train_images": [image], "train_boxes": [np.array(box)],
            "test_images": [image.copy()], "test_boxes": [np.array(box)]}


def test_gt_maps_to_crop_centre_without_jitter():
    proc = BBRegProcessing(mode="ebm", output_sz=64, center_jitter_factor=0.0, scale_jitter_factor=0.0,
                           brightness_jitter=0.0, grayscale_probability=0.0, num_proposals=8)
    out = proc(_pair(), np.random.default_rng(0))
    side = math.sqrt(16 * 8) * 5.0
    expected = torch.tensor([32 - 8 * 64 / side, 32 - 4 * 64 / side, 16 * 64 / side, 8 * 64 / side])
    for key in ("train_boxes", "test_boxes"):
        assert out[key].shape == (1, 4)
        torch.testing.assert_close(out[key][0], expected)
    assert out["train_images"].shape == (1, 3, 64, 64)
    assert torch.isfinite(out["train_images"]).all()


def test_crop_pixels_and_border_replication():
    image = np.zeros((10, 10, 3), np.uint8)
    image[:, 5:] = 200  # right half bright
    crop, tf = crop_search_region(image, np.array([3.0, 3.0, 4.0, 4.0]), search_area_factor=2.0, output_sz=8)
    assert tf.scale == pytest.approx(1.0) and tf.origin_x == pytest.approx(1.0)
    np.testing.assert_array_equal(crop[0, :, 0], [0, 0, 0, 0, 200, 200, 200, 200])  # columns 1..8 of the image
    crop, tf = crop_search_region(image, np.array([-4.0, 2.0, 4.0, 4.0]), 2.0, 8)  # left of the image
    np.testing.assert_array_equal(crop[:, :4, 0], 0)  # replicated border (image column 0)
    np.testing.assert_allclose(tf.box_to_image(tf.box_to_crop(np.array([1.0, 2, 3, 4]))), [1, 2, 3, 4])


def test_jitter_convention():
    rng = np.random.default_rng(5)
    box = np.array([10.0, 10.0, 20.0, 5.0])
    draws = np.stack([jitter_box(box, 4.5, 0.5, rng) for _ in range(4000)])
    log_ratio = np.log(draws[:, 2:] / box[2:])
    np.testing.assert_allclose(log_ratio.std(0), 0.5, rtol=0.05)
    centre_offset = draws[:, :2] + 0.5 * draws[:, 2:] - (box[:2] + 0.5 * box[2:])
    bound = 0.5 * 4.5 * np.sqrt(draws[:, 2] * draws[:, 3])
    assert np.all(np.abs(centre_offset) <= bound[:, None] + 1e-9)
    assert np.abs(centre_offset / bound[:, None]).max() > 0.95


def test_proposals_follow_the_mixture():
    proc = BBRegProcessing(mode="ebm", output_sz=32, num_proposals=4000, grayscale_probability=0.0)
    out = proc(_pair(), np.random.default_rng(1))
    gt, props, log_q = out["test_boxes"], out["proposals"][0], out["proposal_log_q"][0]
    assert props.shape == (4001, 4) and log_q.shape == (4001,)
    torch.testing.assert_close(props[0], gt[0])  # ground truth first
    rel = xywh_to_rel(props.double(), gt[0, 2:].double()) - xywh_to_rel(gt.double(), gt[0, 2:].double())
    offsets = rel[1:]
    std = math.sqrt(0.5 * 0.05**2 + 0.5 * 0.5**2)
    assert offsets.mean(0).abs().max() < 4 * std / math.sqrt(4000)
    torch.testing.assert_close(offsets.std(0), torch.full((4,), std, dtype=torch.float64), rtol=0.06, atol=0)
    # one component per sample (not per dimension): P(all |offset| < 2 sigma_narrow) = 0.5 * 0.9545^4
    narrow = (offsets.abs() < 0.1).all(1).double().mean()
    assert abs(narrow - 0.5 * 0.9545**4) < 0.03
    assert torch.isfinite(log_q).all() and log_q[0] == log_q.max()


def test_nce_plus_true_sample_is_jittered():
    proc = BBRegProcessing(mode="nce+", output_sz=32, num_proposals=16)
    out = proc(_pair(), np.random.default_rng(2))
    true, gt = out["proposals"][0, 0], out["test_boxes"][0]
    assert not torch.equal(true, gt)
    assert box_iou(true, gt) > 0.2


def test_iou_proposals_and_targets():
    proc = BBRegProcessing(mode="iou", output_sz=64)
    out = proc(_pair(), np.random.default_rng(3))
    assert out["proposals"].shape == (1, 16, 4)
    iou = box_iou(out["proposals"][0], out["test_boxes"][0])
    torch.testing.assert_close(out["iou_target"][0], 2 * iou - 1)
    assert (iou >= 0.1 - 1e-6).all()
    boxes, ious = sample_gaussian_boxes(np.array([0, 0, 10, 10.0]), 500, (0.3,), 0.5, np.random.default_rng(0))
    assert ious.min() >= 0.5 and (boxes[:, 2:] > 0).all()


def test_regression_targets_recover_gt():
    proc = BBRegProcessing(mode="regression", output_sz=64)
    out = proc(_pair(), np.random.default_rng(4))
    init, t, gt = out["init_boxes"][0].double(), out["regression_target"][0].double(), out["test_boxes"][0].double()
    centre = init[:, :2] + 0.5 * init[:, 2:] + t[:, :2] * init[:, 2:]
    size = init[:, 2:] * torch.exp(t[:, 2:])
    torch.testing.assert_close(torch.cat([centre - 0.5 * size, size], 1), gt.expand(16, 4).clone(), rtol=1e-5, atol=1e-4)


def test_normalisation_and_bad_mode():
    t = image_to_tensor(np.full((2, 2, 3), 255, np.uint8), brightness_factor=1.5)
    torch.testing.assert_close(t[:, 0, 0], torch.tensor([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]))
    with pytest.raises(ValueError, match="mode"):
        BBRegProcessing(mode="bogus")
