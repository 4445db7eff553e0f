"""One training rule for every box-estimator head: identical cached settings, the checkpoint rule, and
``ltr.train_estimators`` on a tiny CPU cache writing shipped-format weights."""
import importlib
import json
import math

import pytest
import torch

from ltr.admin.checkpoint import load_network, sha256_of
from ltr.admin.settings import TrainSettings
from ltr.admin.local_settings import load_settings
from ltr.data.feature_cache import CacheSpec, build_shard, cache_spec, default_cache_root
from ltr.models import registry
from ltr.trainers.epoch_selection import CHECKPOINT_RULE, select_epoch

SHIPPED_SETTINGS = ["atom_ebm_cached", "atom_nce_cached", "atom_iou_cached", "atom_gauss_cached"]
TINY = CacheSpec(network="atom_tiny", output_sz=64, num_shards=2, video_sequences_per_shard=1, pairs_per_sequence=2,
                 still_pairs_per_shard=1, num_frames=12, max_gap=5)


def _config(name, tmp_path):
    module = importlib.import_module(f"ltr.train_settings.bbreg.{name}")
    settings = TrainSettings(script_name=name, workspace=tmp_path, env=load_settings(tmp_path / "absent.toml"))
    return module.config(settings)


def test_every_shipped_head_has_the_same_training_rule(tmp_path):
    configs = [_config(name, tmp_path) for name in SHIPPED_SETTINGS]
    shared = ("spec", "val_shards", "batch_size", "epochs", "lr", "lr_step_epochs", "lr_gamma", "weight_decay",
              "checkpoint_rule", "num_proposals", "iou_boxes_per_frame")
    for key in shared:
        values = {repr(getattr(c, key)) for c in configs}
        assert len(values) == 1, f"{key} differs between the heads: {values}"
    assert configs[0].checkpoint_rule == CHECKPOINT_RULE == "lowest_val_loss"
    assert configs[0].epochs == 8 and configs[0].lr_step_epochs == 6
    assert [c.method for c in configs] == ["ml-is", "nce+", "iou", "gauss"]


def _stats(val_losses):
    return {e + 1: {"train": {"Loss/total": -float(e)}, "val": {"Loss/total": v}} for e, v in enumerate(val_losses)}


def test_checkpoint_rule_picks_the_lowest_validation_loss():
    # the ML-IS history of docs/training_log.md: lowest val loss at epoch 7
    history = [-4.4250, -4.7204, -5.0712, -5.0866, -4.9209, -4.7314, -5.2556, -4.8628]
    assert select_epoch(_stats(history)).epoch == 7
    assert select_epoch(_stats(history), "last").epoch == 8
    # ties go to the earlier epoch; non-finite validation losses are never selected
    assert select_epoch(_stats([3.0, 1.0, 1.0, 2.0])).epoch == 2
    assert select_epoch(_stats([math.nan, 2.0, math.inf, 5.0])).epoch == 2
    # string epoch keys (as stored in checkpoints) work too
    assert select_epoch({str(k): v for k, v in _stats([2.0, 1.0]).items()}).epoch == 2
    with pytest.raises(ValueError, match="no epoch has a finite 'val'"):
        select_epoch({1: {"train": {"Loss/total": 1.0}}})
    with pytest.raises(ValueError, match="unknown 'best'"):
        select_epoch(_stats([1.0]), "best")


def test_cache_spec_by_name():
    assert cache_spec("default") == CacheSpec()
    with pytest.raises(ValueError, match="expected 'default' or 'wide'"):
        cache_spec("nope")


