"""The GOT-10k toolkit's tracker interface (PyPI ``got10k``) around our trackers.

    from got10k.experiments import ExperimentOTB
    from pytracking.integrations.got10k import Got10kTracker

    experiment = ExperimentOTB("data/OTB", version=2015)
    experiment.run(Got10kTracker("atom", "default"))
    experiment.report(["atom_default"])

The toolkit's conventions: ``init(image, box)`` and ``update(image) -> box`` on ``PIL.Image`` frames
(its ``Tracker.track`` converts them to RGB), boxes ``[x, y, w, h]`` numpy arrays in the dataset's own
pixel coordinates, passed to our tracker unchanged (``run_tracker`` does the same with the
annotation files). ``name`` (the results folder) is ``<tracker_name>_<param_name>``. Every ``init``
builds a fresh tracker (``build_tracker_factory``), so the toolkit's repetitions are independent.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from got10k.trackers import Tracker as _ToolkitTracker

from pytracking.evaluation.tracker import Tracker
from pytracking.evaluation.tracker_factory import build_tracker_factory


def pil_to_rgb(image: Any) -> np.ndarray:
    """``uint8`` RGB ``[H, W, 3]`` from a PIL image (any mode) or an RGB array."""
    if hasattr(image, "mode") and hasattr(image, "convert"):
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)
    return np.asarray(image)


class Got10kTracker(_ToolkitTracker):
    """``got10k.trackers.Tracker`` running ``pytracking/tracker/<tracker_name>`` with ``<param_name>``.

    ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (default: the parameter file's, else the settings').
    ``is_deterministic`` is True when the parameter file fixes a ``seed`` (the toolkit then runs
    each sequence once instead of three times).
    """

    def __init__(self, tracker_name: str, param_name: str, device: str | None = None):
        self._make_tracker = build_tracker_factory(tracker_name, param_name, device=device)
        seeded = Tracker(tracker_name, param_name, results_root=".").get_parameters(device="cpu").get("seed", None)
        super().__init__(name=f"{tracker_name}_{param_name}", is_deterministic=seeded is not None)
        self.tracker_name = tracker_name
        self.param_name = param_name
        self._tracker: Any = None

    def init(self, image: Any, box: Any) -> None:
        """Start on ``image`` (PIL) with ``box = [x, y, w, h]``."""
        self._tracker = self._make_tracker()
        init_box = np.asarray(box, dtype=np.float64).reshape(-1).tolist()
        self._tracker.initialize(pil_to_rgb(image), {"init_bbox": init_box})

    def update(self, image: Any) -> np.ndarray:
        """The box ``[x, y, w, h]`` in ``image`` (PIL)."""
        if self._tracker is None:
            raise RuntimeError("Got10kTracker.update() called before init(image, box)")
        out = self._tracker.track(pil_to_rgb(image), {})
        return np.asarray(out["target_bbox"], dtype=np.float64).reshape(4)
