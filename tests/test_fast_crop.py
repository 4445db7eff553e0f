"""The training loader's fast image path (issue 13, item 4): reduced-size JPEG decoding, region-of-interest crops,
lookup-table normalisation, encoded frames through the sampler, loader options, the data-only benchmark and the
device training check's CPU dry run.

Tolerance of the fast crop against the reference (:func:`crop_search_region` of the fully decoded frame): the
transform (hence every box) is identical; the pixels differ by resampling only. Mean absolute difference in grey
levels of 255, per crop, by decode reduction k: at most 0.5 / 1.5 / 2.5 / 6 for k = 1 / 2 / 4 / 8, and below 2
averaged over all crops. These frames carry noise at the pixel scale, the worst case for a change of low-pass
filter (1/8 decoding is an 8x8 block mean); on the 1280x720 layout frames the differences measured 0.0-0.7.
"""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ltr.data import image_loader
from ltr.data.image_loader import ImageReadError, imread_rgb, read_encoded
from ltr.data.loader import LTRLoader, default_num_workers
from ltr.data.processing import BBRegProcessing
from ltr.data.sampler import PairSampler
from ltr.data.transforms import (crop_search_region, crop_search_region_fast, decode_reduction, image_to_tensor,
                                 normalised_pixels)

REPO = Path(__file__).resolve().parents[1]
MAX_MEAN_ABS_DIFF = 2.0  # averaged over crops
MAX_MEAN_ABS_DIFF_BY_REDUCTION = {1: 0.5, 2: 1.5, 4: 2.5, 8: 6.0}  # per crop


def _textured_frame(rng: np.random.Generator, width: int = 640, height: int = 360) -> np.ndarray:
    """Smooth noise plus rectangles: structure at several scales, as camera frames have."""
    base = cv2.resize(rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 1.5)
    frame = cv2.addWeighted(base, 0.7, fine, 0.3, 0)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(frame, (x, y), (x + int(rng.integers(10, 120)), y + int(rng.integers(10, 80))), color, -1)
    return frame


