"""Parameter containers for trackers (parameter files are plain Python returning one)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class TrackerParams(SimpleNamespace):
    """Attribute bag of tracker parameters. ``get(name, default)`` reads an optional one."""

    def get(self, name: str, *default: Any) -> Any:
        if len(default) > 1:
            raise TypeError("get() takes at most one default")
        if default:
            return getattr(self, name, default[0])
        if not hasattr(self, name):
            raise AttributeError(f"tracker parameter '{name}' is not set")
        return getattr(self, name)

    def has(self, name: str) -> bool:
        return hasattr(self, name)
