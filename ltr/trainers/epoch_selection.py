"""Which epoch's checkpoint a training run ships: one rule for every box-estimator head.

The rule (:data:`CHECKPOINT_RULE`, ``'lowest_val_loss'``): the epoch whose validation loss -- the head's OWN
training objective, averaged over the held-out shard(s) of the feature cache (unseen train-side sequences,
fixed candidates) -- is lowest; ties go to the earlier epoch. Why this rule and not the last epoch: every head
overfits the cached pairs after 3-5 epochs (train loss falls, val loss stalls or rises, ``docs/training_log.md``),
and at which epoch differs per head, so a fixed "last epoch" would favour the heads whose optimum happens to
sit at the chosen epoch count. The rule only reads train-side data, never a tracking benchmark.

``'last'`` (the final epoch) is available for runs without a validation shard.

``stats`` is the trainer's per-epoch statistics, ``{epoch: {loader name: {'Loss/total': ..., ...}}}``
(:meth:`ltr.trainers.LTRTrainer.train`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

__all__ = ["CHECKPOINT_RULE", "CHECKPOINT_RULES", "SelectedEpoch", "select_epoch"]

CHECKPOINT_RULE = "lowest_val_loss"
CHECKPOINT_RULES = ("lowest_val_loss", "last")
VAL_LOADER = "val"
LOSS_KEY = "Loss/total"


@dataclass(frozen=True)
class SelectedEpoch:
    """The epoch a rule picked, the rule, and that epoch's validation loss (nan without validation)."""

    epoch: int
    rule: str
    val_loss: float


def _val_loss(epoch_stats: Mapping[str, Mapping[str, float]]) -> float:
    value = (epoch_stats.get(VAL_LOADER) or {}).get(LOSS_KEY, math.nan)
    return float(value)


def select_epoch(stats: Mapping[int | str, Mapping[str, Mapping[str, float]]],
                 rule: str = CHECKPOINT_RULE) -> SelectedEpoch:
    """The epoch ``rule`` picks from ``stats`` (see the module docstring).

    ``'lowest_val_loss'``: ``argmin_e val_loss(e)`` over the epochs with a finite validation loss, the
    earliest on ties; a ``ValueError`` when no epoch has one (no validation shard: use ``'last'``).
    ``'last'``: the highest epoch number.
    """
    if rule not in CHECKPOINT_RULES:
        raise ValueError(f"checkpoint rule: unknown {rule!r}; choose from {list(CHECKPOINT_RULES)}")
    if not stats:
        raise ValueError("checkpoint rule: no epochs in the statistics")
    epochs = sorted((int(e), s) for e, s in stats.items())
    if rule == "last":
        epoch, last = epochs[-1]
        return SelectedEpoch(epoch, rule, _val_loss(last))
    scored = [(_val_loss(s), e) for e, s in epochs if math.isfinite(_val_loss(s))]
    if not scored:
        raise ValueError(f"checkpoint rule {rule!r}: no epoch has a finite '{VAL_LOADER}' {LOSS_KEY} "
                         "(train with a validation shard, or use the rule 'last')")
    loss, epoch = min(scored)   # tuples: lowest loss, then the earliest epoch
    return SelectedEpoch(epoch, rule, loss)
