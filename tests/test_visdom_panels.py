"""visdom client wrapper without a server: pause/step state machine, how debug entries map to
panels, graceful disabling, and the training plotter's bookkeeping."""
import socket
import threading

import numpy as np
import pytest

from ltr.admin.visdom_client import TrainingPlotter
from pytracking import visdom_server
from pytracking.utils.visdom import PauseControl, VisdomPanels
from pytracking.utils.visualization import debug_panel_kind as _panel_kind
from pytracking.utils.visualization import debug_scores_key as _scores_key


def test_pause_control_space_pauses_and_right_arrow_steps_one_frame():
    pause = PauseControl()
    assert pause.wait(timeout=0.0)                    # running: never blocks
    pause.on_key(" ")
    assert pause.paused and not pause.wait(timeout=0.0)
    pause.on_key("ArrowRight")
    assert pause.wait(timeout=0.0)                    # one step goes through ...
    assert not pause.wait(timeout=0.0)                # ... and only one
    pause.on_key("ArrowRight")
    pause.on_key("ArrowRight")
    assert pause.wait(timeout=0.0) and pause.wait(timeout=0.0) and not pause.wait(timeout=0.0)
    pause.on_key("x")                                  # other keys do nothing
    assert pause.paused
    pause.on_key(" ")
    assert not pause.paused and pause.wait(timeout=0.0)
    pause.on_key("ArrowRight")                         # a step while running is not stored
    pause.on_key(" ")
    assert not pause.wait(timeout=0.0)


def test_pause_control_releases_a_waiting_thread():
    pause = PauseControl(paused=True)
    released = []
    worker = threading.Thread(target=lambda: released.append(pause.wait(timeout=30)))
    worker.start()
    pause.on_key("ArrowRight")
    worker.join(timeout=30)
    assert released == [True]


def test_debug_entries_map_to_panel_kinds():
    assert _panel_kind(np.zeros((18, 18))) == "heatmap"
    assert _panel_kind(np.zeros((1, 1, 18, 18))) == "heatmap"      # squeezed
    assert _panel_kind({"initial_boxes": [], "final_boxes": [[1, 2, 3, 4]]}) == "refinement"
    assert _panel_kind([3.0, 2.0, 1.0]) == "curve"
    assert _panel_kind(np.zeros((10, 12, 3), np.uint8)) == "image"
    assert _panel_kind(0.5) == "scalar" and _panel_kind("text") == "scalar"
    assert _panel_kind(np.float32(2.0)) == "scalar"
    assert _panel_kind({"backbone": 0.01, "refinement": 0.02}) == "scalars"   # e.g. timing
    assert _panel_kind({"something": [1, 2]}) is None
    assert _panel_kind(np.zeros((5, 4)), "refined_candidates") == "boxes"
    assert _panel_kind(np.zeros((5, 4)), "score_map") == "heatmap"
    assert _scores_key("refined_candidates") == "refined_scores"
    assert _scores_key("final_boxes") == "final_scores"
    assert _panel_kind(None) is None
    assert _panel_kind(object()) is None
    torch = pytest.importorskip("torch")
    assert _panel_kind(torch.zeros(5, 7)) == "heatmap"


def test_panels_without_server_are_disabled_and_silent(capsys):
    port = visdom_server.free_port()
    panels = VisdomPanels(port, env="nothing", debug=2, timeout=0.5)
    assert not panels.enabled
    assert "no visdom server" in capsys.readouterr().err
    image = np.zeros((20, 30, 3), np.uint8)
    panels.update(image, {"target_bbox": [1, 2, 5, 6], "flag": "normal",
                          "debug": {"score_map": np.ones((4, 4)), "losses": [1.0, 0.5]}}, frame_num=2)
    assert panels.windows == set()
    assert panels.wait_if_paused(timeout=0.0)
    with pytest.raises(ValueError, match="image"):
        panels.show_image("x", np.zeros((4, 4), np.uint8))


class FakeClient:
    def __init__(self):
        self.calls = []

    def line(self, **kwargs):
        self.calls.append(kwargs)


def test_training_plotter_appends_points_per_series():
    client = FakeClient()
    plotter = TrainingPlotter(port=1, env="ltr", connect=lambda *args: client)
    plotter.plot("loss", 1, 2.0)
    plotter.plot("loss", 2, 1.5)
    plotter.plot("loss", 2, 1.8, series="val")
    assert plotter.history == {"loss": {"loss": [(1.0, 2.0), (2.0, 1.5)], "val": [(2.0, 1.8)]}}
    assert [c.get("update") for c in client.calls] == [None, "append", "append"]
    assert [c["name"] for c in client.calls] == ["loss", "loss", "val"]
    assert client.calls[1]["Y"].tolist() == [1.5] and client.calls[1]["X"].tolist() == [2.0]
    with pytest.raises(ValueError, match="name"):
        plotter.plot("", 1, 1.0)


def test_training_plotter_without_server_keeps_history(capsys):
    plotter = TrainingPlotter(port=visdom_server.free_port(), timeout=0.5)
    plotter.plot("loss", 0, 3.0)
    assert not plotter.enabled and plotter.history["loss"]["loss"] == [(0.0, 3.0)]
    assert "no visdom server" in capsys.readouterr().err


def test_ensure_server_refuses_a_port_held_by_something_else(capsys):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert visdom_server.ensure_visdom_server(port, timeout=2) is False
    assert "not a visdom server" in capsys.readouterr().err
    with pytest.raises(ValueError, match="port"):
        visdom_server.ensure_visdom_server(0)
