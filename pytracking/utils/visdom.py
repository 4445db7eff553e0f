"""visdom panels for tracking and training: a thin client wrapper over ``visdom.Visdom``.

``VisdomPanels`` shows a tracker's state frame by frame: the frame with the tracked box and flag
(image panel), whatever the tracker put into its ``"debug"`` output (score maps as heatmaps,
refinement's starting and final boxes with scores drawn on the frame, loss / residual lists as
line plots, scalars as a text table) and, for ``debug >= 2``, a pause/step control driven by key
presses in the browser (space pauses/resumes, right arrow advances one frame while paused).
Training curves: ``ltr.admin.visdom_client.TrainingPlotter``.

Both degrade gracefully: when no server answers they print one message, keep the data they were
given in memory (``history``) and draw nothing. The server is started with
``python -m pytracking.visdom_server`` or ``pytracking.visdom_server.ensure_visdom_server(port)``.
Drawing itself lives in ``pytracking.utils.visualization``. ``open_visdom_panels`` starts (if needed)
the server and opens the panels of a live run (``run_video``, ``run_webcam``; flags ``--use_visdom``,
``--visdom_port``).
"""
from __future__ import annotations

import html
import sys
import threading
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from ltr.admin.visdom_client import HOST
from ltr.admin.visdom_client import connect as _connect
from pytracking.utils import visualization as vis_draw
from pytracking.visdom_server import ensure_visdom_server, env_url


