"""Real-layout training data from the demo benchmark (ltr.synthetic.layout_data), read back by ltr's Lasot and
Got10k; the dataset-root override (--data_root) and benchmark_training's --datasets, --random_backbone, --losses."""
import math
import os

import cv2
import numpy as np
import pytest

from ltr import benchmark_training
from ltr.admin.local_settings import SettingsError, load_settings
from ltr.admin.settings import TrainSettings
from ltr.dataset import Got10k, Lasot
from ltr.synthetic import demo_benchmark as db
from ltr.synthetic import layout_data as ld

pytestmark = pytest.mark.filterwarnings("ignore:.*partial download.*")

SIZE = (128, 96)  # the demo frames are 96x64: written at 4/3 x 3/2


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("layout")
    source = db.build_demo_benchmark(base / "demo", num_train=3, num_test=1, num_frames=4, num_train_frames=6,
                                     image_size=(96, 64), progress=False, workers=1)
    out = base / "data"
    manifest = ld.build_layout_data(out, source=source, frame_size=SIZE, workers=1, progress=False)
    return source, out, manifest


def _demo(source, name):
    seq_dir = source / name.rsplit("-", 1)[0] / name
    return seq_dir, db.read_sequence_annotations(seq_dir)


def test_names_come_from_the_official_split_lists():
    from ltr.data_specs import spec_path
    from ltr.dataset.annotation_io import read_lines

    official = read_lines(spec_path("lasot_train_sequences.txt"))
    names = ld.lasot_train_names(5)
    assert set(names) <= set(official) and len(set(names)) == 5
    assert len({n.rsplit("-", 1)[0] for n in names}) == 5  # one class after the other
    vottrain = sorted(int(x) for x in read_lines(spec_path("got10k_vot_train_split.txt")))
    votval = sorted(int(x) for x in read_lines(spec_path("got10k_vot_val_split.txt")))
    assert ld.got10k_train_indices(20) == (vottrain[:18], votval[:2])
    assert ld.got10k_train_indices(2) == (vottrain[:1], votval[:1])
    assert ld.got10k_train_indices(1) == (vottrain[:1], [])


def test_lasot_reads_the_built_data(built):
    source, out, manifest = built
    demo_names = (source / "train.txt").read_text().split()
    dataset = Lasot(root=out / "lasot", split="train")
    assert sorted(dataset.sequence_list) == sorted(manifest["sequences"]["lasot"])
    assert len(dataset.sequence_list) == 3
    scale = np.array([SIZE[0] / 96, SIZE[1] / 64] * 2)
    for demo_name, name in zip(demo_names, manifest["sequences"]["lasot"]):
        seq_id = dataset.sequence_list.index(name)
        seq_dir, ann = _demo(source, demo_name)
        info = dataset.get_sequence_info(seq_id)
        np.testing.assert_array_equal(info["bbox"].numpy(), np.round(ann["boxes"] * scale).astype(np.float32))
        expected_visible = ~(ann["full_occlusion"] | ann["out_of_view"]) & (np.round(ann["boxes"][:, 2:] * scale[2:])
                                                                            > 0).all(axis=1)
        np.testing.assert_array_equal(info["visible"].numpy(), expected_visible)
        frames, _, meta = dataset.get_frames(seq_id, [0, 5])
        assert frames[0].shape == (SIZE[1], SIZE[0], 3)
        reference = cv2.resize(cv2.imread(str(seq_dir / "img" / "00000006.jpg"))[:, :, ::-1], SIZE)
        assert np.abs(frames[1].astype(int) - reference.astype(int)).mean() < 4  # same picture, JPEG noise only
        assert meta["object_class_name"] == name.rsplit("-", 1)[0]


def test_got10k_reads_the_built_data(built):
    source, out, manifest = built
    demo_names = (source / "train.txt").read_text().split()
    train = Got10k(root=out / "got10k", split="vottrain")
    val = Got10k(root=out / "got10k", split="votval")
    assert train.sequence_list == manifest["sequences"]["got10k_vottrain"] and len(train.sequence_list) == 2
    assert val.sequence_list == manifest["sequences"]["got10k_votval"] and len(val.sequence_list) == 1
    assert len((out / "got10k" / "train" / "list.txt").read_text().split()) == ld.GOT10K_TRAIN_SIZE
    scale = np.array([SIZE[0] / 96, SIZE[1] / 64] * 2)
    for dataset, seq_id, demo_name in ((train, 0, demo_names[0]), (train, 1, demo_names[1]), (val, 0, demo_names[2])):
        _, ann = _demo(source, demo_name)
        info = dataset.get_sequence_info(seq_id)
        np.testing.assert_allclose(info["bbox"].numpy(), ann["boxes"] * scale, atol=1e-3)
        absent = ann["full_occlusion"] | ann["out_of_view"]
        np.testing.assert_array_equal(info["visible"].numpy(), ~absent)
        np.testing.assert_array_equal(info["visible_ratio"].numpy(), np.where(absent, 0.0, 1.0))
        assert dataset.get_class_name(seq_id) == demo_name.rsplit("-", 1)[0]
        frames, _, _ = dataset.get_frames(seq_id, [2])
        assert frames[0].shape == (SIZE[1], SIZE[0], 3)


