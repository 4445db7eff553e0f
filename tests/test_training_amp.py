"""Mixed-precision training (``--amp``) on the tiny setting, on the CPU: bf16 autocast trains with float32
weights and a loss close to the float32 run's; fp16 runs with a gradient scaler whose state is checkpointed,
so a resumed fp16 run ends bit-identical to an uninterrupted one; a bad value is refused by name."""
import math

import pytest
import torch

from ltr import run_training
from ltr.actors.bbreg import run_estimator
from ltr.admin import checkpoint as ckpt
from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings
from ltr.train_settings.bbreg import tiny


def _settings(workspace, **kwargs):
    return TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=workspace,
                         env=load_settings(workspace / "absent.toml"), show_progress=False, use_tensorboard=False,
                         **kwargs)


def _final(settings):
    return ckpt.load_checkpoint(settings.checkpoint_dir / f"tiny_ep{settings.epochs:04d}.pth")


def test_bf16_autocast_trains_float32_weights_with_a_close_loss(tmp_path):
    reference = tiny.run(_settings(tmp_path / "fp32", epochs=1))
    settings = _settings(tmp_path / "bf16", epochs=1, amp="bf16")
    stats = tiny.run(settings)
    loss, loss_fp32 = stats[1]["train"]["Loss/total"], reference[1]["train"]["Loss/total"]
    assert math.isfinite(loss) and stats[1]["train"]["skipped_steps"] == 0
    assert loss != loss_fp32                                   # autocast did change the arithmetic ...
    assert abs(loss - loss_fp32) < 0.05 * abs(loss_fp32)       # ... by bf16 rounding only
    data = _final(settings)
    assert data["extra"]["amp"] == "bf16" and "grad_scaler" not in data["extra"]   # bf16: no loss scaling
    assert all(v.dtype == torch.float32 for v in data["net"].values() if v.is_floating_point())


def test_fp16_scaler_state_is_checkpointed_and_resume_is_bit_identical(tmp_path, capsys):
    # from the default scale 2^16 the first fp16 steps overflow and are skipped (the scale halves each time);
    # here steps are taken from epoch 3 on, so the resumed half (epochs 3-4) trains only at the restored scale
    full = _settings(tmp_path / "full", epochs=4, amp="fp16")
    stats = tiny.run(full)
    overflows = [int(stats[e]["train"]["overflow_steps"]) for e in (1, 2, 3, 4)]
    assert overflows[:2] == [2, 2] and sum(overflows) < 8, overflows
    assert "fp16 overflow steps 2 (scale now 16384)" in capsys.readouterr().out
    tiny.run(_settings(tmp_path / "part", epochs=2, amp="fp16"))
    resumed = _settings(tmp_path / "part", epochs=4, amp="fp16", resume=True)
    tiny.run(resumed)
    a, b = _final(full), _final(resumed)
    scaler = a["extra"]["grad_scaler"]
    assert scaler["scale"] < 2.0 ** 16 and scaler == b["extra"]["grad_scaler"]
    assert a["optimizer"]["state"], "no optimiser step was taken"
    for key in a["net"]:
        assert torch.equal(a["net"][key], b["net"][key]), key
    assert torch.equal(a["optimizer"]["state"][0]["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])


def test_estimator_outputs_reach_the_losses_in_float32():
    class Half(torch.nn.Module):
        def forward(self, *args):
            return torch.ones(2, 3, dtype=torch.bfloat16), torch.zeros(2, 3, dtype=torch.float16)

    data = {"train_images": torch.zeros(2, 1, 3, 8, 8), "test_images": torch.zeros(2, 1, 3, 8, 8),
            "train_boxes": torch.zeros(2, 1, 4), "proposals": torch.zeros(2, 1, 3, 4)}
    (mean, log_var), boxes = run_estimator(Half(), data, "proposals")
    assert mean.dtype == log_var.dtype == torch.float32 and boxes.shape == (2, 3, 4)


def test_unknown_amp_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="--amp"):
        tiny.run(_settings(tmp_path, epochs=1, amp="fp8"))
    with pytest.raises(SystemExit):
        run_training.main(["bbreg", "tiny", "--amp", "fp8", "--workspace", str(tmp_path)])


def test_amp_off_keeps_the_scaler_a_pass_through(tmp_path):
    settings = _settings(tmp_path, epochs=1)
    stats = tiny.run(settings)
    assert stats[1]["train"]["overflow_steps"] == 0
    assert _final(settings)["extra"] == {"amp": "off"}
