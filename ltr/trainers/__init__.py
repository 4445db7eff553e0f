"""Trainers: the epoch loop around an actor."""
from ltr.trainers.ltr_trainer import LTRTrainer

__all__ = ["LTRTrainer"]
