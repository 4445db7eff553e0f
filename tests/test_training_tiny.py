"""End-to-end training on the `tiny` setting: finite losses, checkpoints, bit-identical resume, skips."""
import math

import pytest
import torch

from ltr import run_training
from ltr.admin import checkpoint as ckpt
from ltr.admin.local_settings import SettingsError, load_settings
from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg import common, tiny


def _settings(workspace, **kwargs):
    return TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=workspace,
                         env=load_settings(workspace / "absent.toml"), show_progress=False,
                         use_tensorboard=kwargs.pop("use_tensorboard", False), **kwargs)


def test_tiny_run_writes_finite_checkpoint(tmp_path):
    stats = run_training.run_training("bbreg", "tiny", device="cpu", workspace=str(tmp_path), show_progress=False)
    assert sorted(stats) == [1, 2]
    for epoch in (1, 2):
        train = stats[epoch]["train"]
        assert train["samples"] == 4 and train["skipped_steps"] == 0
        assert math.isfinite(train["Loss/total"])
    path = tmp_path / "checkpoints" / "bbreg" / "tiny" / "tiny_ep0002.pth"
    data = ckpt.load_checkpoint(path)
    assert data["epoch"] == 2 and data["settings_name"] == "bbreg/tiny"
    assert data["network"]["name"] == "atom_tiny"
    assert all(torch.isfinite(v).all() for v in data["net"].values() if v.is_floating_point())
    net = ckpt.load_network(path)
    assert not any(p.requires_grad for p in net.feature_extractor.parameters())  # backbone frozen
    assert list((tmp_path / "tensorboard" / "bbreg" / "tiny").glob("events.out.tfevents.*"))


def test_resume_is_bit_identical(tmp_path):
    full = _settings(tmp_path / "full", epochs=2)
    tiny.run(full)
    part = _settings(tmp_path / "part", epochs=1)
    tiny.run(part)
    resumed = _settings(tmp_path / "part", epochs=2, resume=True)
    tiny.run(resumed)
    a = ckpt.load_checkpoint(full.checkpoint_dir / "tiny_ep0002.pth")
    b = ckpt.load_checkpoint(resumed.checkpoint_dir / "tiny_ep0002.pth")
    assert a["net"].keys() == b["net"].keys()
    for key in a["net"]:
        assert torch.equal(a["net"][key], b["net"][key]), key
    first = ckpt.load_checkpoint(part.checkpoint_dir / "tiny_ep0001.pth")
    assert any(not torch.equal(first["net"][k], b["net"][k]) for k in b["net"])  # epoch 2 did train
    assert a["lr_scheduler"] == b["lr_scheduler"]
    assert torch.equal(a["optimizer"]["state"][0]["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])


@pytest.mark.parametrize("method", ["kl-is", "nce+", "iou", "gauss"])
def test_other_methods_train(tmp_path, method):
    settings = _settings(tmp_path, epochs=1, extra={"method": method})
    stats = tiny.run(settings)
    assert math.isfinite(stats[1]["train"]["Loss/total"])


def test_non_finite_loss_is_skipped(tmp_path):
    settings = _settings(tmp_path, epochs=1)
    job = common.build_job(tiny.config(settings), settings)
    real_actor = job.actor
    calls = []

    class NaNFirst(type(real_actor)):
        def __call__(self, data):
            loss, stats = super().__call__(data)
            calls.append(1)
            return (loss * float("nan"), stats) if len(calls) == 1 else (loss, stats)

    actor = NaNFirst(real_actor.net, real_actor.method)
    from ltr.trainers import LTRTrainer
    before = {k: v.clone() for k, v in actor.net.state_dict().items()}
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        stats = LTRTrainer(actor, job.loaders, job.optimizer, settings, job.lr_scheduler).train(1)
    assert stats[1]["train"]["skipped_steps"] == 1 and stats[1]["train"]["samples"] == 2
    after = actor.net.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert any(not torch.equal(before[k], after[k]) for k in after)  # the second step trained


def test_missing_dataset_root_names_setting_and_files(tmp_path, monkeypatch, capsys):
    from ltr.train_settings.bbreg import atom_ebm_paper
    settings = _settings(tmp_path)
    settings.script_name = "atom_ebm_paper"
    with pytest.raises(SettingsError) as err:
        common.make_datasets(atom_ebm_paper.config(settings).train_datasets, settings)
    message = str(err.value)
    assert "bbreg/atom_ebm_paper" in message and "atom_ebm_paper.py" in message and "absent.toml" in message
    monkeypatch.setenv("EBMTRACK_SETTINGS", str(tmp_path / "absent.toml"))
    assert run_training.main(["bbreg", "atom_iou_paper", "--device", "cpu", "--workspace", str(tmp_path),
                              "--no_progress"]) == 2
    assert "lasot" in capsys.readouterr().err


def test_help_lists_settings(capsys):
    with pytest.raises(SystemExit):
        run_training.main(["--help"])
    out = capsys.readouterr().out
    for name in ("atom_ebm_paper", "atom_iou_paper", "atom_nce_paper", "atom_ebm_cpu", "atom_gauss_cpu", "tiny"):
        assert name in out
    assert "common" not in run_training.available_settings("bbreg")


def test_paper_setting_requires_backbone_weights(tmp_path):
    from ltr.train_settings.bbreg import atom_ebm_paper
    settings = _settings(tmp_path)
    settings.script_name = "atom_ebm_paper"
    cfg = atom_ebm_paper.config(settings)
    assert (cfg.network, cfg.method, cfg.batch_size, cfg.samples_per_epoch, cfg.epochs, cfg.max_gap) == \
        ("atom_resnet18", "ml-is", 64, 64000, 50, 200)
    cfg.train_datasets, cfg.val_datasets, cfg.p_datasets = tiny.config(settings).train_datasets, [], None
    cfg.samples_per_epoch, cfg.batch_size, cfg.num_workers = 2, 2, 0
    with pytest.raises(SettingsError, match="pretrained/resnet18.pth"):
        common.build_job(cfg, settings)
