"""Procedural scenes: determinism, closed-form boxes against the rendered mask, visibility flags."""
import numpy as np
import pytest

from ltr.synthetic.scenes import (CHALLENGES, OUT_OF_VIEW_FRACTION, PHOTO_POOLS, SceneConfig, Shape, build_assets,
                                  load_photo, plan_sequence, random_shape, render_frame, rotation_scale)

SMALL = SceneConfig(image_size=(96, 64), num_frames=40)


def test_photo_pools_are_disjoint_and_load_offline():
    train = set(PHOTO_POOLS["train"]["objects"]) | set(PHOTO_POOLS["train"]["backgrounds"])
    test = set(PHOTO_POOLS["test"]["objects"]) | set(PHOTO_POOLS["test"]["backgrounds"])
    assert not train & test
    for name in sorted(train | test):
        photo = load_photo(name)
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3


@pytest.mark.parametrize("kind", ["ellipse", "rounded_rect", "polygon"])
def test_closed_form_box_matches_dense_points(kind):
    rng = np.random.default_rng(5)
    shape = random_shape(rng, (kind,))
    g = (np.arange(400) + 0.5) / 400 - 0.5
    pts = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    pts = pts[shape.contains(pts)]
    angle = np.array([0.0, 0.3, -0.7])
    size = np.array([[50.0, 20.0], [30.0, 60.0], [10.0, 10.0]])
    lin = rotation_scale(angle, size)
    lo, hi = shape.box_offsets(lin)
    mapped = np.einsum("nij,kj->nki", lin, pts)
    tol = 0.01 * size.max(axis=1, keepdims=True) + 1e-6
    assert np.all(np.abs(mapped.min(axis=1) - lo) < tol)
    assert np.all(np.abs(mapped.max(axis=1) - hi) < tol)
    if kind != "polygon":  # unrotated: the tight box is the size itself
        assert np.allclose(hi[0] - lo[0], size[0])


def test_unknown_shape_kind_raises():
    with pytest.raises(ValueError, match="kind"):
        Shape("star").contains(np.zeros((1, 2)))


def test_config_validation():
    with pytest.raises(ValueError, match="image_size"):
        SceneConfig(image_size=(10, 64))
    with pytest.raises(ValueError, match="num_frames"):
        SceneConfig(num_frames=0)
    with pytest.raises(ValueError, match="split"):
        plan_sequence(0, "val", 0, SMALL)


def test_plans_and_frames_are_deterministic():
    a = plan_sequence(3, "train", 1, SMALL)
    b = plan_sequence(3, "train", 1, SMALL)
    c = plan_sequence(4, "train", 1, SMALL)
    assert np.array_equal(a.boxes, b.boxes)
    assert not np.allclose(a.boxes, c.boxes)
    fa = render_frame(a, build_assets(a), 7)
    fb = render_frame(b, build_assets(b), 7)
    fc = render_frame(c, build_assets(c), 7)
    assert fa.dtype == np.uint8 and fa.shape == (64, 96, 3)
    assert np.array_equal(fa, fb)
    assert np.abs(fa.astype(int) - fc.astype(int)).mean() > 5


def test_primary_challenge_cycles_over_indices():
    for index, challenge in enumerate(CHALLENGES):
        assert challenge in plan_sequence(0, "test", index, SMALL).challenges


@pytest.mark.parametrize("index", range(8))
def test_ground_truth_is_tight_box_of_rendered_mask(index):
    plan = plan_sequence(1, "test", index, SMALL)
    assets = build_assets(plan)
    w, h = SMALL.image_size
    checked = 0
    for t in range(0, SMALL.num_frames, 3):
        x, y, bw, bh = plan.boxes[t]
        if x < 0 or y < 0 or x + bw > w or y + bh > h:
            continue
        _, alpha = render_frame(plan, assets, t, return_target_alpha=True)
        ys, xs = np.nonzero(alpha > 0.5)
        assert len(xs) > 0
        mask_box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
        gt = np.array([x, y, x + bw, y + bh])
        assert np.all(np.abs(mask_box - gt) <= 1.0), (t, mask_box, gt)
        checked += 1
    assert checked > 0


def test_first_frame_is_clean_and_boxes_stay_inside_without_out_of_view():
    w, h = SMALL.image_size
    for index in range(16):
        plan = plan_sequence(2, "train", index, SMALL)
        assert plan.visible_fraction[0] == 1.0 and plan.visible[0]
        assert plan.boxes.shape == (SMALL.num_frames, 4) and np.all(plan.boxes[:, 2:] > 0)
        if "out_of_view" not in plan.challenges:
            x1, y1 = plan.boxes[:, 0], plan.boxes[:, 1]
            x2, y2 = x1 + plan.boxes[:, 2], y1 + plan.boxes[:, 3]
            assert np.all((x1 >= 0) & (y1 >= 0) & (x2 <= w) & (y2 <= h))
            assert not plan.out_of_view.any()


def test_out_of_view_flags_agree_with_box_leaving_the_image():
    config = SceneConfig(image_size=(96, 64), num_frames=60)
    w, h = config.image_size
    seen = 0
    for index in (3, 11, 19):  # out_of_view is the primary challenge of index % 8 == 3
        plan = plan_sequence(0, "test", index, config)
        assert plan.out_of_view.any()
        box = plan.boxes
        ix = np.clip(box[:, 0] + box[:, 2], 0, w) - np.clip(box[:, 0], 0, w)
        iy = np.clip(box[:, 1] + box[:, 3], 0, h) - np.clip(box[:, 1], 0, h)
        inside = ix * iy / (box[:, 2] * box[:, 3])
        assert np.all(inside[plan.out_of_view] < 2 * OUT_OF_VIEW_FRACTION + 0.1)
        assert not plan.out_of_view[inside > 0.999].any()
        assert not plan.full_occlusion[plan.out_of_view].any()
        seen += int(plan.out_of_view.sum())
    assert seen >= 3


def test_full_occlusion_means_little_of_target_is_visible():
    config = SceneConfig(image_size=(96, 64), num_frames=60)
    occluded = 0
    for index in (1, 9, 17, 25):  # occlusion is the primary challenge of index % 8 == 1
        plan = plan_sequence(0, "train", index, config)
        assert len(plan.occluders) >= 1
        assert np.all(plan.visible_fraction[plan.full_occlusion] < 0.1)
        assert np.array_equal(plan.visible, ~(plan.full_occlusion | plan.out_of_view))
        occluded += int(plan.full_occlusion.sum())
    assert occluded > 0


def test_render_rejects_bad_frame_index():
    plan = plan_sequence(0, "train", 0, SMALL)
    with pytest.raises(ValueError, match="t"):
        render_frame(plan, build_assets(plan), SMALL.num_frames)
