"""The tracker benchmark command: per-part medians that add up, the machine named, the JSON record."""
import json

import torch

from pytracking import benchmark_tracker


def test_benchmark_command_names_the_machine_and_writes_json(tmp_path, capsys):
    previous = torch.get_num_threads()
    try:
        benchmark_tracker.main(["atom", "fast", "--frames", "3", "--threads", "1", "--device", "cpu",
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
    assert 0.0 < record["non_backbone_share"] < 1.0
    assert record["machine"] in out


def test_machine_description_of_the_cpu():
    text = benchmark_tracker.machine_description(torch.device("cpu"))
    assert text.startswith("CPU ") and text.endswith(f"torch {torch.__version__}")
