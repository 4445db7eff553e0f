"""The validation benchmark: sources unused by the demo, the scenarios' challenges, geometry, LaSOT layout, cache."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ltr.synthetic import validation_motion as motion
from ltr.synthetic.scenes import PHOTO_POOLS, load_photo
from ltr.synthetic.validation_benchmark import build_validation_benchmark
from ltr.synthetic.validation_scenes import (SCENARIOS, Layer, plan_validation_sequence,
                                             render_validation_frame)
from ltr.synthetic.validation_sources import TARGET_SOURCES, load_target_image
from pytracking.evaluation.datasets import get_dataset


def test_sources_are_not_the_demo_photographs():
    demo = {name for pools in PHOTO_POOLS.values() for names in pools.values() for name in names}
    assert not demo & set(TARGET_SOURCES)
    for source in ("grace_hopper", "microaneurysms"):
        image = load_target_image(source)
        for name in demo:  # also under another name (skimage's cat is the demo's chelsea)
            photo = load_photo(name)
            assert photo.shape != image.shape or not np.array_equal(photo, image), (source, name)


@pytest.fixture(scope="module")
def plans():
    return {s.name: plan_validation_sequence(s, 0) for s in SCENARIOS}


def test_scenarios_have_their_challenges(plans):
    assert 8 <= len(SCENARIOS) <= 10 and all(150 <= s.num_frames <= 250 for s in SCENARIOS)
    assert max(max(s.size) / min(s.size) for s in SCENARIOS) >= 8, "an elongated target, aspect 1:8"
    assert min(p.boxes[:, 2:].min() for p in plans.values()) < 12, "a thin target"
    assert max(np.abs(np.rad2deg(p.target.angle)).max() for p in plans.values()) > 40, "rotation to +-45 deg"
    for name in ("bikecrop", "hoppercombo"):  # out of view, then back
        oov = np.nonzero(plans[name].out_of_view)[0]
        assert len(oov) >= 10 and (~plans[name].out_of_view[oov[-1] + 1:]).sum() >= 20
    speeds = {n: np.hypot(*np.diff(p.target.center, axis=0).T).max() for n, p in plans.items()}
    assert speeds["bikecrop"] >= 12 and plans["bikecrop"].target.blur_exposure > 0.5, "fast motion with blur"
    growth = {n: math.sqrt((p.boxes[:, 2] * p.boxes[:, 3]).max() / (p.boxes[0, 2] * p.boxes[0, 3]))
              for n, p in plans.items()}
    assert 3.0 <= growth["carphone"] <= 5.0, "an approaching target"
    assert plans["retina"].full_occlusion.sum() > 0 and plans["retina"].occluders
    assert plans["bunny"].distractors and plans["hoppercombo"].distractors
    for p in plans.values():  # the first frame (the tracker's initial box) is visible
        assert not p.out_of_view[0] and not p.full_occlusion[0]


def test_planning_is_deterministic_and_seeded():
    a = plan_validation_sequence(SCENARIOS[0], 0)
    b = plan_validation_sequence(SCENARIOS[0], 0)
    c = plan_validation_sequence(SCENARIOS[0], 1)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert not np.allclose(a.boxes, c.boxes)
    np.testing.assert_array_equal(render_validation_frame(a, 5), render_validation_frame(b, 5))


def test_box_is_the_tight_box_of_the_rotated_mask():
    mask = np.ones((20, 40), np.float32)
    layer = Layer([], [mask], *_hull(mask), center=np.array([[100.0, 80.0]]), size=np.array([[40.0, 20.0]]),
                  angle=np.array([math.pi / 4]))
    x, y, w, h = layer.boxes()[0]
    side = (40 + 20) / math.sqrt(2)
    assert w == pytest.approx(side) and h == pytest.approx(side)
    assert x + w / 2 == pytest.approx(100.0) and y + h / 2 == pytest.approx(80.0)


def _hull(mask):
    from ltr.synthetic.validation_scenes import _hull_and_samples
    return _hull_and_samples(mask)


def test_motion_model_respects_bounds_and_speed():
    rng = np.random.default_rng(0)
    speed = motion.speed_profile(300, 2.0, 10.0)
    path = motion.random_walk_path(rng, 300, np.array([50.0, 50.0]), np.array([10.0, 10.0]),
                                   np.array([200.0, 100.0]), speed, accel_sigma=3.0)
    assert (path >= [10, 10]).all() and (path <= [200, 100]).all()
    assert (np.hypot(*np.diff(path, axis=0).T) <= speed[1:] + 1e-9).all()
    scale = motion.approach_scale(100, 3.0, 10, 90)
    assert scale[0] == 1.0 and scale[-1] == pytest.approx(3.0) and (np.diff(scale) >= 0).all()
    with pytest.raises(ValueError, match="growth"):
        motion.approach_scale(10, 0.0, 0, 5)


def test_build_lasot_layout_cached_and_hashed(tmp_path):
    root = build_validation_benchmark(tmp_path / "val", max_frames=3, progress=False, workers=1)
    manifest = json.loads((root / "manifest.json").read_text())
    sequences = get_dataset("validation", root)
    assert [s.name for s in sequences] == [f"{s.name}-1" for s in SCENARIOS]
    assert all(len(s) == 3 for s in sequences)
    assert (root / "thinpole" / "thinpole-1" / "img" / "00000003.jpg").is_file()
    assert (root / "thinpole" / "thinpole-1" / "out_of_view.txt").read_text().count(",") == 2
    mtime = (root / "manifest.json").stat().st_mtime_ns
    build_validation_benchmark(root, max_frames=3, progress=False, workers=1)
    assert (root / "manifest.json").stat().st_mtime_ns == mtime, "an up-to-date build is not redone"
    again = build_validation_benchmark(tmp_path / "again", max_frames=3, progress=False, workers=1)
    assert json.loads((again / "manifest.json").read_text())["content_sha256"] == manifest["content_sha256"]
    with pytest.raises(ValueError, match="max_frames"):
        build_validation_benchmark(tmp_path / "bad", max_frames=1, progress=False)
