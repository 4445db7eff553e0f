"""``--set key=value``: parameter-file keys set on top of a parameter file, checked, run into their own folder."""
import json
import re

import pytest

from pytracking.analysis.evaluate import find_run_dirs
from pytracking.evaluation.tracker import OverrideError, Tracker
from pytracking.evaluation.tracker_factory import build_tracker_factory
from pytracking.run_demo import main as run_demo_main
from pytracking.run_tracker import main as run_tracker_main
from pytracking.tracker.atom.settings import ATOMSettings
from pytracking.utils.params import overrides_digest, parse_overrides
from tests.fixtures_layouts import make_lasot


def test_parse_overrides_reads_literals_and_keeps_other_text():
    got = parse_overrides(["lost_search_delay=0", "box_refinement_step_length=(1e-4, 2e-4)", "refinement_gate=True",
                           "net_path=/tmp/head.pth", "expert_paths=()", "net_constructor=None", "tracker_type=kcf"])
    assert got == {"lost_search_delay": 0, "box_refinement_step_length": (1e-4, 2e-4), "refinement_gate": True,
                   "net_path": "/tmp/head.pth", "expert_paths": (), "net_constructor": None, "tracker_type": "kcf"}
    assert parse_overrides([]) == {}


@pytest.mark.parametrize("pairs, message", [
    (["lost_search_delay"], "expected key=value with an identifier key, got 'lost_search_delay'"),
    (["=3"], "got '=3'"),
    (["a-b=3"], "got 'a-b=3'"),
    (["seed=1", "seed=2"], "'seed' given twice"),
])
def test_parse_overrides_names_the_bad_pair(pairs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        parse_overrides(pairs)
    assert str(err.value).startswith("argument --set: ")


def test_the_digest_depends_on_the_overrides_not_their_order():
    a = overrides_digest({"x": 1, "y": (1.0, 2.0)})
    assert a == overrides_digest({"y": (1.0, 2.0), "x": 1}) and re.fullmatch(r"[0-9a-f]{8}", a)
    assert a != overrides_digest({"x": 2, "y": (1.0, 2.0)}) and a != overrides_digest({"x": 1})


def test_a_tracker_with_overrides_runs_them_into_its_own_folder(tmp_path):
    overrides = {"lost_search_delay": 0, "box_refinement_step_length": (1e-4, 1e-4, 5e-4, 5e-4)}
    tracker = Tracker("atom", "default", run_id=2, results_root=tmp_path, overrides=overrides)
    digest = overrides_digest(overrides)
    assert tracker.run_label == f"atom/default-{digest}_002"
    assert tracker.results_dir == tmp_path / "atom" / f"default-{digest}_002"
    params = tracker.get_parameters(device="cpu")
    plain = Tracker("atom", "default", run_id=2).get_parameters(device="cpu")
    assert params.lost_search_delay == 0 and params.box_refinement_step_length == (1e-4, 1e-4, 5e-4, 5e-4)
    assert params.seed == plain.seed                               # the run number still offsets the seed
    settings = ATOMSettings.from_params(params)
    assert settings.lost_search_delay == 0 and settings.refinement.step_length == (1e-4, 1e-4, 5e-4, 5e-4)
    assert Tracker("atom", "default", run_id=2).run_label == "atom/default_002"   # no overrides: the file's folder

    tracker.record_overrides()
    assert not tracker.results_dir.exists()            # nothing tracked: no folder (analysis would list it)
    tracker.results_dir.mkdir(parents=True)
    tracker.record_overrides()
    record = json.loads((tracker.results_dir / "overrides.json").read_text())
    assert record == {"tracker": "atom", "parameter_file": "default",
                      "overrides": {"lost_search_delay": "0",
                                    "box_refinement_step_length": "(0.0001, 0.0001, 0.0005, 0.0005)"}}
    # the analysis finds the run folders under <param>-<digest>
    assert find_run_dirs(tmp_path, f"atom/default-{digest}") == [tracker.results_dir]


@pytest.mark.parametrize("tracker, param, overrides, message", [
    ("atom", "default", {"lost_search_dela": 1},
     "pytracking/parameter/atom/default.py: unknown tracker parameter 'lost_search_dela' (did you mean "
     "'lost_search_delay'?)"),
    ("atom", "default", {"lost_search_delay": -1},
     "pytracking/parameter/atom/default.py: lost_search_delay must be >= 0, got -1"),
    ("atom", "nce", {"image_sample_size": 8}, "pytracking/parameter/atom/nce.py: image_sample_size must be >= 16"),
    ("atom", "default", {"box_estimator_type": "iou"}, "box_estimator_type must be 'auto', 'score' or 'regression'"),
    ("atom", "default", {"lost_search_growth": "fast"}, "tracker parameter 'lost_search_growth' = 'fast'"),
    ("atom", "default", {"box_refinement_iter": -3}, "box_refinement_iter must be >= 0, got -3"),
    ("atom", "default", {"box_refinement_iter": 2.5}, "'box_refinement_iter' = 2.5: expected an integer"),
    ("atom", "default", {"refinement_gate": "maybe"}, "'refinement_gate' = 'maybe': expected True or False"),
    ("atom", "default", {"learning_rate": -1.0}, "learning_rate must be in (0, 1], got -1.0"),
    ("atom", "default", {"box_refinement_decay": 2.0}, "box_refinement_decay must be in [0, 1], got 2.0"),
    ("atom", "default", {"box_refinement_step_length": (1e-4, 1e-4)}, "box_refinement_step_length must hold 4"),
    ("opencv", "csrt", {"tracker_typ": "kcf"},
     "pytracking/parameter/opencv/csrt.py: unknown tracker parameter 'tracker_typ' (did you mean 'tracker_type'?)"),
])
def test_a_bad_override_is_refused_when_the_tracker_is_made(tracker, param, overrides, message):
    with pytest.raises(OverrideError, match=re.escape(message)):
        Tracker(tracker, param, overrides=overrides)
    with pytest.raises(OverrideError, match=re.escape(message)):
        build_tracker_factory(tracker, param, overrides=overrides)


def test_opencv_overrides_change_the_tracker():
    tracker = build_tracker_factory("opencv", "csrt", device="cpu", overrides={"tracker_type": "kcf"})()
    assert tracker.params.tracker_type == "kcf"


def test_run_tracker_set_writes_results_beside_an_overrides_record(tmp_path, capsys):
    root = tmp_path / "data"
    make_lasot(root, sequences=("cat-1", "dog-1"), n_frames=4)
    results = tmp_path / "res"
    argv = ["opencv", "csrt", "--dataset_name", "folder", "--dataset_path", str(root), "--results_path",
            str(results), "--sequence", "dog-1", "--set", "tracker_type=kcf"]
    assert run_tracker_main(argv) == 0
    folder = results / "folder" / "opencv" / f"csrt-{overrides_digest({'tracker_type': 'kcf'})}"
    assert sorted(p.name for p in folder.iterdir()) == ["dog-1.txt", "dog-1_time.txt", "overrides.json"]
    out = capsys.readouterr().out
    assert "opencv/csrt with tracker_type='kcf'" in out and str(folder) in out
    assert not (results / "folder" / "opencv" / "csrt").exists()


@pytest.mark.parametrize("main, argv, message", [
    (run_tracker_main, ["opencv", "csrt", "--dataset_name", "folder", "--set", "tracker_typ=kcf"],
     "error: argument --set: pytracking/parameter/opencv/csrt.py: unknown tracker parameter 'tracker_typ'"),
    (run_tracker_main, ["opencv", "csrt", "--dataset_name", "folder", "--set", "kcf"],
     "error: argument --set: expected key=value with an identifier key, got 'kcf'"),
    (run_tracker_main, ["opencv", "csrt", "--dataset_name", "folder", "--runid", "1000", "--set", "tracker_type=kcf"],
     "error: run_id must be an integer in 0..999"),
    (run_demo_main, ["atom", "default", "--set", "lost_search_delay=-2"],
     "error: argument --set: pytracking/parameter/atom/default.py: lost_search_delay must be >= 0, got -2"),
    (run_demo_main, ["--compare", "--set", "lost_search_delay=0"], "error: argument --set: applies to one tracker"),
])
def test_cli_set_errors_name_the_argument(main, argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def test_booleans_and_integers_are_read_strictly():
    """``bool('false')`` is True and ``int(2.5)`` is 2: the settings read text and numbers strictly instead."""
    for text, expected in (("false", False), ("False", False), ("true", True), (0, False), (1, True)):
        assert ATOMSettings.from_params(parse_overrides([f"refinement_gate={text}"])).gate.enabled is expected
    assert ATOMSettings.from_params({"box_refinement_iter": 4.0}).refinement.num_iter == 4
    assert ATOMSettings.from_params({"image_sample_size": "128"}).image_sample_size == 128
    with pytest.raises(ValueError, match="expected True or False, got 2"):
        ATOMSettings.from_params({"refinement_gate": 2})
    with pytest.raises(ValueError, match="expected an integer, got True"):
        ATOMSettings.from_params({"box_refinement_iter": True})



def test_trackerlist_takes_overrides_for_experiment_modules(tmp_path):
    from pytracking.evaluation.tracker import trackerlist

    digest = overrides_digest({"tracker_type": "kcf"})
    labels = [t.run_label for t in trackerlist("opencv", "csrt", [0, 1], results_root=tmp_path,
                                               overrides={"tracker_type": "kcf"})]
    assert labels == [f"opencv/csrt-{digest}_000", f"opencv/csrt-{digest}_001"]


def test_run_experiment_set_runs_every_tracker_with_the_overrides(tmp_path, monkeypatch, capsys):
    import pytracking.experiments.baselines as baselines
    from pytracking.evaluation import get_dataset, trackerlist
    from pytracking.run_experiment import main as run_experiment_main

    root = tmp_path / "data"
    make_lasot(root, sequences=("cat-1",), n_frames=4)
    results = tmp_path / "res"

    def tiny():
        return trackerlist("opencv", "csrt", results_root=results), get_dataset("folder", root)

    monkeypatch.setattr(baselines, "tiny", tiny, raising=False)
    assert run_experiment_main(["baselines", "tiny", "--set", "tracker_type=kcf", "--torch_threads", "1"]) == 0
    folder = results / "folder" / "opencv" / f"csrt-{overrides_digest({'tracker_type': 'kcf'})}"
    assert sorted(p.name for p in folder.iterdir()) == ["cat-1.txt", "cat-1_time.txt", "overrides.json"]
    assert "every tracker with tracker_type='kcf'" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        run_experiment_main(["baselines", "tiny", "--set", "tracker_typ=kcf"])
    assert exc.value.code == 2
    assert "error: argument --set: pytracking/parameter/opencv/csrt.py: unknown tracker parameter 'tracker_typ'" \
        in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_experiment_main(["baselines", "tiny", "--torch_threads", "0"])
    assert "argument --torch_threads: expected an integer >= 1, got 0" in capsys.readouterr().err
