"""Submission packs: TrackingNet and GOT-10k test zips."""
import zipfile

import numpy as np
import pytest

from pytracking.evaluation import get_dataset
from pytracking.evaluation.results_io import read_boxes, write_boxes, write_times
from pytracking.util_scripts.pack_got10k import pack_got10k
from pytracking.util_scripts.pack_trackingnet import pack_trackingnet
from pytracking.util_scripts.packing import IncompleteResultsError
from tests.fixtures_layouts import make_got10k, make_trackingnet


def test_trackingnet_zip_contents_and_completeness(tmp_path):
    make_trackingnet(tmp_path / "tn", chunks=(), videos_per_chunk=2, n_frames=12, test=True)
    seqs = get_dataset("trackingnet", tmp_path / "tn")
    res = tmp_path / "res"
    boxes = {s.name: np.column_stack([np.arange(12) + 0.25, np.full(12, 2.5), np.full(12, 8.0), np.full(12, 6.0)])
             for s in seqs}
    write_boxes(res / f"{seqs[0].name}.txt", boxes[seqs[0].name])
    with pytest.raises(IncompleteResultsError, match=rf"(?s)1 problem.*{seqs[1].name}\.txt: missing"):
        pack_trackingnet(res, seqs, tmp_path / "tn.zip")
    write_boxes(res / f"{seqs[1].name}.txt", boxes[seqs[1].name][:5])
    with pytest.raises(IncompleteResultsError, match="5 rows, sequence has 12 frames"):
        pack_trackingnet(res, seqs, tmp_path / "tn.zip")
    assert not (tmp_path / "tn.zip").exists()
    write_boxes(res / f"{seqs[1].name}.txt", boxes[seqs[1].name])
    pack_trackingnet(res, seqs, tmp_path / "tn.zip")
    with zipfile.ZipFile(tmp_path / "tn.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"{s.name}.txt" for s in seqs)
        lines = zf.read(f"{seqs[1].name}.txt").decode().splitlines()
    assert len(lines) == 12 and lines[3] == "3.25,2.5,8.0,6.0"


def test_got10k_zip_layout_with_three_runs(tmp_path):
    make_got10k(tmp_path / "got", split="test", n_sequences=2, n_frames=4)
    seqs = get_dataset("got10k_test", tmp_path / "got")
    runs = [tmp_path / "res" / f"p_{r:03d}" for r in range(3)]
    for r, run in enumerate(runs):
        for s in seqs:
            write_boxes(run / f"{s.name}.txt", np.tile([1.0 + r, 2.0, 3.0, 4.0], (4, 1)))
            write_times(run / f"{s.name}_time.txt", [0.5, 0.25, 0.25, 0.125])
    out = pack_got10k(runs, seqs, tmp_path / "got.zip")
    name = "GOT-10k_Test_000001"
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert names == {f"{s.name}/{s.name}_{suffix}.txt" for s in seqs for suffix in ("001", "002", "003", "time")}
        assert zf.read(f"{name}/{name}_003.txt").decode().splitlines()[0] == "3.0,2.0,3.0,4.0"
        assert zf.read(f"{name}/{name}_time.txt").decode().split() == ["0.5", "0.25", "0.25", "0.125"]
    with pytest.raises(ValueError, match="1 to 3 runs"):
        pack_got10k(runs + runs[:1], seqs, tmp_path / "x.zip")
    (runs[0] / f"{name}_time.txt").unlink()
    with pytest.raises(IncompleteResultsError, match=f"{name}_time.txt: missing"):
        pack_got10k(runs, seqs, tmp_path / "y.zip")
    assert read_boxes(runs[1] / f"{name}.txt").shape == (4, 4)


def test_got10k_cli_packs_the_runs_of_a_set_override(tmp_path, capsys):
    """Results made with ``--set`` live in ``<param>-<digest>_NNN``: the pack finds them with the same ``--set``."""
    from pytracking.util_scripts.pack_got10k import main as pack_main
    from pytracking.utils.params import overrides_digest

    make_got10k(tmp_path / "got", split="test", n_sequences=2, n_frames=4)
    seqs = get_dataset("got10k_test", tmp_path / "got")
    folder = tmp_path / "res" / "got10k_test" / "opencv" / f"csrt-{overrides_digest({'tracker_type': 'kcf'})}_000"
    for s in seqs:
        write_boxes(folder / f"{s.name}.txt", np.tile([1.0, 2.0, 3.0, 4.0], (4, 1)))
        write_times(folder / f"{s.name}_time.txt", [0.5] * 4)
    common = ["opencv", "csrt", "--results_path", str(tmp_path / "res"), "--dataset_path", str(tmp_path / "got"),
              "--output", str(tmp_path / "got.zip")]
    with pytest.raises(SystemExit):
        pack_main(common)                                   # the parameter file's own folder has no results
    assert "no results for opencv/csrt in" in capsys.readouterr().err
    assert pack_main([*common, "--set", "tracker_type=kcf"]) == 0
    with zipfile.ZipFile(tmp_path / "got.zip") as zf:
        assert len(zf.namelist()) == 2 * len(seqs)
