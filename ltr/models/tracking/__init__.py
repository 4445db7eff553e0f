"""Tracking networks (backbone + estimator) and their registered constructors."""
from ltr.models.tracking.atomnet import ATOMnet

__all__ = ["ATOMnet"]
