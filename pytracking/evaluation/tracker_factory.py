"""``build_tracker_factory``: a tracker by name, as a function returning a fresh tracker per call.

Live runs (``run_video``, ``run_webcam``, ``run_vot``, ``pytracking.api.create_tracker``, the got10k
integration) build their trackers here; the name lookup itself is ``pytracking.evaluation.tracker``'s.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils.params import TrackerParams


def build_tracker_factory(name: str, param: str, debug: int = 0, share_network: bool = False,
                          device: str | None = None,
                          overrides: Mapping[str, Any] | None = None) -> Callable[[], BaseTracker]:
    """A function returning a fresh tracker instance (fresh parameters) per call.

    ``name`` is a package under ``pytracking.tracker`` (parameters from
    ``pytracking.parameter.<name>.<param>.parameters()``; resolved through
    ``pytracking.evaluation.tracker.Tracker``), or ``module:ClassName`` of a ``BaseTracker``
    subclass built with ``TrackerParams(debug=debug)``. ValueError names an unknown tracker or param.
    ``device`` (``--device``) overrides the parameter file's ``params.device``; ``overrides`` (``--set``) set
    parameter-file keys on top of the file's (checked here: :class:`~pytracking.evaluation.tracker.OverrideError`).

    ``share_network``: the first tracker's network (its ``net`` attribute, an ``nn.Module``) is handed
    to every later one as ``params.net`` (the convention of ``load_tracker_network``), so several
    targets load and hold the weights once; the trackers only read it (eval mode, no gradients).
    """
    if ":" in name:
        module_name, _, class_name = name.partition(":")
        try:
            tracker_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"tracker: cannot import {name!r}: {exc}") from exc
        if not (isinstance(tracker_class, type) and issubclass(tracker_class, BaseTracker)):
            raise ValueError(f"tracker: {name!r} is not a BaseTracker subclass")
        return lambda: tracker_class(TrackerParams(**{"debug": int(debug), "param_name": param, **(overrides or {}),
                                                      **({"device": device} if device else {})}))

    spec = Tracker(name, param, results_root=Path("."), overrides=overrides)
    shared: dict[str, Any] = {}

    def make() -> BaseTracker:
        params = spec.get_parameters(debug=int(debug), device=device)
        if share_network and "net" in shared and params.get("net", None) is None:
            params.net = shared["net"]
        tracker = spec.create_tracker(params)
        net = getattr(tracker, "net", None)
        if share_network and "net" not in shared and isinstance(net, torch.nn.Module):
            shared["net"] = net
        return tracker

    return make
