"""Annotation warnings raised inside DataLoader workers reach the epoch summary.

LaSOT reads a sequence's annotation lazily, when the sampler first draws it, so a bad line is
warned about in whichever process draws the item: with ``num_workers > 0`` that is a worker, whose
copy of the dataset is thrown away after the epoch. The sampler ships the item's new warning texts
with the batch and the trainer records them in the main process's datasets (once per text), so the
statistics and the summary line are the same for ``num_workers=0`` and ``num_workers=2``. A warning
raised while building the dataset (main process, before training) is counted once in both cases.
"""
from __future__ import annotations

import re
import warnings

import pytest
from fixtures_layouts import make_lasot, replace_line

from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.data.loader import LTRLoader
from ltr.data.sampler import PairSampler
from ltr.dataset import DatasetWarning, Lasot
from ltr.train_settings.bbreg import common, tiny
from ltr.trainers import LTRTrainer

N_FRAMES = 8
SEQUENCES = ("cat-1", "dog-1")
#: draw-time problems: cat-1 line 8 cut mid-number, dog-1 line 3 a negative width
DRAW_TIME_PROBLEMS = 2


def _damaged_lasot(root):
    """Two sequences, each with one bad annotation line (both keep >= 2 visible frames)."""
    written = make_lasot(root, sequences=SEQUENCES, n_frames=N_FRAMES, image_size=(96, 72))
    cat = written["cat-1"].directory / "groundtruth.txt"
    cat.write_text("\n".join(cat.read_text().splitlines()[:-1] + ["7.25,7.5,8.1"]))
    replace_line(written["dog-1"].directory / "groundtruth.txt", 3, "3,3,-8,6")
    return root


def _train(workspace, data_root, num_workers, epochs=2):
    """Train the tiny network on the damaged LaSOT. Returns (statistics, the dataset, its warnings after loading)."""
    settings = TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=workspace,
                             env=load_settings(workspace / "absent.toml"), show_progress=False,
                             use_tensorboard=False, epochs=epochs)
    job = common.build_job(tiny.config(settings), settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # vid_ids 1 and 2: the "-2" sequences are missing, warned while loading (main process)
        dataset = Lasot(root=data_root, vid_ids=[1, 2])
    at_load = list(dataset.warnings)
    sampler = PairSampler([dataset], None, samples_per_epoch=8, max_gap=10,
                          processing=job.loaders[0].dataset.processing, seed=3)
    loader = LTRLoader("train", sampler, batch_size=2, num_workers=num_workers, seed=3)
    trainer = LTRTrainer(job.actor, [loader], job.optimizer, settings, job.lr_scheduler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = trainer.train(epochs)
    return stats, dataset, at_load


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return _damaged_lasot(tmp_path_factory.mktemp("lasot"))


def test_worker_annotation_warnings_reach_the_summary(tmp_path, data_root, capsys):
    """Two epochs with 0 and with 2 workers: the same statistics and summary lines, each problem once."""
    runs, notes = {}, {}
    for workers in (0, 2):
        runs[workers] = _train(tmp_path / f"w{workers}", data_root, workers)
        notes[workers] = re.findall(r"annotation warnings: (.*)", capsys.readouterr().out)
    total = 1 + DRAW_TIME_PROBLEMS  # the load-time warning once, each damaged file once
    assert notes[0] == notes[2] == [f"LaSOT {total}"] * 2, notes
    for workers, (stats, dataset, at_load) in runs.items():
        assert len(at_load) == 1 and "missing" in at_load[0], at_load  # the "-2" sequences
        # epoch 1 meets both damaged files; epoch 2 (fresh workers) meets them again: nothing new
        assert [stats[e]["train"]["annotation_warnings"] for e in (1, 2)] == [DRAW_TIME_PROBLEMS, 0], workers
        assert len(dataset.warnings) == len(set(dataset.warnings)) == 1 + DRAW_TIME_PROBLEMS, dataset.warnings
        assert any("cat-1" in w and "line 8" in w for w in dataset.warnings), dataset.warnings
        assert any("dog-1" in w and "line 3" in w for w in dataset.warnings), dataset.warnings


def test_items_carry_their_new_warnings_and_recording_dedups(data_root):
    """Without a loader: an item lists the problems first met while drawing it; recording them in another
    copy of the dataset adds each text once and silences it there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drawer = PairSampler([Lasot(root=data_root, split=None)], None, samples_per_epoch=8, max_gap=10, seed=3)
        items = [drawer[i] for i in range(8)]
    notes = [item["annotation_warnings"] for item in items]
    flat = [text for item_notes in notes for _, text in item_notes]
    assert sorted(flat) == sorted(drawer.datasets[0].warnings) and len(flat) == DRAW_TIME_PROBLEMS
    assert all(index == 0 for item_notes in notes for index, _ in item_notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main = PairSampler([Lasot(root=data_root, split=None)], None, samples_per_epoch=8, max_gap=10, seed=3)
    assert main.record_warnings(notes) == DRAW_TIME_PROBLEMS
    assert main.record_warnings(notes) == 0 and drawer.record_warnings(notes) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seq_id in range(main.datasets[0].get_num_sequences()):
            main.datasets[0].get_sequence_info(seq_id)
    assert not [w for w in caught if issubclass(w.category, DatasetWarning)]
    assert len(main.datasets[0].warnings) == DRAW_TIME_PROBLEMS
