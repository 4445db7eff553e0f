"""Wide train sequences: plans (seeded, challenge ranges, without pixels), rendering (ground-truth convention,
reproducibility), the set on disk (LaSOT layout, cached build, loaded as the ``wide_train`` dataset) and the step
search accepting it as a train-side set."""
import math

import numpy as np
import pytest

from ltr.synthetic.photo_bank import build_bank, load_bank, skimage_sources
from ltr.synthetic.wide_pairs import IMAGE_SIZE, MAX_ASPECT, MAX_ROTATION, MAX_SCALE_RATIO, placement, target_mask
from ltr.synthetic.wide_sequences import (NUM_FRAMES, _rotated_half_extent, build_wide_sequences,
                                          plan_wide_sequence, render_wide_sequence)
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.refinement_search import check_train_side, search_sequences


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank")
    build_bank(out, skimage_sources(), max_side=200)
    return out


@pytest.fixture(scope="module")
def bank(bank_dir):
    return load_bank(bank_dir)


def test_plans_are_seeded_and_cover_the_challenges():
    a, b = plan_wide_sequence(0, 3, 10), plan_wide_sequence(0, 3, 10)
    assert np.array_equal(a.center, b.center) and a.challenges() == b.challenges()
    assert not np.array_equal(a.center, plan_wide_sequence(0, 4, 10).center)
    assert not np.array_equal(a.center, plan_wide_sequence(1, 3, 10).center)
    plans = [plan_wide_sequence(0, k, 10) for k in range(200)]
    for p in plans:
        assert p.num_frames == NUM_FRAMES and p.view.shape == (NUM_FRAMES, 4)
        assert 1 / MAX_ASPECT <= p.aspect <= MAX_ASPECT
        assert 8 - 1e-9 <= p.size.min() and p.size.max() <= 200 + 1e-9
        assert p.size.max() / p.size.min() <= MAX_SCALE_RATIO + 1e-9
        assert np.abs(p.angle).max() <= MAX_ROTATION
        assert p.target_photo != p.background_photo != p.occluder_photo != p.target_photo
    counts = {name: sum(any(c.startswith(name) for c in p.challenges()) for p in plans)
              for name in ("scale change", "rotation", "out of view", "motion blur", "occluder", "distractor")}
    # drawn with p 0.2-0.6 each (scale change: most ratios exceed 1.5): every challenge is present, none everywhere
    assert all(15 <= n <= 185 for n in counts.values()), counts
    assert any(max(p.aspect, 1 / p.aspect) > 6 for p in plans)  # thin targets
    assert any(p.size.max() / p.size.min() > 4 for p in plans)  # large scale change


def test_motion_stays_inside_the_image_unless_out_of_view():
    for k in range(100):
        p = plan_wide_sequence(0, k, 10)
        if p.out_of_view is None:
            # the path's peak speed per axis is at most 10 px/frame; the clip to the image adds at most the change of
            # the target's half extent (it follows a growing or rotating target's border)
            bound_change = np.abs(np.diff(_rotated_half_extent(p.size, p.aspect, p.angle), axis=0))
            assert (np.abs(np.diff(p.center, axis=0)) <= 10.0 + bound_change + 1e-6).all()
            assert (p.center >= 0).all() and (p.center <= IMAGE_SIZE).all()


def test_rendered_box_is_the_mask_box_and_frames_are_reproducible(bank):
    plans = [plan_wide_sequence(2, k, len(bank), num_frames=12) for k in range(8)]
    plan = next(p for p in plans if p.mask_kind != "polygon" and np.ptp(p.angle) > 1)  # rotating, symmetric
    first = list(render_wide_sequence(bank, plan))
    again = list(render_wide_sequence(bank, plan))
    assert len(first) == 12
    for (f1, b1), (f2, b2) in zip(first, again):
        assert f1.shape == (IMAGE_SIZE[1], IMAGE_SIZE[0], 3) and f1.dtype == np.uint8
        assert np.array_equal(f1, f2) and np.array_equal(b1, b2)
    symmetric = plan.mask_kind != "polygon"  # a rotated asymmetric polygon's box is not centred on its texture
    for t, (_, box) in enumerate(first):
        # the box is centred on the planned centre and has the planned size, grown by the rotation
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        if symmetric or abs(plan.angle[t]) < 1e-9:
            assert abs(cx - plan.center[t, 0]) < 1.5 and abs(cy - plan.center[t, 1]) < 1.5
        w, h = plan.size[t] * math.sqrt(plan.aspect), plan.size[t] / math.sqrt(plan.aspect)
        if abs(plan.angle[t]) < 1e-9:
            assert box[2] == pytest.approx(w, abs=2.0) and box[3] == pytest.approx(h, abs=2.0)
        ext = 2 * _rotated_half_extent(plan.size[t:t + 1], plan.aspect, plan.angle[t:t + 1])[0]
        assert (box[2:] <= ext + 2.0).all() and (box[2:] >= 0.5 * ext).all()  # within the rotated rectangle's box


def test_out_of_view_excursion_leaves_30_to_70_percent_inside():
    plan = next(p for p in (plan_wide_sequence(0, k, 10) for k in range(100)) if p.out_of_view is not None)
    first, last = plan.out_of_view
    peak = (first + last) // 2
    mask = target_mask(plan.mask_kind, 64, 64, np.random.default_rng(0))
    from ltr.synthetic.wide_pairs import box_wh, mask_box
    w, h = box_wh(float(plan.size[peak]), plan.aspect)
    box = mask_box(mask, placement(w, h, float(plan.angle[peak]), tuple(plan.center[peak]), 64, 64))
    x0, y0 = max(box[0], 0), max(box[1], 0)
    x1, y1 = min(box[0] + box[2], IMAGE_SIZE[0]), min(box[1] + box[3], IMAGE_SIZE[1])
    inside = max(x1 - x0, 0) * max(y1 - y0, 0) / (box[2] * box[3])
    assert 0.15 < inside < 0.85  # 30-70 % along one axis at the peak (the mask's shape moves it a little)


