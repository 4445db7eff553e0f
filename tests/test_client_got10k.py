"""The GOT-10k toolkit (PyPI ``got10k``) running ``Got10kTracker`` with its own ``ExperimentOTB``.

The fixture is a tiny OTB layout: every OTB-2013 sequence folder exists (so the toolkit finds the
dataset "downloaded" and never touches the network), two of them hold generated frames
(``img/0001.jpg ...``) and ``groundtruth_rect.txt``; the others are empty and skipped by the toolkit.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("got10k", reason="the got10k toolkit is not installed (pip install -e .[dev])")

from got10k.datasets import OTB  # noqa: E402
from got10k.experiments import ExperimentOTB  # noqa: E402
from got10k.trackers import Tracker as ToolkitTracker  # noqa: E402

from client_sequences import SEQUENCES, make_sequence  # noqa: E402
from pytracking.analysis.evaluate import evaluate_run  # noqa: E402
from pytracking.analysis.metrics import summary_scores  # noqa: E402
from pytracking.evaluation.otbdataset import OTBDataset  # noqa: E402
from pytracking.integrations.got10k import Got10kTracker  # noqa: E402

NUM_FRAMES = 10
FIXTURE_SEQUENCES = {"Basketball": "easy", "Bolt": "wide"}  # OTB name -> generated sequence


def write_tiny_otb(root) -> None:
    import cv2
    for name in OTB._OTB__version_dict[2013]:  # every folder present: the toolkit's download step is skipped
        (root / name).mkdir(parents=True, exist_ok=True)
    for otb_name, generated in FIXTURE_SEQUENCES.items():
        seed, amplitude = SEQUENCES[generated]
        frames, boxes = make_sequence(NUM_FRAMES, seed, amplitude)
        (root / otb_name / "img").mkdir()
        for index, frame in enumerate(frames, start=1):
            cv2.imwrite(str(root / otb_name / "img" / f"{index:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        np.savetxt(root / otb_name / "groundtruth_rect.txt", boxes, fmt="%d", delimiter=",")


def test_experiment_otb_runs_got10k_tracker_and_scores_match_ours(tmp_path):
    root = tmp_path / "OTB"
    write_tiny_otb(root)
    tracker = Got10kTracker("atom", "fast", device="cpu")
    assert isinstance(tracker, ToolkitTracker) and tracker.name == "atom_fast" and tracker.is_deterministic

    experiment = ExperimentOTB(str(root), version=2013, result_dir=str(tmp_path / "results"),
                               report_dir=str(tmp_path / "reports"))
    experiment.run(tracker)
    experiment.report([tracker.name])
    performance = json.loads((tmp_path / "reports" / "OTB2013" / "atom_fast" / "performance.json").read_text())
    toolkit_auc = 100.0 * performance["atom_fast"]["overall"]["success_score"]

    run = evaluate_run(tmp_path / "results" / "OTB2013" / "atom_fast", OTBDataset(root).get_sequence_list())
    assert not run.missing and sorted(run.curves) == sorted(FIXTURE_SEQUENCES)
    success = np.mean([c.success for c in run.curves.values()], axis=0)
    precision = np.mean([c.precision for c in run.curves.values()], axis=0)
    norm_precision = np.mean([c.norm_precision for c in run.curves.values()], axis=0)
    ours_auc = summary_scores(success, precision, norm_precision)["AUC"]
    assert abs(toolkit_auc - ours_auc) < 0.5, (toolkit_auc, ours_auc)
    assert ours_auc > 40.0, ours_auc  # the tracker tracked (a frozen box scores far lower on "wide")


def test_got10k_tracker_update_before_init_and_unknown_tracker():
    with pytest.raises(ValueError, match="nosuchtracker"):
        Got10kTracker("nosuchtracker", "default")
    tracker = Got10kTracker("opencv", "kcf")
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(np.zeros((8, 8, 3), np.uint8))
