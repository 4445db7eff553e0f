"""Client side of visdom for training and tracking: connect to a local server, plot training curves.

Lives in ``ltr`` so the trainer can stream its loss curves without importing ``pytracking``
(the server itself is started by ``python -m pytracking.visdom_server``). Only 127.0.0.1 is used.
"""
from __future__ import annotations

import logging
import sys
import urllib.error
import urllib.request
import warnings
from typing import Any, Callable

import numpy as np

HOST = "127.0.0.1"


def server_answers(port: int, timeout: float = 1.0) -> bool:
    """True when a visdom server on 127.0.0.1:``port`` serves its page (HTTP 200)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=timeout) as response:
            return response.status == 200 and b"visdom" in response.read(65536)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def connect(port: int, env: str, incoming: bool, timeout: float) -> Any | None:
    """A connected ``visdom.Visdom`` client, or None when no server answers on 127.0.0.1:port."""
    if not server_answers(port, timeout=timeout):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import visdom

    logging.getLogger("visdom").setLevel(logging.CRITICAL)
    client = visdom.Visdom(server=f"http://{HOST}", port=port, env=env, raise_exceptions=False,
                           use_incoming_socket=incoming)
    return client if client.check_connection(timeout_seconds=int(max(timeout, 1))) else None


class TrainingPlotter:
    """Loss curves of a training run in visdom environment ``env``.

    ``plot(name, step, value, series=None)`` appends the point ``(step, value)`` to the panel
    ``name`` (one line per ``series``, e.g. "train" and "val", in the same panel). Every point is
    kept in ``history[name][series]`` as ``(step, value)`` whether or not a server answers.
    """

    def __init__(self, port: int = 8097, env: str = "ltr", timeout: float = 3.0,
                 connect: Callable[[int, str, bool, float], Any | None] = connect):
        self.port = port
        self.env = env
        self.history: dict[str, dict[str, list[tuple[float, float]]]] = {}
        self._client = connect(port, env, False, timeout)
        if self._client is None:
            print(f"[visdom] no visdom server at http://{HOST}:{port}; training curves are not plotted",
                  file=sys.stderr)

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def plot(self, name: str, step: float, value: float, series: str | None = None) -> None:
        """Append ``(step, value)`` to curve ``series`` (default: ``name``) of panel ``name``."""
        if not name:
            raise ValueError("name must be a non-empty string")
        step, value = float(step), float(value)
        if not np.isfinite(step):
            raise ValueError(f"step must be finite, got {step}")
        line_name = series or name
        curves = self.history.setdefault(name, {})
        first_point = line_name not in curves
        curves.setdefault(line_name, []).append((step, value))
        if not self.enabled:
            return
        opts = {"title": name, "xlabel": "step", "showlegend": True}
        if len(curves) == 1 and first_point:
            self._client.line(Y=np.array([value]), X=np.array([step]), win=name, name=line_name, opts=opts)
        else:
            self._client.line(Y=np.array([value]), X=np.array([step]), win=name, name=line_name,
                              update="append", opts=opts)