def test_build_is_a_lasot_train_set_cached_and_loadable(bank_dir, tmp_path):
    root = tmp_path / "wide"
    build_wide_sequences(root, bank_dir, num_sequences=3, num_frames=6, workers=1, progress=False)
    names = (root / "train.txt").read_text().split()
    assert names == ["wide-1", "wide-2", "wide-3"]
    seq_dir = root / "wide" / "wide-2"
    assert len(list((seq_dir / "img").glob("*.jpg"))) == 6
    assert len((seq_dir / "groundtruth.txt").read_text().splitlines()) == 6
    assert (seq_dir / "out_of_view.txt").read_text().strip() == ",".join(["0"] * 6)
    stamp = (root / "manifest.json").stat().st_mtime_ns
    build_wide_sequences(root, bank_dir, num_sequences=3, num_frames=6, workers=1, progress=False)
    assert (root / "manifest.json").stat().st_mtime_ns == stamp  # same parameters: not rebuilt
    sequences = get_dataset("wide_train", root)
    assert [s.name for s in sequences] == names and len(sequences[0]) == 6
    assert sequences[0].ground_truth_rect.shape == (6, 4)
    with pytest.raises(ValueError, match="photo bank"):
        build_wide_sequences(tmp_path / "other", tmp_path / "no_bank", num_sequences=1, progress=False)


def test_search_accepts_the_wide_set_as_train_side(bank_dir, tmp_path, monkeypatch):
    check_train_side("wide_train", "train")
    with pytest.raises(ValueError, match="never tuned on"):
        check_train_side("wide_train", "test")
    with pytest.raises(ValueError, match="once"):
        search_sequences(["demo", "demo"])
    root = tmp_path / "wide"
    build_wide_sequences(root, bank_dir, num_sequences=4, num_frames=3, workers=1, progress=False)
    import ltr.synthetic.wide_sequences as ws
    monkeypatch.setattr(ws, "ensure_wide_sequences", lambda *a, **k: root)
    chosen = search_sequences(["wide_train"], selection="every_other")
    assert [s.name for s in chosen] == ["wide-1", "wide-3"]


def test_steady_profile_keeps_the_size_and_has_its_own_names():
    from ltr.synthetic.wide_sequences import PROFILES, wide_sequences_parameters
    steady = [plan_wide_sequence(1, k, 10, num_frames=30, profile="steady") for k in range(100)]
    wide = [plan_wide_sequence(1, k, 10, num_frames=30) for k in range(100)]
    assert all(p.name == f"steady-{k + 1}" for k, p in enumerate(steady))
    limit = PROFILES["steady"].max_scale_ratio
    assert all(p.size.max() / p.size.min() <= limit + 1e-9 for p in steady)
    assert max(p.size.max() / p.size.min() for p in wide) > 2 * limit          # the wide profile is not bounded so
    zoom = PROFILES["steady"].max_zoom
    assert all(p.view[0, 2] / p.view[-1, 2] <= zoom + 1e-9 and p.view[-1, 2] / p.view[0, 2] <= zoom + 1e-9
               for p in steady)
    # the other challenges are drawn as in the wide profile
    assert any("distractor" in p.challenges() for p in steady) and any(p.out_of_view for p in steady)
    # the wide profile's parameters (and so its sets' configuration hash) are those from before profiles existed
    assert "profile" not in wide_sequences_parameters()
    assert wide_sequences_parameters(profile="steady")["profile"] == "steady"
    with pytest.raises(ValueError, match="profile"):
        plan_wide_sequence(0, 0, 10, profile="nope")


def test_the_steady_set_is_a_train_side_dataset(bank_dir, tmp_path, monkeypatch):
    root = tmp_path / "steady"
    build_wide_sequences(root, bank_dir, num_sequences=2, num_frames=4, workers=1, progress=False, profile="steady")
    assert (root / "train.txt").read_text().split() == ["steady-1", "steady-2"]
    assert (root / "steady" / "steady-1" / "groundtruth.txt").is_file()
    check_train_side("steady_train", "train")
    import ltr.synthetic.wide_sequences as ws
    asked = []
    monkeypatch.setattr(ws, "ensure_wide_sequences", lambda *a, **k: asked.append(k.get("profile")) or root)
    chosen = search_sequences(["steady_train"], selection="all")
    assert [s.name for s in chosen] == ["steady-1", "steady-2"] and asked == ["steady"]


def test_check_sets_draw_the_same_profiles_with_other_seeds_and_names():
    from ltr.synthetic.wide_sequences import PROFILES, profile_of_dataset
    for check, base in (("wide_check", "wide"), ("steady_check", "steady")):
        spec, base_spec = PROFILES[check], PROFILES[base]
        assert (spec.max_scale_ratio, spec.max_zoom, spec.num_frames) == (base_spec.max_scale_ratio,
                                                                           base_spec.max_zoom, base_spec.num_frames)
        assert spec.seed != base_spec.seed and spec.class_name != base_spec.class_name
        assert profile_of_dataset(check) == check
        check_train_side(check, "train")
        first = plan_wide_sequence(spec.seed, 0, 10, num_frames=20, profile=check)
        assert first.name == f"{spec.class_name}-1"
        # a different draw from the set it checks (the seed enters every sequence's plan)
        assert not np.allclose(first.size, plan_wide_sequence(base_spec.seed, 0, 10, num_frames=20, profile=base).size)
    with pytest.raises(ValueError, match="train split"):
        check_train_side("wide_check", "test")
