"""The main command (run_demo), the comparison (compare_demo) and the parameter files / Gaussian-NLL
path behind them, on a tiny demo benchmark built in tmp_path (2 test sequences x 8 frames, 96x64)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from independent_metrics import auc_and_precision
from ltr.data.image_loader import imread_rgb
from ltr.synthetic.demo_benchmark import build_demo_benchmark
from pytracking import run_demo
from pytracking.evaluation import demo, demo_comparison
from pytracking.evaluation.demo_comparison import COMPARE_COLUMNS, ComparisonEntry, run_comparison
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.results_io import read_boxes
from pytracking.parameter.atom import default as default_params
from pytracking.parameter.atom import gauss as gauss_params
from pytracking.parameter.atom import iou as iou_params
from pytracking.parameter.atom import multiscale as multiscale_params
from pytracking.parameter.atom import nce as nce_params
from pytracking.parameter.atom import no_refine as no_refine_params
from pytracking.tracker.atom import get_tracker_class
from pytracking.tracker.atom.atom import missing_network_file
from pytracking.tracker.atom.box_estimator import RegressionBoxEstimator
from pytracking.tracker.atom.settings import ATOMSettings

TINY = {"num_train": 2, "num_test": 2, "num_frames": 8, "num_train_frames": 6, "image_size": (96, 64), "seed": 0,
            "workers": 1, "progress": False}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The tiny tracker problems are fastest on one thread (two threads spin on a busy 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    return build_demo_benchmark(tmp_path_factory.mktemp("bench") / "demo", **TINY)


def _absent_weights(module, monkeypatch, path: Path) -> None:
    """Make ``module.parameters()`` point ``net_path`` at ``path`` (which does not exist)."""
    original = module.parameters

    def patched():
        params = original()
        params.net_path = str(path)
        return params
    monkeypatch.setattr(module, "parameters", patched)


# ------------------------------------------------------------------------------- parameter files
def test_parameter_files_point_at_shipped_weights():
    networks = Path(default_params.__file__).resolve().parents[2] / "networks"
    expected = {default_params: "atom_ebm_effnet.pth", nce_params: "atom_nce_effnet.pth",
                iou_params: "atom_iou_effnet.pth", gauss_params: "atom_gauss_effnet.pth"}
    for module, name in expected.items():
        params = module.parameters()
        assert Path(params.net_path) == networks / name
        assert ATOMSettings.from_params(params).network.use_registry_fallback is False
    settings = {m: ATOMSettings.from_params(m.parameters()) for m in (default_params, nce_params, gauss_params)}
    # the same refinement budget; only the step lengths are each head's own (searched on train-side sequences), and
    # default's size-evidence threshold (in ML-IS's score units) and first-frame adaptation (ML-IS's objective) are off
    # for the other heads
    nce_refinement = settings[nce_params].refinement
    default_refinement = settings[default_params].refinement
    assert replace(nce_refinement, step_length=default_refinement.step_length,
                   size_min_gain=default_refinement.size_min_gain,
                   adapt_steps=default_refinement.adapt_steps) == default_refinement
    assert nce_refinement.size_min_gain == 0.0 and default_refinement.size_min_gain > 0
    assert nce_refinement.adapt_steps == 0 and default_refinement.adapt_steps > 0
    assert nce_refinement.step_length != settings[default_params].refinement.step_length
    assert settings[gauss_params].network.box_estimator_type == "regression"
    for module in (no_refine_params, multiscale_params):       # backbone only: never the estimator files
        params = module.parameters()
        assert params.net_path is None and params.use_box_refinement is False
        assert missing_network_file(params) is None


@pytest.mark.parametrize("module, setting", [(default_params, "atom_ebm_cached"), (nce_params, "atom_nce_cached"),
                                             (iou_params, "atom_iou_cached"), (gauss_params, "atom_gauss_cached")])
def test_missing_weights_error_names_the_train_setting(tmp_path, module, setting):
    params = module.parameters()
    params.device = "cpu"
    params.net_path = str(tmp_path / Path(params.net_path).name)
    assert missing_network_file(params) == Path(params.net_path)
    with pytest.raises(FileNotFoundError, match=f"bbreg {setting}"):
        get_tracker_class()(params)


# ------------------------------------------------------------------------------- Gaussian-NLL path
def _regression_net(log_scale: float):
    """regression_tiny whose head predicts the offset (0, 0, log_scale, log_scale) for every box."""
    from ltr.models.registry import build
    net = build("regression_tiny")
    with torch.no_grad():
        net.bb_regressor.regressor.weight.zero_()
        net.bb_regressor.regressor.bias.copy_(torch.tensor([0.0, 0.0, log_scale, log_scale, -1, -1, -1, -1]))
    return net


def test_gauss_path_runs_random_regression_tiny(demo_root):
    params = gauss_params.parameters()
    params.device = "cpu"
    params.net_constructor = ("regression_tiny", {})
    params.image_sample_size = 64
    params.debug = 1
    tracker = get_tracker_class()(params)
    assert isinstance(tracker.estimator, RegressionBoxEstimator)
    seq = get_dataset("demo", demo_root, "test")[0]
    tracker.initialize(imread_rgb(seq.frames[0]), seq.init_info())
    for frame in seq.frames[1:]:
        out = tracker.track(imread_rgb(frame), {})
        box = np.asarray(out["target_bbox"])
        assert np.all(np.isfinite(box)) and np.all(box[2:] > 0)
        if out["flag"] != "not_found":
            assert out["debug"]["refinement"]["final_boxes"].shape == (1, 4)
            assert np.all(np.isfinite(out["debug"]["refinement"]["scores"]))


def test_gauss_path_applies_the_predicted_mean_once_per_frame():
    params = gauss_params.parameters()
    params.device = "cpu"
    params.net = _regression_net(math.log(1.1))
    params.image_sample_size = 64
    params.target_not_found_threshold = -1.0     # always located, so the estimator always runs
    params.max_scale_factor = 10.0
    tracker = get_tracker_class()(params)
    image = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    tracker.initialize(image, {"init_bbox": [50.0, 30.0, 20.0, 16.0]})
    sizes = [np.asarray(tracker.track(image, {})["target_bbox"])[2:] for _ in range(2)]
    np.testing.assert_allclose(sizes[0], [22.0, 17.6], rtol=1e-4)   # one step of exp(log 1.1), no ascent
    np.testing.assert_allclose(sizes[1], [24.2, 19.36], rtol=1e-4)


def test_estimator_type_must_match_the_head():
    params = gauss_params.parameters()
    params.device = "cpu"
    params.net = _regression_net(0.0)
    params.box_estimator_type = "score"
    with pytest.raises(ValueError, match="regression head"):
        get_tracker_class()(params)


# ------------------------------------------------------------------------------- main command
def test_main_command_end_to_end_and_resume(demo_root, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["opencv", "kcf", "--dataset_path", str(demo_root),
            "--results_path", str(tmp_path / "results"), "--out", str(out), "--threads", "0"]
    assert run_demo.main(argv) == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("| tracker"))
    assert [c.strip() for c in header.strip("|").split("|")] == demo.MAIN_COLUMNS
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns) == demo.MAIN_COLUMNS
    assert table["tracker"].tolist() == ["opencv/kcf"]
    sequences = get_dataset("demo", demo_root, "test")
    run_dir = tmp_path / "results" / "demo" / "opencv" / "kcf"
    auc, precision = auc_and_precision({s.name: s.ground_truth_rect for s in sequences},
                                       {s.name: read_boxes(run_dir / f"{s.name}.txt") for s in sequences},
                                       {s.name: s.target_visible for s in sequences})
    assert table.loc[0, "AUC"] == pytest.approx(auc, abs=0.051)      # the table rounds to 0.1
    assert table.loc[0, "P"] == pytest.approx(precision, abs=0.051)
    assert table.loc[0, "FPS"] > 0
    assert (out / "results.md").read_text().startswith("| tracker")
    for name in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png"):
        assert (out / name).stat().st_size > 1000
    results_dir = tmp_path / "results" / "demo" / "opencv" / "kcf"
    names = [s.name for s in get_dataset("demo", demo_root, "test")]
    assert sorted(p.stem for p in results_dir.glob("*.txt") if not p.stem.endswith("_time")) == sorted(names)
    assert (results_dir / "benchmark.json").is_file()
    # second call: nothing re-run, same scores
    assert run_demo.main(argv) == 0
    assert "skipping 2 finished" in capsys.readouterr().out
    again = pd.read_csv(out / "results.csv")
    assert again.loc[0, "AUC"] == pytest.approx(table.loc[0, "AUC"])


def test_main_command_redoes_results_of_another_benchmark_build(demo_root, tmp_path, capsys):
    kwargs = {"tracker_name": "opencv", "param": "kcf", "threads": 0, "dataset_path": demo_root,
                  "results_path": tmp_path, "out_dir": tmp_path / "out", "progress": False}
    demo.run_demo(**kwargs)
    marker = tmp_path / "demo" / "opencv" / "kcf" / "benchmark.json"
    marker.write_text('{"content_sha256": "another build"}\n')
    capsys.readouterr()
    demo.run_demo(**kwargs)
    assert "holds results of another build of the benchmark: redoing them" in capsys.readouterr().out
    assert "another build" not in marker.read_text()


def test_an_interrupted_run_resumes_instead_of_redoing(demo_root, tmp_path, capsys, monkeypatch):
    """The folder is marked with the build before tracking: a run stopped after some sequences (here: a
    ``run_dataset`` that raises after the first) leaves results the next call keeps."""
    kwargs = {"tracker_name": "opencv", "param": "kcf", "threads": 0, "dataset_path": demo_root,
              "results_path": tmp_path, "out_dir": tmp_path / "out", "progress": False}
    real = demo.run_dataset

    def interrupted(sequences, trackers, **options):
        real(sequences[:1], trackers, **options)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "run_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(**kwargs)
    monkeypatch.setattr(demo, "run_dataset", real)
    capsys.readouterr()
    demo.run_demo(**kwargs)
    out = capsys.readouterr().out
    assert "redoing" not in out and "skipping 1 finished" in out


def test_main_command_atom_no_refine_needs_no_trained_weights(demo_root, tmp_path, monkeypatch):
    monkeypatch.setattr(default_params, "NETWORKS_DIR", tmp_path / "no_networks_here")
    original = no_refine_params.parameters

    def small():  # the real file's network (ImageNet EfficientNet-Lite0), a cheaper first frame
        params = original()
        params.image_sample_size = 128
        params.augmentation_rotations = ()
        params.augmentation_blur_sigmas = ()
        params.init_CG_iter = 12
        return params
    monkeypatch.setattr(no_refine_params, "parameters", small)
    outcome = demo.run_demo("atom", "no_refine", threads=0, device="cpu", dataset_path=demo_root,
                                results_path=tmp_path, out_dir=tmp_path / "out", progress=False)
    assert not outcome.failed
    row = outcome.table.iloc[0]
    assert row["tracker"] == "atom/no_refine" and 0.0 < row["AUC"] <= 100.0 and row["FPS"] > 0


def test_main_command_missing_weights_fails_before_building(tmp_path, monkeypatch):
    _absent_weights(iou_params, monkeypatch, tmp_path / "atom_iou_effnet.pth")
    target = tmp_path / "would_be_built"
    with pytest.raises(FileNotFoundError, match="bbreg atom_iou_cached"):
        demo.run_demo("atom", "iou", threads=0, dataset_path=target, results_path=tmp_path, progress=False)
    assert not target.exists()


def test_prepare_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "something.txt").write_text("not a benchmark\n")
    with pytest.raises(ValueError, match="dataset_path"):
        demo.prepare_demo_benchmark(tmp_path)


# ------------------------------------------------------------------------------- comparison
def test_comparison_reports_missing_weights_instead_of_crashing(demo_root, tmp_path, monkeypatch):
    _absent_weights(iou_params, monkeypatch, tmp_path / "atom_iou_effnet.pth")
    entries = [ComparisonEntry("IoU-Net", "atom", "iou"), ComparisonEntry("OpenCV KCF", "opencv", "kcf")]
    outcome = run_comparison(entries, threads=0, dataset_path=demo_root, results_path=tmp_path,
                             out_dir=tmp_path / "out", progress=False)
    table = outcome.table
    assert list(table.columns) == COMPARE_COLUMNS
    iou_row, kcf_row = table.iloc[0], table.iloc[1]
    assert iou_row["note"] == "weights missing: atom_iou_effnet.pth" and math.isnan(iou_row["AUC"])
    assert kcf_row["note"] == "" and 0.0 < kcf_row["AUC"] <= 100.0 and kcf_row["FPS"] > 0
    assert not (tmp_path / "demo" / "atom" / "iou").exists()       # nothing was run for it
    markdown = outcome.md_path.read_text()
    assert "weights missing: atom_iou_effnet.pth" in markdown and "| OpenCV KCF" in markdown
    assert (tmp_path / "out" / "compare.csv").is_file() and (tmp_path / "out" / "success_plot.png").is_file()
    # a second run folder of the same tracker (run_demo --runid 0): the row is the mean of both, and says so
    import shutil
    shutil.copytree(tmp_path / "demo" / "opencv" / "kcf", tmp_path / "demo" / "opencv" / "kcf_000")
    again = run_comparison(entries[1:], threads=0, dataset_path=demo_root, results_path=tmp_path,
                           out_dir=tmp_path / "out2", progress=False)
    assert again.table.iloc[0]["note"] == "mean of 2 runs"
    assert again.table.iloc[0]["AUC"] == pytest.approx(kcf_row["AUC"])


def test_compare_flag_of_the_main_command(demo_root, tmp_path, monkeypatch, capsys):
    _absent_weights(nce_params, monkeypatch, tmp_path / "atom_nce_effnet.pth")
    monkeypatch.setattr(demo_comparison, "DEFAULT_ENTRIES", (ComparisonEntry("EBM (NCE+)", "atom", "nce"),
                                                          ComparisonEntry("OpenCV KCF", "opencv", "kcf")))
    argv = ["--compare", "--dataset_path", str(demo_root), "--results_path", str(tmp_path), "--out",
            str(tmp_path / "out"), "--threads", "0"]
    assert run_demo.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| EBM (NCE+)" in printed and "weights missing: atom_nce_effnet.pth" in printed
    assert "| OpenCV KCF" in printed


def test_ebm_margins():
    table = pd.DataFrame({"tracker": ["EBM (ML-IS)", "IoU-Net", "KCF"], "AUC": [60.0, 58.5, math.nan]})
    assert demo_comparison.ebm_margins(table) == {"IoU-Net": pytest.approx(1.5)}


# ------------------------------------------------------------------------------- one results layout
def test_analysis_of_the_demo_scores_what_run_demo_wrote(demo_root, tmp_path, monkeypatch, capsys):
    """``run_demo`` then ``analysis --dataset_name demo`` with no other flag: the same tracker, the same
    scores; plots live outside the results tree; the printed table names the benchmark's content hash."""
    from ltr.synthetic.demo_benchmark import read_manifest
    from pytracking.analysis.__main__ import main as analysis_main
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[paths]\nresults = "{tmp_path / "results"}"\nworkspace = "{tmp_path / "ws"}"\n'
                        f'[datasets]\ndemo = "{demo_root}"\n')
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(settings))
    assert run_demo.main(["opencv", "kcf", "--dataset_path", str(demo_root), "--threads", "0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    content_hash = read_manifest(demo_root)["content_sha256"]
    assert f"build sha256 {content_hash[:16]} " in printed
    demo_table = pd.read_csv(tmp_path / "plots" / "demo" / "opencv" / "kcf" / "results.csv")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["demo"]     # no plots in the results
    assert analysis_main(["--dataset_name", "demo"]) == 0
    scored = pd.read_csv(tmp_path / "plots" / "demo" / "results.csv")
    assert scored["tracker"].tolist() == ["opencv/kcf"]
    for column in ("AUC", "P", "NP", "OP50", "OP75"):
        assert scored.loc[0, column] == pytest.approx(demo_table.loc[0, column])
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["demo"]


def test_old_tracker_and_param_options_still_work():
    args = run_demo.parse_args(["--tracker", "opencv", "--param", "kcf"])
    assert (args.tracker_name, args.tracker_param) == ("opencv", "kcf")
    args = run_demo.parse_args(["opencv", "csrt"])
    assert (args.tracker_name, args.tracker_param) == ("opencv", "csrt")
    assert (run_demo.parse_args([]).tracker_name, run_demo.parse_args([]).tracker_param) == ("atom", "default")
