"""``Tracker``: a tracker name + parameter file + run id, and running it on one sequence.

Trackers are found by name: ``pytracking.tracker.<name>`` must expose ``get_tracker_class()``
and ``pytracking.parameter.<name>.<parameter_name>`` must expose ``parameters()``.
Results of a run live in ``<results>/<name>/<parameter_name>[_<run_id:03d>]/``.

Overrides (``--set key=value`` of the CLIs) set parameter-file keys on top of the file's values. They are checked
when the ``Tracker`` is made: by the tracker package's ``check_parameters(params)`` where it has one (ATOM: its
typed settings, so an unknown key names the closest valid one and a bad value its key), else a key must be one the
parameter file sets. A run with overrides writes its results to ``<parameter_name>-<digest>[_<run_id:03d>]/``
(``digest``: :func:`pytracking.utils.params.overrides_digest`) with an ``overrides.json`` naming them, so it never
mixes with the parameter file's own results and the analysis finds it as ``<name>/<parameter_name>-<digest>``.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

import pytracking.tracker as tracker_pkg
from ltr.admin.local_settings import load_settings
from ltr.data.image_loader import imread_rgb
from pytracking.evaluation.sequence import Sequence
from pytracking.utils.params import check_known_keys, overrides_digest


def available_trackers() -> list[str]:
    """Names of the tracker packages under ``pytracking.tracker`` (excluding ``base``)."""
    return sorted(m.name for m in pkgutil.iter_modules(tracker_pkg.__path__) if m.ispkg and m.name != "base")


def available_parameters(tracker_name: str) -> list[str]:
    """Parameter files under ``pytracking.parameter.<tracker_name>``."""
    try:
        pkg = importlib.import_module(f"pytracking.parameter.{tracker_name}")
    except ModuleNotFoundError:
        return []
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def check_tracker_name(name: str, parameter_name: str) -> None:
    """The one lookup of a tracker by name: ``ValueError`` unless ``pytracking.tracker.<name>`` is a tracker
    package (message ``tracker_name: unknown tracker 'x'; available: [...]``) with the parameter file
    ``pytracking/parameter/<name>/<parameter_name>.py`` (``tracker_param: unknown parameter file 'p' for <name>;
    available: [...]``). CLIs report it as ``argument <message>``."""
    trackers = available_trackers()
    if name not in trackers:
        raise ValueError(f"tracker_name: unknown tracker {name!r}; available: {trackers}")
    params = available_parameters(name)
    if parameter_name not in params:
        raise ValueError(f"tracker_param: unknown parameter file {parameter_name!r} for {name}; available: {params}")


def config_name_of(parameter_name: str, overrides: Mapping[str, Any]) -> str:
    """A results folder's name before ``_NNN``: ``parameter_name``, or ``parameter_name-<digest>`` with overrides."""
    return f"{parameter_name}-{overrides_digest(overrides)}" if overrides else parameter_name


class OverrideError(ValueError):
    """Parameter overrides (``--set``) that the tracker does not accept: unknown key or bad value."""


def _default_results_root() -> Path:
    return load_settings().results


#: ``observer(frame_index, image, output)``: sees each frame and the tracker's output (e.g. a live display)
FrameObserver = Callable[[int, np.ndarray, dict], None]


