"""Actors: a network plus its training objective; ``actor(batch) -> (loss, stats)``."""
from ltr.actors.base_actor import BaseActor
from ltr.actors.bbreg import EBMActor, IoUNetActor, RegressionActor, flatten_pairs

__all__ = ["BaseActor", "EBMActor", "IoUNetActor", "RegressionActor", "flatten_pairs"]
