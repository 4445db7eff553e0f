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

    actor = NaNFirst(real_actor.net, real_actor.objective, real_actor.name)
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


# ------------------------------------------------------------------ which columns each actor uses
class FixedOutputNet(torch.nn.Module):
    """Stands in for the estimator: returns preset outputs, whatever the images (one dummy parameter)."""

    def __init__(self, output):
        super().__init__()
        self.output = output
        self.weight = torch.nn.Parameter(torch.zeros(()))

    def forward(self, train_imgs, test_imgs, train_bb, boxes):
        assert boxes.shape[0] == train_imgs.shape[0] == test_imgs.shape[0] == train_bb.shape[0]
        return self.output


def _hand_made_batch(num_pairs=2, num_samples=5):
    """Two pairs (B = 2, one test frame each); column 0 of the proposals is the true sample."""
    g = torch.Generator().manual_seed(3)
    gt = torch.tensor([[10.0, 12.0, 30.0, 20.0], [40.0, 8.0, 16.0, 24.0]])
    proposals = gt[:, None, :] + torch.randn(num_pairs, num_samples + 1, 4, generator=g) * torch.tensor([2, 2, 1, 1])
    return {"train_images": torch.zeros(num_pairs, 1, 3, 8, 8), "test_images": torch.zeros(num_pairs, 1, 3, 8, 8),
            "train_boxes": gt[:, None], "test_boxes": gt[:, None], "proposals": proposals[:, None],
            "proposal_log_q": torch.randn(num_pairs, 1, num_samples + 1, generator=g)[:, :, :] - 3.0,
            "iou_target": torch.rand(num_pairs, 1, num_samples + 1, generator=g) * 2 - 1,
            "init_boxes": proposals[:, None, 1:3],
            "regression_target": torch.randn(num_pairs, 1, 2, 4, generator=g) * 0.1}


def _scores(num_pairs=2, num_samples=5):
    return torch.randn(num_pairs, num_samples + 1, generator=torch.Generator().manual_seed(4)) * 2


def test_ml_is_actor_uses_the_true_score_and_the_samples_log_q():
    """L = logsumexp_m(f_m - log q_m) - log M - f_0, m = 1..M: log q of column 0 is not used."""
    from ltr.actors.methods import get_method
    data, f = _hand_made_batch(), _scores()
    log_q = data["proposal_log_q"][:, 0]
    expected = (torch.logsumexp(f[:, 1:] - log_q[:, 1:], 1) - math.log(5) - f[:, 0]).mean()
    loss, _ = get_method("ml-is").make_actor(FixedOutputNet(f))(data)
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)
    data["proposal_log_q"][:, :, 0] += 7.0                      # the true sample's log q: unused
    assert float(get_method("ml-is").make_actor(FixedOutputNet(f))(data)[0]) == pytest.approx(float(expected), rel=1e-6)


def test_kl_is_actor_weights_the_samples_by_the_label_around_the_ground_truth():
    """L = logsumexp_m(f_m - log q_m) - log M - sum_m w_m f_m, w = softmax(log label_m - log q_m), m = 1..M,
    label: Gaussian (sigma 0.05) in relative space around the test box; column 0 (the true box) unused."""
    from ebm.boxes import xywh_to_rel
    from ebm.losses import gaussian_label_log_density
    from ltr.actors.methods import get_method
    data, f = _hand_made_batch(), _scores()
    log_q = data["proposal_log_q"][:, 0]
    gt = data["test_boxes"][:, 0]
    rel = xywh_to_rel(data["proposals"][:, 0, 1:], gt[:, None, 2:])
    log_label = gaussian_label_log_density(rel, xywh_to_rel(gt, gt[:, 2:]), 0.05)
    w = torch.softmax(log_label - log_q[:, 1:], 1)
    expected = (torch.logsumexp(f[:, 1:] - log_q[:, 1:], 1) - math.log(5) - (w * f[:, 1:]).sum(1)).mean()
    assert float(get_method("kl-is").make_actor(FixedOutputNet(f))(data)[0]) == pytest.approx(float(expected), rel=1e-5)
    changed = f.clone()
    changed[:, 0] += 5.0                                         # the true box's score: unused by KL-IS
    assert float(get_method("kl-is").make_actor(FixedOutputNet(changed))(data)[0]) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("method", ["nce", "nce+"])
def test_nce_actors_use_every_column_with_its_log_q(method):
    """L = logsumexp(s_0..s_M) - s_0, s = f - log q, column 0 the (jittered for NCE+) true sample."""
    from ltr.actors.methods import get_method
    data, f = _hand_made_batch(), _scores()
    s = f - data["proposal_log_q"][:, 0]
    expected = (torch.logsumexp(s, 1) - s[:, 0]).mean()
    assert float(get_method(method).make_actor(FixedOutputNet(f))(data)[0]) == pytest.approx(float(expected), rel=1e-6)
    data["proposal_log_q"][:, :, 0] += 1.0                      # the true sample's log q enters: s_0 - 1
    s[:, 0] -= 1.0
    moved = (torch.logsumexp(s, 1) - s[:, 0]).mean()
    assert float(get_method(method).make_actor(FixedOutputNet(f))(data)[0]) == pytest.approx(float(moved), rel=1e-6)
    assert float(moved) != pytest.approx(float(expected))


def test_iou_net_actor_regresses_every_column_on_its_iou_target():
    from ltr.actors.bbreg import IoUNetActor
    data, f = _hand_made_batch(), _scores()
    expected = ((f - data["iou_target"][:, 0]) ** 2).mean()
    assert float(IoUNetActor(FixedOutputNet(f))(data)[0]) == pytest.approx(float(expected), rel=1e-6)


def test_gaussian_actor_is_the_nll_of_the_regression_target():
    """L = mean over boxes of sum_d 0.5 (log 2 pi + log var_d + (t_d - mu_d)^2 / var_d)."""
    from ltr.actors.methods import get_method
    data = _hand_made_batch()
    g = torch.Generator().manual_seed(5)
    mean, log_var = torch.randn(2, 2, 4, generator=g) * 0.1, torch.randn(2, 2, 4, generator=g) * 0.5
    t = data["regression_target"].reshape(-1, 4)
    m, v = mean.reshape(-1, 4), log_var.reshape(-1, 4)
    expected = (0.5 * (math.log(2 * math.pi) + v + (t - m) ** 2 / v.exp())).sum(1).mean()
    loss, stats = get_method("gauss").make_actor(FixedOutputNet((mean, log_var)))(data)
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)
    assert stats["mean_abs_error"] == pytest.approx(float((m - t).abs().mean()), rel=1e-6)
