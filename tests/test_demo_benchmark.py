"""The on-disk demo benchmark: LaSOT layout, determinism, split disjointness, idempotence, atomicity."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ltr.synthetic import demo_benchmark as db
from ltr.synthetic.scenes import PROCEDURAL_CLASS

TINY = dict(num_train=2, num_test=2, num_frames=8, num_train_frames=6, image_size=(96, 64), seed=0,
            progress=False, workers=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return db.build_demo_benchmark(tmp_path_factory.mktemp("bench") / "demo", **TINY)


def _names(root: Path, split: str) -> list[str]:
    return (root / f"{split}.txt").read_text().split()


def test_lasot_layout(built):
    train, test = _names(built, "train"), _names(built, "test")
    assert len(train) == 2 and len(test) == 2
    for split, names, frames in (("train", train, 6), ("test", test, 8)):
        for name in names:
            cls, k = name.rsplit("-", 1)
            assert k.isdigit()
            seq = built / cls / name
            images = sorted((seq / "img").iterdir())
            assert [p.name for p in images] == [f"{i:08d}.jpg" for i in range(1, frames + 1)]
            image = cv2.imread(str(images[0]))
            assert image.shape == (64, 96, 3)
            boxes = np.loadtxt(seq / "groundtruth.txt", delimiter=",", ndmin=2)
            assert boxes.shape == (frames, 4) and np.all(boxes[:, 2:] > 0)
            for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
                lines = (seq / flag_file).read_text().splitlines()
                assert len(lines) == 1
                values = lines[0].split(",")
                assert len(values) == frames and set(values) <= {"0", "1"}
            assert (seq / "nlp.txt").read_text().strip()
            ann = db.read_sequence_annotations(seq)
            assert not ann["out_of_view"][0] and not ann["full_occlusion"][0]


def test_splits_are_disjoint(built):
    train, test = set(_names(built, "train")), set(_names(built, "test"))
    assert not train & test
    train_classes = {n.rsplit("-", 1)[0] for n in train} - {PROCEDURAL_CLASS}
    test_classes = {n.rsplit("-", 1)[0] for n in test} - {PROCEDURAL_CLASS}
    assert not train_classes & test_classes
    manifest = db.read_manifest(built)
    pools = manifest["photo_pools"]
    assert not (set(pools["train"]["objects"]) | set(pools["train"]["backgrounds"])) & (
        set(pools["test"]["objects"]) | set(pools["test"]["backgrounds"]))
    for name in test:
        assert manifest["attributes"][name]["split"] == "test"


def test_manifest_contents(built):
    manifest = json.loads((built / db.MANIFEST).read_text())
    assert manifest["generator_version"] == db.GENERATOR_VERSION
    assert manifest["params"]["seed"] == 0 and manifest["params"]["image_size"] == [96, 64]
    assert manifest["config_hash"] == db.config_hash(manifest["params"])
    assert len(manifest["content_sha256"]) == 64
    assert sorted(manifest["sequences"]["test"]) == sorted(_names(built, "test"))


def test_same_seed_same_bytes_other_seed_differs(built, tmp_path):
    again = db.build_demo_benchmark(tmp_path / "again", **TINY)
    assert db.read_manifest(again)["content_sha256"] == db.read_manifest(built)["content_sha256"]
    name = _names(built, "test")[0]
    rel = Path(name.rsplit("-", 1)[0]) / name / "img" / "00000005.jpg"
    assert (again / rel).read_bytes() == (built / rel).read_bytes()
    other = db.build_demo_benchmark(tmp_path / "other", **{**TINY, "seed": 1})
    assert db.read_manifest(other)["content_sha256"] != db.read_manifest(built)["content_sha256"]


def test_second_call_is_a_no_op_and_changes_rebuild(tmp_path, monkeypatch):
    root = db.build_demo_benchmark(tmp_path / "demo", **TINY)
    marker = root / "marker"
    marker.write_text("kept if nothing is rebuilt")
    stamp = (root / db.MANIFEST).stat().st_mtime_ns
    assert db.build_demo_benchmark(tmp_path / "demo", **TINY) == root
    assert marker.exists() and (root / db.MANIFEST).stat().st_mtime_ns == stamp
    # another parameter rebuilds
    db.build_demo_benchmark(root, **{**TINY, "num_frames": 5})
    assert not marker.exists()
    assert db.read_manifest(root)["params"]["num_frames"] == 5
    marker.write_text("again")
    # a new generator version rebuilds
    monkeypatch.setattr(db, "GENERATOR_VERSION", db.GENERATOR_VERSION + 100)
    db.build_demo_benchmark(root, **{**TINY, "num_frames": 5})
    assert not marker.exists()
    assert not list(tmp_path.glob(".demo.*"))  # no temporary folders left behind


def test_interrupted_build_leftovers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".demo.building-{int(dead.stdout)}"
    (stale / "half").mkdir(parents=True)
    root = db.build_demo_benchmark(tmp_path / "demo", **TINY)
    assert not stale.exists() and db.read_manifest(root) is not None


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("do not delete")
    with pytest.raises(ValueError, match="root"):
        db.build_demo_benchmark(foreign, **TINY)
    assert (foreign / "precious.txt").exists()


def test_bad_parameters_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="num_test"):
        db.build_demo_benchmark(tmp_path / "x", **{**TINY, "num_test": -1})
    with pytest.raises(ValueError, match="image_size"):
        db.build_demo_benchmark(tmp_path / "x", **{**TINY, "image_size": (8, 8)})


def test_ensure_builds_at_the_settings_path(tmp_path, monkeypatch):
    settings = tmp_path / "conf" / "local_settings.toml"
    settings.parent.mkdir()
    settings.write_text('[datasets]\ndemo = "data/demo_rel"\n')
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    assert db.demo_root_from_settings() == settings.parent / "data" / "demo_rel"
    root = db.ensure_demo_benchmark(progress=False, num_train=1, num_test=1, num_frames=3, num_train_frames=3,
                                    image_size=(64, 48), workers=1)
    assert root == (settings.parent / "data" / "demo_rel").resolve()
    assert len(_names(root, "test")) == 1
    settings.write_text('[datasets]\ndemo = ""\n')
    with pytest.raises(ValueError, match="demo"):
        db.ensure_demo_benchmark(progress=False)


def test_cli_and_contact_sheet(built, tmp_path):
    sheet = db.render_contact_sheet(built, tmp_path / "sheet.png", num_sequences=2, frames_per_row=3,
                                    thumb_width=96)
    image = cv2.imread(str(sheet))
    assert image.shape == (2 * 64, 3 * 96, 3)
    db.main(["--root", str(tmp_path / "cli"), "--num_train", "1", "--num_test", "1", "--num_frames", "3",
             "--num_train_frames", "3", "--width", "64", "--height", "48", "--workers", "1", "--quiet"])
    assert len(_names(tmp_path / "cli", "train")) == 1


def test_parallel_build_equals_serial(built, tmp_path):
    parallel = db.build_demo_benchmark(tmp_path / "par", **{**TINY, "workers": 2})
    assert db.read_manifest(parallel)["content_sha256"] == db.read_manifest(built)["content_sha256"]


def test_lasot_loader_reads_the_benchmark(built):
    from ltr.dataset.lasot import Lasot

    ds = Lasot(root=str(built), split=None)
    names = sorted(_names(built, "train") + _names(built, "test"))
    assert ds.get_num_sequences() == 4
    assert sorted(ds.get_sequence_name(i) for i in range(4)) == names
    for i in range(4):
        name = ds.get_sequence_name(i)
        seq = built / name.rsplit("-", 1)[0] / name
        ann = db.read_sequence_annotations(seq)
        info = ds.get_sequence_info(i)
        assert np.allclose(info["bbox"].numpy(), ann["boxes"], atol=1e-3)
        expected_visible = ~(ann["out_of_view"] | ann["full_occlusion"])
        assert np.array_equal(info["visible"].numpy(), expected_visible)
        frames, _, _ = ds.get_frames(i, [0, len(ann["boxes"]) - 1])
        assert frames[0].shape == (64, 96, 3) and frames[0].dtype == np.uint8
