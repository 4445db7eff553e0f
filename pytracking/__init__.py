"""Online tracking, evaluation and the command-line tools.

``from pytracking import create_tracker`` gives the OpenCV-style API (``pytracking.api``); it is
imported on first use so that ``import pytracking`` stays light.
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_tracker"]


def __getattr__(name: str) -> Any:
    if name == "create_tracker":
        from pytracking.api import create_tracker
        return create_tracker
    raise AttributeError(f"module 'pytracking' has no attribute {name!r}")
