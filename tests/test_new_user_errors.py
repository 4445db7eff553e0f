"""What a new user hits first: missing weights said once, the offline benchmarks built on first use."""
import pytest

from pytracking.run_tracker import main as run_tracker_main
from tests.fixtures_layouts import make_lasot, write_settings


def test_missing_weights_are_said_once_before_tracking(tmp_path, capsys):
    root = tmp_path / "data"
    make_lasot(root, sequences=("cat-1", "dog-1"), n_frames=3)
    argv = ["atom", "default", "--dataset_name", "folder", "--dataset_path", str(root), "--results_path",
            str(tmp_path / "res"), "--set", "net_path=nosuch.pth"]
    with pytest.raises(SystemExit) as exc:
        run_tracker_main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("network weights not found at params.net_path = nosuch.pth") == 1
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("name, builder", [("demo", "ltr.synthetic.demo_benchmark.ensure_demo_benchmark"),
                                           ("validation", "ltr.synthetic.validation_benchmark.ensure_validation_benchmark")])
def test_an_offline_benchmark_is_built_on_first_use(name, builder, tmp_path, monkeypatch):
    """``run_tracker --dataset_name validation`` on a fresh clone used to fail ('root does not exist'); the settings
    promise these benchmarks are built on first use, as run_demo does."""
    from pytracking.evaluation.datasets import dataset_root

    monkeypatch.setenv("EBMTRACK_SETTINGS", str(write_settings(tmp_path / "s.toml", {name: tmp_path / "absent"})))
    built = tmp_path / "built"
    calls = []
    monkeypatch.setattr(builder, lambda root=None, **kw: calls.append(root) or built)
    assert dataset_root(name) == built and calls == [None]
    (tmp_path / "absent").mkdir()
    assert dataset_root(name) == tmp_path / "absent" and len(calls) == 1   # an existing root is used as it is


@pytest.mark.parametrize("target, message", [
    ("out.avi2", "the file name must end in one of .mp4, .m4v, .mov, .avi"),
    ("{tmp}/a_file/out.mp4", "cannot make the folder"),
])
def test_a_bad_save_video_path_is_one_line_before_tracking(target, message, tmp_path, capsys):
    from pytracking.run_video import main as run_video_main

    (tmp_path / "a_file").write_text("not a folder")
    argv = ["opencv", "kcf", str(tmp_path / "missing.mp4"), "--no_display", "--optional_box", "1", "1", "5", "5",
            "--save_video", target.format(tmp=tmp_path)]
    assert run_video_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("run_video: error: --save_video") and message in err[0]


def test_run_vot_started_by_hand_says_it_needs_a_trax_client():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pytracking.run_vot", "opencv", "kcf"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "no TraX client answered" in done.stderr and "run_vot is a TraX server" in done.stderr
    assert "Traceback" not in done.stderr
