"""Patch sampling (geometry, border replication, huge frames), normalisation, shared extractor."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pytracking.features.augmentation import Augmentation, augmented_patches
from pytracking.features.extractor import BackboneFeatureExtractor, to_autograd
from pytracking.features.preprocessing import PatchGeometry, patches_to_tensor, sample_patch


def _image(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_unit_scale_patch_is_a_crop():
    image = _image()
    patch, affine = sample_patch(image, (40.0, 30.0), 20, 20)
    assert patch.shape == (20, 20, 3) and patch.dtype == np.uint8
    assert np.array_equal(patch, image[20:40, 30:50])
    assert np.allclose(affine @ np.array([40.0, 30.0, 1.0]), [10.0, 10.0])


def test_border_replication_outside_the_image():
    image = _image()
    patch, _ = sample_patch(image, (0.0, 0.0), 20, 20)        # top-left quadrant is outside
    assert np.array_equal(patch[0, 0], image[0, 0])
    assert np.array_equal(patch[:10, 10], np.repeat(image[0, 0][None], 10, axis=0))
    assert np.array_equal(patch[10:, 10:], image[:10, :10])


def test_huge_downscale_matches_area_average_and_is_finite():
    image = np.zeros((2000, 3000, 3), dtype=np.uint8)
    image[:, 1500:] = 200                                     # right half bright
    patch, _ = sample_patch(image, (1500.0, 1000.0), 2400, 48)
    assert patch.shape == (48, 48, 3)
    assert patch[:, :20].max() < 10 and patch[:, 28:].min() > 190
    # tiny region, strong upsampling
    small, _ = sample_patch(image, (1500.0, 1000.0), 2, 32)
    assert small.shape == (32, 32, 3)


def test_geometry_round_trip_and_rotation_flip_centres():
    geom = PatchGeometry(center=(50.0, 40.0), scale=2.0, output_size=(64, 64))
    box = np.array([45.0, 35.0, 10.0, 10.0])
    assert np.allclose(geom.box_to_patch(box), [22.0, 22.0, 20.0, 20.0])
    assert np.allclose(geom.box_to_image(geom.box_to_patch(box)), box)
    image = _image()
    augs = [Augmentation(), Augmentation(flip=True), Augmentation(angle_deg=30.0), Augmentation(shift=(5.0, -3.0)),
            Augmentation(blur_sigma=1.5)]
    patches, centres = augmented_patches(image, (40.0, 30.0), 32, 64, augs)
    assert patches.shape == (5, 64, 64, 3)
    assert np.allclose(centres, [[32, 32], [32, 32], [32, 32], [37, 29], [32, 32]])
    flipped, _ = sample_patch(image, (40.0, 30.0), 20, 20, flip=True)
    assert np.array_equal(flipped, image[20:40, 30:50][:, ::-1])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="image"):
        sample_patch(np.zeros((5, 5), np.uint8), (1, 1), 4, 4)
    with pytest.raises(ValueError, match="sample_size"):
        sample_patch(_image(), (1, 1), 0, 4)
    with pytest.raises(ValueError, match="center"):
        sample_patch(_image(), (float("nan"), 1), 4, 4)


def test_normalisation_and_extractor_share_one_pass():
    patches = np.full((2, 32, 32, 3), 255, dtype=np.uint8)
    tensor = patches_to_tensor(patches)
    assert tensor.shape == (2, 3, 32, 32)
    assert torch.allclose(tensor[0, :, 0, 0], (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]))
    calls = []

    def backbone(im):
        calls.append(im.shape)
        return {"layer2": im[:, :, ::8, ::8], "layer3": im[:, :, ::16, ::16], "layer4": im}

    extractor = BackboneFeatureExtractor(backbone, ["layer3", "layer2", "layer3"])
    feats = extractor.extract(patches)
    assert list(feats) == ["layer3", "layer2"] and len(calls) == 1
    assert feats["layer3"].shape == (2, 3, 2, 2) and feats["layer3"].is_inference()
    plain = to_autograd(feats)
    assert not plain["layer2"].is_inference()
    w = torch.ones(1, requires_grad=True)
    (plain["layer2"] * w).sum().backward()
    assert w.grad is not None
    with pytest.raises(ValueError, match="lacks layers"):
        BackboneFeatureExtractor(backbone, ["layer5"]).extract(patches)
