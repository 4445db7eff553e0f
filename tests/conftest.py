"""Shared test set-up: deterministic seeds and few threads (the suite runs on 2 cores)."""
import os

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip the calling test because a system tool is missing (Xvfb, xdotool, Chromium, libturbojpeg,
    torchrun, ...); under CI (``CI=true``, as ``.ci/run`` sets it) fail instead: install.sh installs these
    there, so a skip would hide a broken install."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} -- under CI (CI=true) install.sh provides it, so this is a failure, not a skip")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def xvfb_display():
    """A private Xvfb display (``:N``) for the tests that drive OpenCV windows (see ``xvfb_tools``)."""
    from xvfb_tools import start_xvfb

    yield from start_xvfb()
