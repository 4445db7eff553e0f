"""``run_demo --benchmark validation|both``: the report-only benchmark's table, results kept apart from the demo's."""
from __future__ import annotations

import pytest

from ltr.synthetic.validation_benchmark import build_validation_benchmark
from pytracking import run_demo
from pytracking.evaluation import demo_comparison
from pytracking.evaluation.demo_comparison import ComparisonEntry, run_comparison


@pytest.fixture(scope="module")
def validation_root(tmp_path_factory):
    return build_validation_benchmark(tmp_path_factory.mktemp("val") / "validation", max_frames=3, progress=False,
                                      workers=1)


def test_validation_table_of_the_main_command(validation_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_comparison, "prepare_validation_benchmark", lambda progress=True: validation_root)
    monkeypatch.setattr(demo_comparison, "VALIDATION_ENTRIES", (ComparisonEntry("OpenCV KCF", "opencv", "kcf"),))
    argv = ["--compare", "--benchmark", "validation", "--results_path", str(tmp_path), "--out", str(tmp_path / "out"),
            "--threads", "0", "--quiet"]
    assert run_demo.main(argv) == 0
    printed = capsys.readouterr().out
    assert "Validation benchmark (report only: nothing is tuned on it) (9 sequences, 27 frames)" in printed
    assert "| OpenCV KCF" in printed
    assert len(list((tmp_path / "validation" / "opencv" / "kcf").glob("*-1.txt"))) == 9
    assert not (tmp_path / "demo").exists()
    assert "| OpenCV KCF" in (tmp_path / "out" / "compare.md").read_text()


def test_one_tracker_with_a_run_id_on_the_validation_benchmark(validation_root, tmp_path, monkeypatch, capsys):
    """Without --compare, --benchmark validation runs the named tracker (its run id kept), not the comparison."""
    from pytracking.evaluation import demo

    monkeypatch.setattr(demo, "prepare_validation_benchmark", lambda progress=True: validation_root)
    argv = ["opencv", "kcf", "--runid", "1", "--benchmark", "validation", "--results_path", str(tmp_path),
            "--out", str(tmp_path / "out"), "--threads", "0", "--quiet"]
    assert run_demo.main(argv) == 0
    printed = capsys.readouterr().out
    assert "validation benchmark, test split" in printed and "opencv/kcf_001" in printed
    assert len(list((tmp_path / "validation" / "opencv" / "kcf_001").glob("*-1.txt"))) == 9
    assert not (tmp_path / "validation" / "atom").exists() and not (tmp_path / "demo").exists()
    with pytest.raises(SystemExit):
        run_demo.main(["--benchmark", "validation", "--dataset_path", str(tmp_path)])
    assert "demo benchmark only" in capsys.readouterr().err


def test_validation_default_rows_and_argument_errors(tmp_path, capsys):
    assert [(e.tracker, e.param) for e in demo_comparison.VALIDATION_ENTRIES] == [
        ("atom", "default"), ("atom", "nce"), ("atom", "iou"), ("atom", "gauss"), ("atom", "no_refine"),
        ("opencv", "csrt"), ("opencv", "kcf")]
    with pytest.raises(SystemExit):
        run_demo.main(["--benchmark", "both"])
    assert "needs --compare" in capsys.readouterr().err
    with pytest.raises(ValueError, match="dataset_path"):
        run_comparison(benchmark="validation", dataset_path=tmp_path)
    with pytest.raises(ValueError, match="benchmark"):
        run_comparison(benchmark="lasot")
