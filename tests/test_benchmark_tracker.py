"""The tracker benchmark command: per-part medians that add up, the machine named, the JSON record."""
import json

import pytest
import torch

from pytracking import benchmark_tracker


def test_benchmark_command_names_the_machine_and_writes_json(tmp_path, capsys):
    previous = torch.get_num_threads()
    try:
        benchmark_tracker.main(["atom", "fast", "--frames", "3", "--torch_threads", "1", "--device", "cpu",
                                "--output", str(tmp_path / "speed.json")])
    finally:
        torch.set_num_threads(previous)
    out = capsys.readouterr().out
    assert "machine: CPU " in out and "logical CPUs" in out and f"torch {torch.__version__}" in out
    record = json.loads((tmp_path / "speed.json").read_text())
    assert (record["tracker"], record["param"], record["frames"], record["threads"]) == ("atom", "fast", 3, 1)
    seconds = record["seconds"]
    assert all(seconds[k] > 0 for k in ("backbone", "refinement", "total"))
    assert abs(record["fps"] - 1.0 / seconds["total"]) < 1e-9
    assert abs(record["mean_fps"] - 1.0 / seconds["mean_total"]) < 1e-9 and seconds["mean_total"] > 0
    assert "mean over all frames" in out
    assert 0.0 < record["non_backbone_share"] < 1.0
    assert record["machine"] in out


def test_machine_description_of_the_cpu():
    text = benchmark_tracker.machine_description(torch.device("cpu"))
    assert text.startswith("CPU ") and text.endswith(f"torch {torch.__version__}")


@pytest.mark.parametrize("argv, message", [
    (["nosuch", "default"], "argument tracker_name: unknown tracker 'nosuch'; available: ["),
    (["atom", "nosuch"], "argument tracker_param: unknown parameter file 'nosuch' for atom; available: ["),
])
def test_unknown_tracker_or_param_is_one_line_not_a_traceback(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark_tracker.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.startswith("usage: python -m pytracking.benchmark_tracker")


def test_former_option_spellings_are_hidden_aliases(capsys):
    args = benchmark_tracker.build_parser().parse_args(["--threads", "3", "--image-sample-size", "200"])
    assert (args.torch_threads, args.image_sample_size) == (3, 200)
    benchmark_tracker.build_parser().print_help()
    help_text = capsys.readouterr().out
    assert "--torch_threads" in help_text and "--image_sample_size" in help_text
    assert "--image-sample-size" not in help_text and "--threads" not in help_text.replace("--torch_threads", "")


def test_compare_capabilities_runs_each_kernel_set_beside_csrt(tmp_path, capsys):
    """Each child process really runs on the kernels asked for (torch reports them), with CSRT right after it."""
    rows = benchmark_tracker.compare_capabilities("atom", "fast", frames=2, torch_threads=1,
                                                  capabilities=("avx2", "plain"))
    assert [row["kernels"] for row in rows] == ["avx2", "plain"]
    assert [row["capability"] for row in rows] == ["AVX2", "DEFAULT"]
    assert rows[0]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    for row in rows:
        assert row["fps"] > 0 and row["baseline_fps"] > 0
        assert row["ratio"] == pytest.approx(row["fps"] / row["baseline_fps"])
        assert row["mean_ratio"] == pytest.approx(row["mean_fps"] / row["mean_baseline_fps"])


def test_compare_capabilities_flag_prints_the_table(tmp_path, capsys, monkeypatch):
    fake = [{"kernels": "native", "capability": "AVX512", "fps": 30.0, "baseline_fps": 20.0, "ratio": 1.5,
             "mean_fps": 25.0, "mean_baseline_fps": 20.0, "mean_ratio": 1.25}]
    monkeypatch.setattr(benchmark_tracker, "compare_capabilities", lambda *a, **k: fake)
    out = tmp_path / "caps.json"
    assert benchmark_tracker.main(["atom", "fast", "--compare_capabilities", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "native" in printed and "ratio 1.50x CSRT" in printed and "machine: CPU" in printed
    assert "means: 25.0 against 20.0 fps, 1.25x" in printed
    assert json.loads(out.read_text())["rows"] == fake


def test_lost_frames_times_the_enlarged_search_patch(monkeypatch):
    """--lost_frames K: every timed frame is searched on the lost-target search's enlarged patch."""
    from pytracking.tracker.atom.atom import ATOM

    crop = ATOM.crop_frame
    enlarged: list[bool] = []

    def recording_crop(self, image):
        frame = crop(self, image)
        enlarged.append(frame.enlarged)
        return frame

    monkeypatch.setattr(ATOM, "crop_frame", recording_crop)
    previous = torch.get_num_threads()
    try:
        benchmark_tracker.benchmark("atom", "fast", frames=2, device="cpu", warmup=1)
        assert enlarged == [False] * 3
        enlarged.clear()
        result = benchmark_tracker.benchmark("atom", "fast", frames=2, device="cpu", warmup=1, lost_frames=5)
    finally:
        torch.set_num_threads(previous)
    assert enlarged == [True] * 3
    assert result["backbone"] > 0 and result["total"] > 0


def test_lost_frames_of_a_tracker_without_lost_search_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark_tracker.main(["opencv", "csrt", "--frames", "2", "--lost_frames", "1"])
    assert exit_.value.code == 2
    assert "--lost_frames: tracker 'opencv' has no lost-target search" in capsys.readouterr().err