class Tracker:
    """One tracker configuration to evaluate.

    Args:
        name: tracker package name (``atom``, ``opencv``, ...).
        parameter_name: parameter file name in ``pytracking/parameter/<name>/``.
        run_id: optional run number (results folder suffix ``_%03d``).
        display_name: label for tables and plots (default ``name/parameter_name[_run_id]``).
        results_root: results base folder (default: the settings' ``results``).
        overrides: parameter-file keys set on top of the file's values (see the module docstring); checked here,
            :class:`OverrideError` naming the key.
        config_name: the results folder's name before ``_NNN`` (default ``parameter_name``, or
            ``parameter_name-<digest>`` with overrides).
    """

    def __init__(self, name: str, parameter_name: str, run_id: int | None = None, display_name: str | None = None,
                 results_root: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                 config_name: str | None = None):
        check_tracker_name(name, parameter_name)
        if run_id is not None and (not isinstance(run_id, (int, np.integer)) or run_id < 0 or run_id > 999):
            raise ValueError(f"run_id must be an integer in 0..999, got {run_id!r}")
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = None if run_id is None else int(run_id)
        self.overrides = dict(overrides or {})
        self.config_name = config_name_of(parameter_name, self.overrides) if config_name is None else config_name
        if self.overrides:
            self.check_overrides()
        self.display_name = display_name or self.run_label
        self.results_root = Path(results_root) if results_root is not None else _default_results_root()

    @property
    def run_label(self) -> str:
        """``name/config_name`` plus ``_NNN`` when a run id is set."""
        suffix = "" if self.run_id is None else f"_{self.run_id:03d}"
        return f"{self.name}/{self.config_name}{suffix}"

    @property
    def results_dir(self) -> Path:
        """``<results_root>/<name>/<config_name>[_<run_id:03d>]``."""
        return self.results_root / self.run_label

    def check_overrides(self) -> None:
        """:class:`OverrideError` naming the parameter file and the key unless the parameters with the overrides set are
        valid for the tracker: its package's ``check_parameters(params)``, else every overridden key one the
        parameter file sets."""
        module = importlib.import_module(f"pytracking.tracker.{self.name}")
        check = getattr(module, "check_parameters", None)
        try:
            if check is not None:
                check(self.get_parameters(device="cpu"))
            else:
                check_known_keys(self.overrides, vars(self._file_parameters()).keys(),
                                 f"pytracking/parameter/{self.name}/{self.parameter_name}.py")
        except (TypeError, ValueError) as err:
            raise OverrideError(str(err)) from err

    def record_overrides(self) -> None:
        """With overrides and a results folder (a sequence was tracked): write them to ``<results_dir>/overrides.json``
        (what the digest in the folder's name stands for). A run that tracked nothing leaves no folder behind."""
        if not self.overrides or not self.results_dir.is_dir():
            return
        record = {"tracker": self.name, "parameter_file": self.parameter_name,
                  "overrides": {key: repr(value) for key, value in self.overrides.items()}}
        (self.results_dir / "overrides.json").write_text(json.dumps(record, indent=1) + "\n")

    def missing_weights(self) -> Path | None:
        """The trained weights file the parameters need but which does not exist (None if all is there, or if the
        tracker uses no network file) -- see ``pytracking.tracker.atom.atom.missing_network_file``."""
        params = self.get_parameters()
        if not params.has("net_path"):
            return None
        from pytracking.tracker.atom.atom import missing_network_file

        return missing_network_file(params)

    def _file_parameters(self) -> Any:
        module = importlib.import_module(f"pytracking.parameter.{self.name}.{self.parameter_name}")
        return module.parameters()

    def __repr__(self) -> str:
        return f"Tracker({self.run_label!r}, results_dir={str(self.results_dir)!r})"

    def get_parameters(self, debug: int | None = None, device: str | None = None) -> Any:
        """Build the parameters: the file's, then the overrides; ``debug`` and ``device`` (when given) override
        ``params.debug``/``params.device``.

        Without ``device`` and without a ``device`` in the parameter file, the settings' device is used.
        A run number ``k`` offsets the parameter file's ``seed`` (when it has one) to ``seed + k``: the runs of
        a seeded tracker are then different draws (e.g. of the refinement's starting boxes), whose mean and
        spread the analysis reports; without a run number the seed is the file's.
        """
        params = self._file_parameters()
        for key, value in self.overrides.items():
            setattr(params, key, value)
        params.tracker_name = self.name
        params.param_name = self.parameter_name
        if self.run_id is not None and params.get("seed", None) is not None:
            params.seed = int(params.seed) + self.run_id
        if debug is not None:
            params.debug = int(debug)
        elif not hasattr(params, "debug"):
            params.debug = 0
        if device is not None:
            params.device = device
        elif not hasattr(params, "device"):
            params.device = load_settings().torch_device()
        return params

    def get_tracker_class(self) -> type:
        module = importlib.import_module(f"pytracking.tracker.{self.name}")
        return module.get_tracker_class()

    def create_tracker(self, params: Any) -> Any:
        """Instantiate the tracker class with ``params``."""
        return self.get_tracker_class()(params)

    def run_sequence(self, seq: Sequence, debug: int | None = None, device: str | None = None,
                     observer: FrameObserver | None = None) -> dict[str, Any]:
        """Track ``seq`` from its first box; returns ``{'target_bbox' [N, 4], 'time' [N], 'flags' list[str]}``.

        Frame 0's output is the given init box. ``time`` is the tracker's own time per call
        (image reading excluded). ``observer(frame_index, image, output)``, if given, sees every
        frame and the tracker's output (live display; it never changes the results).
        """
        params = self.get_parameters(debug=debug, device=device)
        tracker = self.create_tracker(params)
        n = len(seq.frames)
        boxes = np.full((n, 4), np.nan)
        times = np.zeros(n)
        flags: list[str] = []
        image = imread_rgb(seq.frames[0])
        out = tracker.initialize(image, seq.init_info())
        if observer is not None:
            observer(0, image, out)
        boxes[0] = seq.ground_truth_rect[0]
        times[0] = out.get("time", 0.0)
        flags.append(out.get("flag", "normal"))
        for i in range(1, n):
            image = imread_rgb(seq.frames[i])
            out = tracker.track(image, {})
            if observer is not None:
                observer(i, image, out)
            box = np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)
            if box.size != 4:
                raise ValueError(f"tracker {self.name} returned target_bbox with {box.size} values at frame {i}")
            boxes[i] = box
            times[i] = out.get("time", 0.0)
            flags.append(out.get("flag", "normal"))
        return {"target_bbox": boxes, "time": times, "flags": flags}


def trackerlist(name: str, parameter_name: str, run_ids: Iterable[int] | int | None = None,
                display_name: str | None = None, results_root: str | Path | None = None,
                overrides: Mapping[str, Any] | None = None) -> list[Tracker]:
    """Trackers for several run ids (``None`` -> one tracker without run id); ``overrides``: parameter-file keys set
    on top of the file's (experiment modules' counterpart of ``--set``)."""
    if run_ids is None or isinstance(run_ids, int):
        return [Tracker(name, parameter_name, run_ids, display_name, results_root, overrides)]
    return [Tracker(name, parameter_name, r, display_name, results_root, overrides) for r in run_ids]
