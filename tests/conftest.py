"""Shared test set-up: deterministic seeds and few threads (the suite runs on 2 cores)."""
import os

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


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