def test_rebuild_is_a_noop_and_foreign_folders_are_refused(built, tmp_path):
    source, out, manifest = built
    stamp = (out / "got10k" / "train" / "list.txt").stat().st_mtime_ns
    assert ld.build_layout_data(out, source=source, frame_size=SIZE, workers=1, progress=False) == manifest
    assert (out / "got10k" / "train" / "list.txt").stat().st_mtime_ns == stamp
    (tmp_path / "foreign.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing"):
        ld.build_layout_data(tmp_path, source=source, workers=1, progress=False)
    copied = ld.build_layout_data(tmp_path / "native", source=source, num_sequences=1, workers=1, progress=False)
    frame = next((tmp_path / "native" / "lasot").rglob("00000001.jpg"))
    demo_frame = source / copied["sequences"]["demo_sequences"][0].rsplit("-", 1)[0] / \
        copied["sequences"]["demo_sequences"][0] / "img" / "00000001.jpg"
    assert frame.read_bytes() == demo_frame.read_bytes()  # no --frame_size: the demo's JPEG bytes


def test_data_root_override(built, tmp_path):
    _, out, _ = built
    env = load_settings(tmp_path / "absent.toml").with_data_root(out)
    assert env.dataset_root("lasot") == out / "lasot"
    assert env.dataset_root("got10k") == out / "got10k"
    assert env.datasets["trackingnet"] == ""  # no folder there: the setting stays
    with pytest.raises(SettingsError, match="not a folder"):
        load_settings(tmp_path / "absent.toml").with_data_root(tmp_path / "nowhere")
    with pytest.raises(SettingsError, match="holds none of the dataset folders"):
        load_settings(tmp_path / "absent.toml").with_data_root(tmp_path)


@pytest.fixture
def no_dataset_roots(tmp_path, monkeypatch):
    """Local settings with every dataset root unset, the workspace in tmp_path."""
    settings = tmp_path / "settings.toml"
    settings.write_text('[paths]\nworkspace = "ws"\n[datasets]\nlasot = ""\ngot10k = ""\n')
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    return settings


def test_benchmark_on_the_layouts_prints_losses(built, no_dataset_roots, capsys):
    _, out, _ = built
    for amp in ("off", "fp16"):
        code = benchmark_training.main(["tiny_layout", "--data_root", str(out), "--datasets", "lasot", "got10k",
                                        "--iterations", "2", "--warmup", "1", "--losses", "--amp", amp])
        assert code == 0
        lines = capsys.readouterr().out.splitlines()
        steps = [line for line in lines if line.startswith("step ")]
        assert len(steps) == 3 and "(warm-up)" in steps[0] and "(warm-up)" not in steps[1]
        assert all(math.isfinite(float(line.split("loss ")[1].split()[0])) for line in steps)
        assert f"amp {amp}" in lines[-1] and "pairs/s" in lines[-1] and "waiting for data" in lines[-1]
        decoder = "jpeg4py" if benchmark_training.jpeg4py_available() else "opencv"
        assert f"jpeg decoder {decoder}" in lines[-1]


def test_benchmark_names_what_is_missing(built, no_dataset_roots, capsys):
    _, out, _ = built
    # without --datasets the setting also wants TrackingNet and COCO, whose roots are unset
    assert benchmark_training.main(["tiny_layout", "--data_root", str(out), "--iterations", "1"]) == 2
    assert "dataset root 'trackingnet' is not set" in capsys.readouterr().err
    assert benchmark_training.main(["tiny_layout", "--data_root", str(out), "--datasets", "lasot", "uav"]) == 2
    assert "has no training dataset uav" in capsys.readouterr().err


def test_paper_setting_builds_without_weights_when_asked(built, no_dataset_roots):
    from ltr.train_settings.bbreg import common

    _, out, _ = built
    settings = TrainSettings(module_name="bbreg", script_name="atom_ebm_paper", device="cpu", workers=0,
                             env=load_settings().with_data_root(out), show_progress=False, use_tensorboard=False)
    cfg = benchmark_training.benchmark_config("atom_ebm_paper", settings, ["lasot", "got10k"], random_backbone=True)
    assert [name for name, _ in cfg.train_datasets] == ["lasot", "got10k"] and cfg.p_datasets == [1.0, 1.0]
    assert cfg.val_samples_per_epoch == 0 and cfg.network == "atom_resnet18"
    job = common.build_job(cfg, settings)
    assert len(job.loaders) == 1 and len(job.loaders[0].dataset.datasets) == 2
    with_weights = benchmark_training.benchmark_config("atom_ebm_paper", settings, ["lasot", "got10k"])
    with pytest.raises(SettingsError, match=r"pretrained/resnet18\.pth"):
        common.build_job(with_weights, settings)


def test_run_training_takes_the_data_root(no_dataset_roots, tmp_path, capsys):
    from ltr import run_training

    assert run_training.main(["bbreg", "tiny_layout", "--data_root", str(tmp_path / "nowhere")]) == 2
    assert f"data root {tmp_path / 'nowhere'}" in capsys.readouterr().err
    assert os.environ["EBMTRACK_SETTINGS"] == str(no_dataset_roots)