class PauseControl:
    """Pause/step state machine fed with key names (as visdom's KeyPress events report them).

    ``" "`` toggles pause; ``"ArrowRight"`` while paused lets exactly one frame through.
    ``wait()`` blocks the tracking loop while paused and returns once it may go on.
    """

    PAUSE_KEY = " "
    STEP_KEY = "ArrowRight"

    def __init__(self, paused: bool = False):
        self.paused = paused
        self._steps = 0
        self._condition = threading.Condition()

    def on_key(self, key: str) -> None:
        with self._condition:
            if key == self.PAUSE_KEY:
                self.paused = not self.paused
                self._steps = 0
            elif key == self.STEP_KEY and self.paused:
                self._steps += 1
            self._condition.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block while paused and no step is pending; consume a step. False only on timeout."""
        with self._condition:
            if not self._condition.wait_for(lambda: not self.paused or self._steps > 0, timeout=timeout):
                return False
            if self.paused:
                self._steps -= 1
            return True


class VisdomPanels:
    """Tracking panels in visdom environment ``env`` of the server on 127.0.0.1:``port``.

    ``update(image, output)`` after each ``tracker.track`` shows everything present; the
    individual ``show_*`` methods draw one panel each. ``enabled`` is False when no server
    answered (then every call is a no-op). Frames wider or taller than ``max_image_size`` are
    shrunk for transfer.
    """

    def __init__(self, port: int = 8097, env: str = "tracking", debug: int = 1, timeout: float = 3.0,
                 max_image_size: int = 720):
        if max_image_size < 16:
            raise ValueError(f"max_image_size must be >= 16, got {max_image_size}")
        self.port = port
        self.env = env
        self.debug = int(debug)
        self.max_image_size = int(max_image_size)
        self.min_display_width = 400
        self.pause = PauseControl()
        self.windows: set[str] = set()
        self._handler_registered = False
        self._client = _connect(port, env, incoming=self.debug >= 2, timeout=timeout)
        if self._client is None:
            print(f"[visdom] no visdom server at http://{HOST}:{port}; panels disabled "
                  "(start one with python -m pytracking.visdom_server)", file=sys.stderr)

    @property
    def enabled(self) -> bool:
        return self._client is not None

    # --- single panels -------------------------------------------------------------
    def _shrink(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        scale = self.max_image_size / max(h, w)
        if scale >= 1.0:
            return image
        return cv2.resize(image, (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)),
                          interpolation=cv2.INTER_AREA)

    def show_image(self, win: str, image: np.ndarray, title: str | None = None, caption: str = "") -> None:
        """RGB uint8 image ``[H, W, 3]`` in image panel ``win``."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be RGB uint8 [H, W, 3], got {image.shape} {image.dtype}")
        if not self.enabled:
            return
        picture = self._shrink(image)
        h, w = picture.shape[:2]
        zoom = max(1.0, self.min_display_width / w)  # small crops are shown enlarged
        self._client.image(np.ascontiguousarray(picture.transpose(2, 0, 1)), win=win,
                           opts={"title": title or win, "caption": caption, "store_history": False,
                                 "width": int(round(w * zoom)), "height": int(round(h * zoom)),
                                 "jpgquality": 90})
        self.windows.add(win)

    def show_frame(self, image: np.ndarray, boxes: Sequence[Sequence[float] | None],
                   flags: Sequence[str] | None = None, frame_num: int | None = None,
                   fps: float | None = None, title: str = "Tracking") -> None:
        """The frame with one box per target (colour by target / flag), in panel ``"tracking"``."""
        drawn = vis_draw.draw_tracking_frame(image, boxes, flags=flags, fps=fps)
        parts = [f"frame {frame_num}" if frame_num is not None else "",
                 ", ".join(flags) if flags else ""]
        if self.debug >= 2:
            parts.append("PAUSED (space: resume, right arrow: step)" if self.pause.paused
                         else "space: pause")
        self.show_image("tracking", drawn, title=title, caption=" | ".join(p for p in parts if p))
        if self.debug >= 2 and self.enabled and not self._handler_registered:
            self._client.register_event_handler(self._on_event, "tracking")
            self._handler_registered = True

    def show_score_map(self, score_map: Any, name: str = "score_map") -> None:
        """2D score map as a heatmap panel; row 0 at the top, as in the image."""
        scores = np.squeeze(vis_draw.as_numpy(score_map).astype(np.float64))
        if scores.ndim != 2:
            raise ValueError(f"score map '{name}' must be 2D, got shape {scores.shape}")
        if not self.enabled:
            return
        # plotly puts row 0 at the bottom: reverse the y axis so the map reads like the frame
        self._client.heatmap(np.nan_to_num(scores), win=name,
                             opts={"title": name, "colormap": "Jet",
                                   "layoutopts": {"plotly": {"yaxis": {"autorange": "reversed"}}}})
        self.windows.add(name)

    def show_refinement(self, image: np.ndarray, refinement: Mapping[str, Any], name: str = "refinement") -> None:
        """Refinement's starting boxes (grey) and final boxes (cyan; best in yellow with its score)
        drawn on ``refinement["image"]`` when given (boxes in its pixels) or on the frame."""
        canvas = refinement.get("image", image)
        canvas = vis_draw.as_numpy(canvas)
        initial = vis_draw.as_numpy(refinement.get("initial_boxes", np.zeros((0, 4)))).reshape(-1, 4)
        final = vis_draw.as_numpy(refinement.get("final_boxes", np.zeros((0, 4)))).reshape(-1, 4)
        scores = refinement.get("scores")
        scores = None if scores is None else vis_draw.as_numpy(scores).reshape(-1)
        drawn = vis_draw.draw_refinement(canvas, initial, final, scores)
        caption = f"{len(initial)} initial, {len(final)} final boxes"
        if scores is not None and scores.size:
            caption += f", best score {float(np.max(scores)):.3f}"
        self.show_image(name, drawn, title=name, caption=caption)

    def show_curve(self, name: str, values: Sequence[float]) -> None:
        """Line plot of ``values`` against their index (e.g. classifier losses, CG residuals)."""
        y = vis_draw.as_numpy(values).astype(np.float64).reshape(-1)
        if y.size == 0:
            return
        if not self.enabled:
            return
        x = np.arange(y.size, dtype=np.float64)
        if y.size == 1:  # visdom's line needs two points to draw a segment
            x, y = np.array([0.0, 1.0]), np.repeat(y, 2)
        self._client.line(Y=y, X=x, win=name, opts={"title": name, "xlabel": "iteration"})
        self.windows.add(name)

    def show_text(self, info: Mapping[str, Any], name: str = "info") -> None:
        """Key/value table (HTML) in text panel ``name``."""
        if not self.enabled:
            return
        rows = "".join(f"<tr><td><b>{html.escape(str(k))}</b></td><td>{html.escape(_format(v))}</td></tr>"
                       for k, v in info.items())
        self._client.text(f"<table>{rows}</table>", win=name, opts={"title": name})
        self.windows.add(name)

    # --- everything of one tracker output ---------------------------------------------
    def update(self, image: np.ndarray, output: Mapping[str, Any], frame_num: int | None = None,
               fps: float | None = None, title: str = "Tracking") -> None:
        """Show the frame with ``output["target_bbox"]`` (panel title ``title``) and the panels for
        ``output["debug"]``.

        Debug entries are shown by type: a dict with ``final_boxes`` (and optionally
        ``initial_boxes``, ``scores``, ``image``) -> refinement panel; an ``[N, 4]`` array whose key
        names boxes or candidates (e.g. ``refined_candidates``) -> those boxes on the frame, scored
        by the matching ``*_scores`` entry; another 2D array -> heatmap; a 3D uint8 array -> image;
        a 1D numeric sequence -> line plot; scalars, strings and dicts of scalars (e.g. ``timing``)
        -> the info table; None is skipped. Each panel is named after its key.
        """
        flag = str(output.get("flag", "normal"))
        box = output.get("target_bbox")
        self.show_frame(image, [box], [flag], frame_num=frame_num, fps=fps, title=title)
        info: dict[str, Any] = {"frame": frame_num, "flag": flag, "box [x, y, w, h]": box}
        for key in ("confidence", "time"):
            if key in output:
                info[key] = output[key]
        if fps is not None:
            info["fps"] = fps
        debug = dict(output.get("debug") or {})
        consumed: set[str] = set()
        for key, value in debug.items():
            if key in consumed or value is None:
                continue
            kind = vis_draw.debug_panel_kind(value, key)
            if kind == "refinement":
                self.show_refinement(image, value, name=key)
            elif kind == "boxes":
                # candidate boxes [N, 4] (frame pixels) with their scores under the matching key
                scores_key = vis_draw.debug_scores_key(key)
                scores = debug.get(scores_key)
                if scores is not None and vis_draw.as_numpy(scores).size == vis_draw.as_numpy(value).reshape(-1, 4).shape[0]:
                    consumed.add(scores_key)
                else:
                    scores = None
                self.show_refinement(image, {"final_boxes": value, "scores": scores}, name=key)
            elif kind == "heatmap":
                self.show_score_map(value, name=key)
            elif kind == "image":
                self.show_image(key, vis_draw.as_numpy(value), title=key)
            elif kind == "curve":
                self.show_curve(key, value)
            elif kind == "scalar":
                info[key] = value
            elif kind == "scalars":
                info.update({f"{key}.{k}": v for k, v in value.items()})
        self.show_text(info)

    def wait_if_paused(self, timeout: float | None = None) -> bool:
        """With ``debug >= 2``, block while paused from the browser (see ``PauseControl``)."""
        if self.debug < 2 or not self.enabled:
            return True
        return self.pause.wait(timeout)

    def _on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("event_type") == "KeyPress":
            self.pause.on_key(str(event.get("key", "")))

    def close(self) -> None:
        """Close the socket thread of the client (panels stay on the page)."""
        if self._client is not None and getattr(self._client, "socket_alive", False):
            self._client.use_socket = False
            ws = getattr(self._client, "socket", None)
            if ws is not None:
                ws.close()


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(f"{float(v):.1f}" for v in value) + "]"
    return str(value)


def visdom_env(tracker_name: str, tracker_param: str) -> str:
    """The visdom environment of a live run: ``<tracker>_<param>`` (``:`` and ``/`` become ``_``)."""
    return f"{tracker_name}_{tracker_param}".replace(":", "_").replace("/", "_")


def open_visdom_panels(port: int, env: str, debug: int, prog: str) -> VisdomPanels | None:
    """``VisdomPanels`` on the visdom server at 127.0.0.1:``port`` (started if none answers, bound
    to localhost only), environment ``env``; None, after one line on stderr, when no server can
    be started or reached (the caller then falls back to OpenCV windows or no display)."""
    if not ensure_visdom_server(port, for_run=True):
        return None
    panels = VisdomPanels(port, env=env, debug=max(debug, 1))
    if not panels.enabled:
        return None
    print(f"{prog}: visdom panels at {env_url(port, env)}", flush=True)
    return panels


def check_visdom_port(port: int) -> int:
    """``port`` if in [1, 65535], else ValueError naming ``--visdom_port``."""
    if not 1 <= port <= 65535:
        raise ValueError(f"--visdom_port must be in [1, 65535], got {port}")
    return port
