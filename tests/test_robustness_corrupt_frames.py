"""Robustness: corrupt JPEG frames (truncated, zero bytes, random bytes, junk between JPEG markers).

Training: the LaSOT dataset + pair sampler skip a pair with an unreadable frame, with a warning that
names the file, and count it; no pair with that frame is ever returned.
Evaluation: ``run_tracker`` on the same fixture (folder dataset) reports the failing sequence with
an error naming the file, writes no result for it, and finishes the other sequences.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from fixtures_layouts import make_lasot
from ltr.data.image_loader import ImageReadError, imread_rgb
from ltr.data.sampler import PairSampler
from ltr.dataset import Lasot

SEQUENCES = ("airplane-1", "airplane-2", "bird-1")
KINDS = ("truncated", "zero_bytes", "random_bytes", "junk_between_markers", "png_truncated")


def corrupt(path: Path, kind: str) -> None:
    """Damage an image file in place."""
    raw = path.read_bytes()
    rng = np.random.default_rng(7)
    if kind == "truncated":
        path.write_bytes(raw[:len(raw) // 2])
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "random_bytes":
        path.write_bytes(rng.integers(0, 256, len(raw), dtype=np.uint8).tobytes())
    elif kind == "junk_between_markers":  # SOI ... SOS ... EOI, but no valid JPEG in between
        junk = rng.integers(0, 255, 200, dtype=np.uint8).tobytes().replace(b"\xff", b"\x00")
        path.write_bytes(b"\xff\xd8" + junk + b"\xff\xda" + junk + b"\xff\xd9")
    elif kind == "png_truncated":  # PNG bytes under a .jpg name, cut short
        import cv2
        ok, png = cv2.imencode(".png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
        assert ok
        path.write_bytes(png.tobytes()[:60])
    else:
        raise ValueError(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_image_loader_names_the_corrupt_file(tmp_path, kind):
    seq = make_lasot(tmp_path, sequences=("airplane-1",), n_frames=1)["airplane-1"]
    path = seq.frame_paths[0]
    assert imread_rgb(path).shape == (24, 32, 3)
    corrupt(path, kind)
    with pytest.raises(ImageReadError) as info:
        imread_rgb(path)
    assert str(path) in str(info.value) and info.value.path == str(path)


@pytest.mark.parametrize("kind", KINDS)
def test_training_sampler_skips_corrupt_frame_with_warning(tmp_path, kind):
    # two frames per sequence: every pair drawn from airplane-2 needs its damaged frame
    written = make_lasot(tmp_path, sequences=SEQUENCES, n_frames=2)
    bad = written["airplane-2"].frame_paths[1]
    corrupt(bad, kind)
    dataset = Lasot(root=tmp_path, split=None)
    bad_seq_id = dataset.sequence_list.index("airplane-2")
    sampler = PairSampler([dataset], None, samples_per_epoch=16, max_gap=5, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [sampler[i] for i in range(len(sampler))]
    messages = [str(w.message) for w in caught]
    naming = [m for m in messages if str(bad) in m]
    assert naming, messages                                   # the warning names the file
    assert all("airplane-2" in m or str(bad_seq_id) in m for m in naming)
    assert sum(item["read_errors"] for item in items) == len(naming) == sampler.read_errors
    for item in items:                                        # no pair uses the damaged sequence
        assert item["sequence"] != bad_seq_id
        assert len(item["train_images"]) == 1 and item["train_images"][0].shape == (24, 32, 3)


def test_sampler_gives_up_clearly_when_every_frame_is_corrupt(tmp_path):
    written = make_lasot(tmp_path, sequences=("airplane-1",), n_frames=2)
    for path in written["airplane-1"].frame_paths:
        corrupt(path, "zero_bytes")
    sampler = PairSampler([Lasot(root=tmp_path, split=None)], None, samples_per_epoch=1, max_gap=5,
                          max_read_retries=3)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="unreadable frames"):
            sampler[0]
    assert sampler.read_errors == 4


@pytest.mark.parametrize("kind", ["truncated", "zero_bytes", "random_bytes"])
@pytest.mark.parametrize("frame_index", [0, 3])
def test_evaluation_reports_corrupt_frame_and_finishes_other_sequences(tmp_path, capsys, kind, frame_index):
    data = tmp_path / "data"
    written = make_lasot(data, sequences=SEQUENCES, n_frames=6)
    bad = written["airplane-2"].frame_paths[frame_index]
    corrupt(bad, kind)
    results = tmp_path / "results"
    from pytracking import run_tracker
    status = run_tracker.main(["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(data),
                               "--results_path", str(results)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert status == 1
    assert "finished 2, skipped 0, failed 1" in text
    failed_lines = [line for line in text.splitlines() if "FAILED" in line]
    assert failed_lines and "airplane-2" in failed_lines[0] and str(bad) in failed_lines[0], text
    run_dir = results / "folder" / "opencv" / "kcf"
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        f"{s}{suffix}" for s in ("airplane-1", "bird-1") for suffix in (".txt", "_time.txt"))
    for name in ("airplane-1", "bird-1"):
        assert len((run_dir / f"{name}.txt").read_text().splitlines()) == 6
    # the rerun retries only the failed sequence (and fails again, naming the file)
    status = run_tracker.main(["opencv", "kcf", "--dataset_name", "folder", "--dataset_path", str(data),
                               "--results_path", str(results)])
    text = capsys.readouterr().out
    assert status == 1 and "finished 0, skipped 2, failed 1" in text and str(bad) in text


def test_training_epoch_survives_corrupt_frames_and_counts_them(tmp_path, capsys):
    """A whole (tiny) training epoch on a LaSOT fixture with a damaged frame: finite loss, the
    unreadable frames counted in the epoch summary, a checkpoint written."""
    import math
    from dataclasses import replace

    import torch

    from fixtures_layouts import write_settings
    from ltr.admin.local_settings import load_settings
    from ltr.admin.settings import TrainSettings
    from ltr.train_settings.bbreg import common, tiny

    data = tmp_path / "lasot"
    written = make_lasot(data, sequences=SEQUENCES, n_frames=2, image_size=(96, 72))
    bad = written["airplane-2"].frame_paths[0]
    corrupt(bad, "truncated")
    env = load_settings(write_settings(tmp_path / "settings.toml", {"lasot": data}))
    settings = TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=tmp_path / "ws",
                             env=env, show_progress=False, use_tensorboard=False, epochs=1)
    cfg = replace(tiny.config(settings), train_datasets=[("lasot", {"split": None})], samples_per_epoch=8)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stats = common.run_config(cfg, settings)
    finally:
        torch.set_num_threads(previous)
    train = stats[1]["train"]
    assert math.isfinite(train["Loss/total"]) and train["samples"] == 8
    naming = [str(w.message) for w in caught if str(bad) in str(w.message)]
    assert train["read_errors"] == len(naming) >= 1
    assert f"unreadable frames {len(naming)}" in capsys.readouterr().out
    assert (settings.checkpoint_dir / "tiny_ep0001.pth").is_file()
