"""Base class of actors: they run the network on a batch and compute the training loss."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

__all__ = ["BaseActor"]


class BaseActor:
    """``actor(data) -> (loss, stats)``: ``loss`` a scalar tensor, ``stats`` a dict of floats.

    Args:
        net: the network (possibly wrapped in ``DistributedDataParallel``).
        objective: the loss function (or None when the subclass chooses it from its arguments).

    A loss that is not finite is returned as is (NaN/inf); the trainer skips that step.
    """

    def __init__(self, net: nn.Module, objective: Callable[..., torch.Tensor] | None = None):
        self.net = net
        self.objective = objective

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> "BaseActor":
        self.net.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        """Training mode of the network (a frozen backbone keeps eval mode: see ``ATOMnet.train``)."""
        self.net.train(mode)

    def eval(self) -> None:
        self.train(False)

    @staticmethod
    def nan_loss(device: torch.device) -> torch.Tensor:
        return torch.tensor(float("nan"), device=device)