def test_train_estimators_writes_loadable_shipped_weights(tmp_path):
    from ltr.train_estimators import train_estimators
    torch.manual_seed(0)
    net = registry.build("atom_tiny")
    root = default_cache_root(tmp_path / "ws", TINY)
    for k in range(TINY.num_shards):
        build_shard(TINY, k, root, net, show_progress=False)
    out = tmp_path / "out"
    results = train_estimators(["ml-is", "iou", "gauss"], TINY, out, device="cpu", epochs=2, batch_size=2,
                               workspace=tmp_path / "ws", show_progress=False,
                               config_overrides={"num_proposals": 8, "iou_boxes_per_frame": 4})
    assert [r.method for r in results] == ["ml-is", "iou", "gauss"]
    for r, name, ctor in zip(results, ["atom_ebm_effnet.pth", "atom_iou_effnet.pth", "atom_gauss_effnet.pth"],
                             ["atom_tiny", "atom_tiny", "regression_tiny"]):
        assert r.weights == out / name
        sidecar = (out / (name + ".sha256")).read_text().split()
        assert sidecar == [sha256_of(r.weights), name]
        data = torch.load(r.weights, weights_only=True)
        assert data["dtype"] == "float16" and data["network"]["name"] == ctor
        assert load_network(r.weights).constructor["name"] == ctor
        table = json.loads((out / r.method / "losses.json").read_text())
        assert [row["epoch"] for row in table["epochs_table"]] == [1, 2]
        val = [row["val_loss"] for row in table["epochs_table"]]
        assert table["selected_epoch"] == 1 + val.index(min(val))
        assert table["checkpoint_rule"] == "lowest_val_loss"
        # the exported weights are the selected epoch's checkpoint
        selected = json.loads((r.run.checkpoint.parent / f"{r.weights.stem}_selected.json").read_text())
        assert selected["epoch"] == table["selected_epoch"]
        ckpt = torch.load(selected["checkpoint"], weights_only=True)
        assert ckpt["epoch"] == table["selected_epoch"]
        key = next(k for k in ckpt["net"] if k.startswith("bb_regressor") and ckpt["net"][k].is_floating_point())
        assert torch.equal(ckpt["net"][key].half(), data["net"][key])
        assert "(selected)" in (out / r.method / "losses.md").read_text()
    assert (out / "summary.md").read_text().count("| ml-is |") == 1


def test_train_estimators_resumes_after_the_newest_epoch(tmp_path, capsys):
    """Two epochs, cut after the first and resumed, give the same losses and weights as two in one go, and the
    resumed run trains only the second epoch."""
    from ltr.train_estimators import train_estimators
    torch.manual_seed(0)
    net = registry.build("atom_tiny")
    root = default_cache_root(tmp_path / "ws", TINY)
    for k in range(TINY.num_shards):
        build_shard(TINY, k, root, net, show_progress=False)
    kwargs = dict(device="cpu", batch_size=2, workspace=tmp_path / "ws", show_progress=False,
                  config_overrides={"num_proposals": 8})
    whole = train_estimators(["ml-is"], TINY, tmp_path / "whole", epochs=2, **kwargs)[0]
    train_estimators(["ml-is"], TINY, tmp_path / "cut", epochs=1, **kwargs)       # the run stopped after epoch 1
    first = sorted((tmp_path / "cut" / "ml-is").rglob("*ep0001*"))
    assert first, "no epoch-1 checkpoint written"
    stamp = first[0].stat().st_mtime_ns
    capsys.readouterr()
    resumed = train_estimators(["ml-is"], TINY, tmp_path / "cut", epochs=2, resume=True, **kwargs)[0]
    assert "continuing after epoch 1" in capsys.readouterr().out
    assert first[0].stat().st_mtime_ns == stamp                                    # epoch 1 was not trained again
    table = lambda out: json.loads((out / "ml-is" / "losses.json").read_text())["epochs_table"]  # noqa: E731
    losses = lambda out: [(r["epoch"], r["train_loss"], r["val_loss"]) for r in table(out)]   # noqa: E731
    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")
    assert [r[0] for r in losses(tmp_path / "cut")] == [1, 2]
    assert sha256_of(resumed.weights) == sha256_of(whole.weights)
