"""End to end on a tiny fixture: run_tracker (CLI) -> analysis (CLI) -> submission pack."""
import zipfile

import numpy as np
import pandas as pd
import pytest

from fixtures_layouts import make_lasot
from independent_metrics import auc_and_precision
from pytracking import run_tracker
from pytracking.analysis.__main__ import main as analysis_main
from pytracking.evaluation import get_dataset
from pytracking.evaluation.results_io import read_boxes
from pytracking.util_scripts.pack_trackingnet import pack_trackingnet


def test_run_analyse_pack(tmp_path):
    data, results = tmp_path / "data", tmp_path / "results"
    fixtures = make_lasot(data, sequences=("cat-1", "cat-2", "dog-1"), n_frames=6, image_size=(64, 48))
    common = ["--dataset_name", "folder", "--dataset_path", str(data)]
    assert run_tracker.main(["opencv", "kcf", *common, "--results_path", str(results)]) == 0

    csv = tmp_path / "scores.csv"
    assert analysis_main([*common, "--results_path", str(results), "--csv", str(csv),
                          "--plots", str(tmp_path / "plots")]) == 0
    table = pd.read_csv(csv)
    assert list(table.columns[:7]) == ["tracker", "AUC", "P", "NP", "OP50", "OP75", "FPS"]
    assert table.loc[0, "tracker"] == "opencv/kcf"
    run_dir = results / "folder" / "opencv" / "kcf"   # the one layout: <results>/<dataset>/<tracker>/<param>
    predictions = {name: read_boxes(run_dir / f"{name}.txt") for name in fixtures}
    auc, precision = auc_and_precision({n: f.boxes for n, f in fixtures.items()}, predictions)
    assert table.loc[0, "AUC"] == pytest.approx(auc, abs=0.051)        # the table rounds to 0.1
    assert table.loc[0, "P"] == pytest.approx(precision, abs=0.051)
    assert np.isfinite(table.loc[0, "FPS"]) and table.loc[0, "FPS"] > 0
    assert (tmp_path / "scores.md").exists() and list((tmp_path / "plots").glob("*.png"))

    sequences = get_dataset("folder", data)
    packed = pack_trackingnet(run_dir, sequences, tmp_path / "kcf.zip")
    with zipfile.ZipFile(packed) as archive:
        assert sorted(archive.namelist()) == ["cat-1.txt", "cat-2.txt", "dog-1.txt"]
        for seq in sequences:
            rows = archive.read(f"{seq.name}.txt").decode().splitlines()
            assert len(rows) == len(seq.frames)
            values = np.array([[float(v) for v in row.split(",")] for row in rows])
            assert values.shape == (len(seq.frames), 4)
            np.testing.assert_allclose(values, read_boxes(run_dir / f"{seq.name}.txt"), rtol=1e-9)