@pytest.fixture(scope="module")
def jpeg_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(3):
        path = folder / f"{i:08d}.jpg"
        cv2.imwrite(str(path), _textured_frame(rng), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


def test_decode_reduction_is_the_largest_factor_the_crop_downsamples_by_anyway():
    assert decode_reduction(1.5) == 1 and decode_reduction(1.0) == 1 and decode_reduction(0.51) == 1
    assert decode_reduction(0.5) == 2 and decode_reduction(0.3) == 2
    assert decode_reduction(0.25) == 4 and decode_reduction(0.2) == 4
    assert decode_reduction(0.125) == 8 and decode_reduction(0.01) == 8
    assert decode_reduction(0.01, max_reduction=2) == 2


@pytest.mark.parametrize("use_jpeg4py", [True, False])
def test_reduced_decoding_is_an_area_shrink(jpeg_files, monkeypatch, use_jpeg4py):
    if use_jpeg4py and not image_loader.jpeg4py_available():
        pytest.skip("jpeg4py / libturbojpeg not available here")
    monkeypatch.setattr(image_loader, "jpeg4py_available", lambda: use_jpeg4py)
    encoded = read_encoded(jpeg_files[0])
    full, k1 = encoded.decode(1)
    assert k1 == 1
    np.testing.assert_array_equal(full, imread_rgb(jpeg_files[0]))
    height, width = full.shape[:2]
    for k in (2, 4, 8):
        reduced, factor = encoded.decode(k)
        assert factor == k and reduced.shape == (-(-height // k), -(-width // k), 3)
        area = cv2.resize(full, (reduced.shape[1], reduced.shape[0]), interpolation=cv2.INTER_AREA)
        assert np.abs(area.astype(float) - reduced).mean() < MAX_MEAN_ABS_DIFF, k
    with pytest.raises(ValueError, match="reduction"):
        encoded.decode(3)


def test_png_frames_decode_at_full_size(tmp_path):
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), _textured_frame(np.random.default_rng(0), 64, 48))
    image, factor = read_encoded(path).decode(4)
    assert factor == 1 and image.shape == (48, 64, 3)


def test_read_encoded_checks_the_file_and_decode_names_it(tmp_path, jpeg_files):
    with pytest.raises(ImageReadError, match="file not found"):
        read_encoded(tmp_path / "absent.jpg")
    data = jpeg_files[0].read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_encoded(truncated)
    garbled = tmp_path / "garbled.jpg"  # markers intact, entropy-coded data replaced
    sos = data.rfind(b"\xff\xda")
    garbled.write_bytes(data[:sos] + b"\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9")
    with pytest.raises(ImageReadError, match="garbled.jpg"):
        read_encoded(garbled).decode(2)


def _random_boxes(rng: np.random.Generator, count: int, width: int = 640, height: int = 360):
    for _ in range(count):
        w, h = rng.uniform(8, 300), rng.uniform(8, 300)
        yield np.array([rng.uniform(-0.3 * width, 1.1 * width), rng.uniform(-0.3 * height, 1.1 * height), w, h])


def test_fast_crop_equals_the_reference_up_to_resampling(jpeg_files):
    rng = np.random.default_rng(11)
    diffs = {"array": [], "encoded": []}
    reductions = set()
    for path in jpeg_files:
        full, encoded = imread_rgb(path), read_encoded(path)
        for box in _random_boxes(rng, 25):
            for output_sz in (64, 288):
                reference, ref_transform = crop_search_region(full, box, 5.0, output_sz)
                k = decode_reduction(ref_transform.scale)
                reductions.add(k)
                for name, source in (("array", full), ("encoded", encoded)):
                    crop, transform = crop_search_region_fast(source, box, 5.0, output_sz)
                    assert transform == ref_transform  # same geometry: boxes map identically
                    assert crop.shape == reference.shape and crop.dtype == np.uint8
                    diff = np.abs(crop.astype(float) - reference).mean()
                    limit = MAX_MEAN_ABS_DIFF_BY_REDUCTION[k if name == "encoded" else 1 if k == 1 else 2]
                    assert diff <= limit, (name, box, output_sz, k, diff)
                    diffs[name].append(diff)
    assert reductions == {1, 2, 4, 8}  # every decode size was exercised
    assert np.mean(diffs["array"]) < MAX_MEAN_ABS_DIFF and np.mean(diffs["encoded"]) < MAX_MEAN_ABS_DIFF


def test_fast_crop_of_an_array_without_downsampling_is_the_reference(jpeg_files):
    """Scale >= 0.5: no pre-shrink, so the region-of-interest warp samples the same pixels as the full one."""
    full = imread_rgb(jpeg_files[1])
    for box in ([300.0, 150.0, 40.0, 30.0], [-20.0, -10.0, 30.0, 20.0], [620.0, 340.0, 25.0, 25.0]):
        reference, _ = crop_search_region(full, np.array(box), 4.0, 288)
        crop, _ = crop_search_region_fast(full, np.array(box), 4.0, 288)
        assert np.abs(crop.astype(int) - reference).max() <= 1


def test_lookup_table_normalisation_is_bit_identical():
    image = np.random.default_rng(0).integers(0, 256, (37, 29, 3), dtype=np.uint8)
    for brightness in (1.0, 0.8, 1.2):
        for normalize in (True, False):
            expected = image_to_tensor(image, brightness, normalize)
            assert torch.equal(normalised_pixels(image, brightness, normalize).permute(2, 0, 1), expected)
    with pytest.raises(ValueError, match="uint8"):
        normalised_pixels(image.astype(np.float32))


class _FolderDataset:
    """A one-sequence video dataset over ``paths`` that can give encoded frames."""

    def __init__(self, paths, encoded=True):
        self.paths, self.encoded, self.warnings = list(paths), encoded, []
        self.boxes = torch.tensor([[250.0, 120.0, 80.0, 60.0]] * len(self.paths))

    def get_name(self):
        return "folder"

    def is_video_sequence(self):
        return True

    def get_num_sequences(self):
        return 1

    def supports_encoded_frames(self):
        return self.encoded

    def get_sequence_info(self, seq_id):
        visible = torch.ones(len(self.paths), dtype=torch.bool)
        return {"bbox": self.boxes, "valid": visible, "visible": visible}

    def get_frames(self, seq_id, frame_ids, anno=None, encoded=False):
        read = read_encoded if encoded else imread_rgb
        return [read(self.paths[f]) for f in frame_ids], {}, {}


def test_sampler_items_from_encoded_frames_match_decoded_ones(jpeg_files):
    processing = BBRegProcessing(mode="ebm", output_sz=96, num_proposals=8)
    fast = PairSampler([_FolderDataset(jpeg_files)], None, 6, max_gap=5, processing=processing, seed=4)
    plain = PairSampler([_FolderDataset(jpeg_files, encoded=False)], None, 6, max_gap=5, processing=processing,
                        seed=4)
    for index in range(6):
        a, b = fast[index], plain[index]
        for key in ("train_boxes", "test_boxes", "proposals", "proposal_log_q"):
            assert torch.equal(a[key], b[key]), key
        for key in ("train_images", "test_images"):
            assert a[key].shape == b[key].shape == (1, 3, 96, 96)
            # normalised units: 2 grey levels are about 2 / 255 / 0.225 = 0.035
            assert (a[key] - b[key]).abs().mean() < 0.035, key


def test_a_frame_that_fails_to_decode_is_skipped_with_a_warning(jpeg_files, tmp_path):
    data = jpeg_files[0].read_bytes()
    sos = data.rfind(b"\xff\xda")
    bad = tmp_path / "00000000.jpg"
    bad.write_bytes(data[:sos] + b"\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9")
    paths = [bad] + list(jpeg_files[1:])
    dataset = _FolderDataset(paths)
    processing = BBRegProcessing(mode="ebm", output_sz=64, num_proposals=4)
    sampler = PairSampler([dataset], None, 8, max_gap=5, processing=processing, seed=0)
    with pytest.warns(UserWarning, match="00000000.jpg"):
        items = [sampler[i] for i in range(8)]
    assert sum(int(item["read_errors"]) for item in items) >= 1 == min(1, sampler.read_errors)
    assert all(item["train_images"].shape == (1, 3, 64, 64) for item in items)


def test_default_workers_follow_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert default_num_workers() == 15 and default_num_workers(reserve=0) == 16
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert default_num_workers() == 1


def test_loader_options(jpeg_files):
    sampler = PairSampler([_FolderDataset(jpeg_files)], None, 4, max_gap=5,
                          processing=BBRegProcessing(output_sz=32, num_proposals=4), seed=0)
    with pytest.raises(ValueError, match="prefetch_factor"):
        LTRLoader("train", sampler, batch_size=2, num_workers=0, prefetch_factor=2)
    with pytest.raises(ValueError, match="prefetch_factor"):
        LTRLoader("train", sampler, batch_size=2, num_workers=1, prefetch_factor=0)
    loader = LTRLoader("train", sampler, batch_size=2, num_workers=1, prefetch_factor=3)
    assert loader.prefetch_factor == 3 and not loader.persistent_workers
    batches = list(loader)
    assert len(batches) == 2 and batches[0]["train_images"].shape == (2, 1, 3, 32, 32)


@pytest.fixture(scope="module")
def tiny_layout(tmp_path_factory):
    from ltr.synthetic import demo_benchmark as db
    from ltr.synthetic import layout_data as ld

    base = tmp_path_factory.mktemp("fastlayout")
    source = db.build_demo_benchmark(base / "demo", num_train=3, num_test=1, num_frames=4, num_train_frames=6,
                                     image_size=(96, 64), progress=False, workers=1)
    ld.build_layout_data(base / "data", source=source, frame_size=(192, 128), workers=1, progress=False)
    return source, base / "data"


@pytest.fixture
def no_dataset_roots(tmp_path, monkeypatch):
    settings = tmp_path / "settings.toml"
    settings.write_text('[paths]\nworkspace = "ws"\n[datasets]\nlasot = ""\ngot10k = ""\n')
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    return settings


@pytest.mark.filterwarnings("ignore:.*partial download.*")
def test_data_only_benchmark_prints_per_worker_and_total(tiny_layout, no_dataset_roots, capsys):
    from ltr import benchmark_training

    _, data = tiny_layout
    code = benchmark_training.main(["tiny_layout", "--data_only", "--data_root", str(data), "--datasets", "lasot",
                                    "got10k", "--pairs", "6", "--workers", "1", "--batch_size", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "JPEG decode" in out and "crop + resize" in out and "collate + shared memory" in out
    assert "pairs/s per worker" in out and "loader with 1 workers, batch 2:" in out
    result = benchmark_training.data_benchmark("tiny_layout", pairs=4, workers=0, batch_size=2,
                                               data_root=str(data), datasets=["lasot"], profile=False)
    assert result["pairs_per_s_per_worker"] > 0 and result["pairs_per_s_total"] is None
    assert result["profile_ms"] == {}
    assert benchmark_training.main(["tiny_layout", "--data_only", "--pairs", "0", "--data_root", str(data)]) == 2


@pytest.mark.filterwarnings("ignore:.*partial download.*")
def test_device_training_check_dry_run_on_the_cpu(tiny_layout, tmp_path):
    """The script's CPU parts; an exported WORKERS (the evaluation pools' variable) must not reach the loader."""
    source, _ = tiny_layout
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[paths]\nworkspace = "{tmp_path / "ws"}"\n')
    env = dict(os.environ, OUT=str(tmp_path / "out"), DATA=str(tmp_path / "data"), SOURCE=str(source),
               PYTHON=sys.executable, DEVICE="cpu", SETTING="tiny_layout", BATCH="2", TRAIN_WORKERS="1",
               ITERATIONS="1", WARMUP="0", AMPS="off", FRAME_SIZE="160x96", DATA_PAIRS="4", WORKERS="99",
               EBMTRACK_SETTINGS=str(settings))
    done = subprocess.run(["bash", str(REPO / "scripts" / "device_training_check.sh")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "training_check.txt").read_text()
    assert "loader workers: 1 " in report and "FAILED" not in report
    assert "decoding one frame at 1/8" in report
    assert "pairs/s per worker" in report and "loader with 1 workers, batch 2:" in report
    assert "tiny_layout --amp off --batch_size 2 --workers 1 --device cpu" in report
    assert "1 workers, amp off" in report and "pairs/s" in report.split("--amp off")[-1]
