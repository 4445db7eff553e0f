"""Track one target through a video file.

    python -m pytracking.run_video <tracker> <param> <video_file> [--optional_box x y w h]
        [--save_results [DIR]] [--save_video out.mp4] [--no_display] [--debug N]
        [--use_visdom] [--visdom_port 8097] [--max_frames N]

The initial box is ``--optional_box`` or, when a display exists, drawn with the mouse on the
first frame (``cv2.selectROI``: drag, then Enter/Space; ``c`` cancels). Without a display and
without ``--optional_box`` the run stops with exit status 2. Each shown/saved frame carries the
box and the tracker's fps (``1 / time`` of ``track()``, exponentially smoothed).

``--save_results`` writes ``<DIR>/<video stem>.txt`` (one ``x,y,w,h`` row per frame, the first is
the initial box) and ``<video stem>_time.txt``; DIR defaults to
``<results>/videos/<tracker>/<param>``. ``--save_video`` writes the annotated frames (mp4);
``--save_debug DIR`` (with ``--debug >= 1``) writes the debug views below as ``DIR/<key>/<frame>.png``
(no display needed).
``--use_visdom`` starts/uses the local visdom server (bound to 127.0.0.1 only) and shows the
tracking panels there (with ``--debug >= 2``: space in the browser pauses, right arrow steps); when
visdom cannot start the run says so in one line and falls back to the OpenCV window (or no display).

``--debug N`` (N >= 1) without visdom, when a display exists and ``--no_display`` is not given, shows
the tracker's debug output in extra OpenCV windows to the right of the main window, one per panel
(``visualization.debug_views``): each score map as a JET heat map (blue low, red high, the maximum
marked with a white cross, the scalars such as ``peak_score`` printed below it) and each box
refinement on a zoomed crop of the frame (starting boxes grey, final boxes cyan, the best final box
yellow with its score). Windows appear with the first tracked frame (the initial frame has no
debug output) and are titled ``run_video debug: <debug key>`` (ATOM: ``score_map``,
``refinement``); a panel the tracker did not produce this frame (ATOM: no refinement while the
target is not found) shows its last view dimmed. Pause/step exist only in visdom.

``<tracker>`` is a tracker package name (``atom``, ``opencv``) or ``package.module:ClassName`` of a
``BaseTracker`` subclass (then ``<param>`` is only a label and ``params`` holds just ``debug``).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ltr.admin.cli import cli_parser
from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.utils import visualization
from pytracking.utils.display import display_unavailable_reason
from pytracking.utils.params import TrackerParams
from pytracking.utils.video_source import FrameSource, VideoSourceError, VideoWriter

EXIT_USAGE = 2
QUIT_KEYS = (ord("q"), 27)  # q, Esc


def visdom_env(tracker_name: str, tracker_param: str) -> str:
    """The visdom environment of a live run: ``<tracker>_<param>`` (``:`` and ``/`` become ``_``)."""
    return f"{tracker_name}_{tracker_param}".replace(":", "_").replace("/", "_")


def build_tracker_factory(name: str, param: str, debug: int = 0,
                          share_network: bool = False, device: str | None = None) -> Callable[[], BaseTracker]:
    """A function returning a fresh tracker instance (fresh parameters) per call.

    ``name`` is a package under ``pytracking.tracker`` (parameters from
    ``pytracking.parameter.<name>.<param>.parameters()``; resolved through
    ``pytracking.evaluation.tracker.Tracker``), or ``module:ClassName`` of a ``BaseTracker``
    subclass built with ``TrackerParams(debug=debug)``. ValueError names an unknown tracker or param.
    ``device`` (``--device``) overrides the parameter file's ``params.device``.

    ``share_network``: the first tracker's network (its ``net`` attribute, an ``nn.Module``) is handed
    to every later one as ``params.net`` (the convention of ``load_tracker_network``), so several
    targets load and hold the weights once; the trackers only read it (eval mode, no gradients).
    """
    shared: dict[str, Any] = {}

    def with_shared_network(params: Any) -> Any:
        if share_network and "net" in shared and params.get("net", None) is None:
            params.net = shared["net"]
        return params

    def remember_network(tracker: BaseTracker) -> BaseTracker:
        net = getattr(tracker, "net", None)
        if share_network and "net" not in shared and isinstance(net, torch.nn.Module):
            shared["net"] = net
        return tracker

    if ":" in name:
        module_name, _, class_name = name.partition(":")
        try:
            tracker_class = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"tracker: cannot import {name!r}: {exc}") from exc
        if not (isinstance(tracker_class, type) and issubclass(tracker_class, BaseTracker)):
            raise ValueError(f"tracker: {name!r} is not a BaseTracker subclass")
        return lambda: tracker_class(TrackerParams(debug=int(debug), param_name=param,
                                                   **({"device": device} if device else {})))

    try:
        from pytracking.evaluation.tracker import Tracker
    except ImportError:
        Tracker = None  # noqa: N806 - evaluation package not available: resolve by hand
    if Tracker is not None:
        spec = Tracker(name, param, results_root=Path("."))
        return lambda: remember_network(spec.create_tracker(with_shared_network(spec.get_parameters(debug=int(debug), device=device))))

    try:
        tracker_class = importlib.import_module(f"pytracking.tracker.{name}").get_tracker_class()
        param_module = importlib.import_module(f"pytracking.parameter.{name}.{param}")
    except ImportError as exc:
        raise ValueError(f"tracker {name!r} / param {param!r} not found: {exc}") from exc

    def make() -> BaseTracker:
        params = param_module.parameters()
        params.debug = int(debug)
        if device:
            params.device = device
        return remember_network(tracker_class(with_shared_network(params)))

    return make


def check_box_in_frame(box: Sequence[float], width: int, height: int) -> None:
    """ValueError unless ``box`` (``x, y, w, h``) overlaps the ``width x height`` frame
    (``[x, x + w] x [y, y + h]`` meets ``[0, width] x [0, height]`` with a positive area)."""
    x, y, w, h = box
    overlap_w = min(x + w, width) - max(x, 0.0)
    overlap_h = min(y + h, height) - max(y, 0.0)
    if overlap_w <= 0 or overlap_h <= 0:
        raise ValueError(f"--optional_box {x:g} {y:g} {w:g} {h:g} does not overlap the first frame "
                         f"({width}x{height}): x + w must be > 0 and x < {width}, y + h > 0 and y < {height}")


def parse_box(values: Sequence[float]) -> list[float]:
    """``[x, y, w, h]`` from 4 numbers; ValueError unless finite with w, h > 0."""
    box = [float(v) for v in values]
    if len(box) != 4 or not all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"--optional_box must be 4 finite numbers x y w h with w, h > 0, got {list(values)}")
    return box


class FpsMeter:
    """Exponentially smoothed rate: ``fps <- (1 - a) * fps + a / seconds`` (first value: ``1 / seconds``)."""

    def __init__(self, smoothing: float = 0.1):
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        self.smoothing = smoothing
        self.fps: float | None = None

    def update(self, seconds: float) -> float:
        rate = 1.0 / max(float(seconds), 1e-6)
        self.fps = rate if self.fps is None else (1.0 - self.smoothing) * self.fps + self.smoothing * rate
        return self.fps


@dataclass
class VideoRunResult:
    boxes: np.ndarray                       # [N, 4] x, y, w, h per frame (row 0 = initial box)
    times: np.ndarray                       # [N] seconds of initialize/track per frame
    flags: list[str] = field(default_factory=list)
    stopped_by_user: bool = False


def track_video(source: FrameSource, make_tracker: Callable[[], BaseTracker], init_box: Sequence[float],
                first_frame: np.ndarray | None = None, show: Callable[[np.ndarray], int] | None = None,
                writer: VideoWriter | None = None, panels: Any | None = None,
                max_frames: int | None = None, progress: bool = True,
                show_debug: Callable[[np.ndarray, Mapping[str, Any]], None] | None = None) -> VideoRunResult:
    """Initialise on the first frame (``first_frame`` if already read, else the source's next) and
    track through the rest. ``show(frame_rgb) -> key code`` displays each annotated frame (a quit
    key stops); ``writer`` receives the annotated frames; ``panels`` (``VisdomPanels``) gets each
    tracker output; ``show_debug(frame_rgb, output)`` (e.g. ``DebugWindows.show_output``) gets each
    raw frame with its tracker output just before ``show``. ``max_frames`` caps the frame count,
    initial frame included."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    frame = first_frame if first_frame is not None else source.read()
    if frame is None:
        raise VideoSourceError(f"{source.name}: no frames")
    tracker = make_tracker()
    out = tracker.initialize(frame, {"init_bbox": list(init_box)})
    boxes, times, flags = [list(init_box)], [float(out.get("time", 0.0))], [str(out.get("flag", "normal"))]
    meter = FpsMeter()
    total = source.frame_count or None
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    stopped = False
    with tqdm(total=total, desc="tracking", unit="frame", disable=not progress, file=sys.stderr) as bar:
        bar.update(1)
        frame_num = 1
        while True:
            annotated = visualization.draw_tracking_frame(frame, [boxes[-1]], [flags[-1]], fps=meter.fps)
            if writer is not None:
                writer.write(annotated)
            if panels is not None:
                panels.update(frame, out, frame_num=frame_num, fps=meter.fps)
                panels.wait_if_paused()
            if show_debug is not None:
                show_debug(frame, out)
            if show is not None and (show(annotated) & 0xFF) in QUIT_KEYS:
                stopped = True
                break
            if max_frames is not None and frame_num >= max_frames:
                break
            frame = source.read()
            if frame is None:
                break
            frame_num += 1
            out = tracker.track(frame)
            box = np.asarray(out["target_bbox"], dtype=np.float64).reshape(-1)
            if box.size != 4:
                raise ValueError(f"tracker returned target_bbox with {box.size} values at frame {frame_num}")
            boxes.append(box.tolist())
            times.append(float(out.get("time", 0.0)))
            flags.append(str(out.get("flag", "normal")))
            meter.update(times[-1])
            bar.update(1)
    return VideoRunResult(np.asarray(boxes, dtype=np.float64), np.asarray(times), flags, stopped)


def write_results(directory: Path, stem: str, result: VideoRunResult) -> Path:
    """``<directory>/<stem>.txt`` (x,y,w,h rows) and ``<stem>_time.txt``; returns the box file."""
    from pytracking.evaluation.results_io import write_boxes, write_times

    directory.mkdir(parents=True, exist_ok=True)
    box_file = directory / f"{stem}.txt"
    write_boxes(box_file, result.boxes)
    write_times(directory / f"{stem}_time.txt", result.times)
    return box_file


def default_results_dir(tracker: str, param: str) -> Path:
    """``<results>/videos/<tracker>/<param>`` (results root from the local settings)."""
    from ltr.admin.local_settings import REPO_ROOT, SettingsError, load_settings

    try:
        root = Path(load_settings().results)
    except (SettingsError, OSError):
        root = REPO_ROOT / "results"
    return root / "videos" / tracker.replace(":", "_").replace("/", "_") / param


class OpenCVWindow:
    """An OpenCV window showing RGB frames; only create it after ``display_unavailable_reason()``
    returned None (OpenCV aborts the process on a window without a display)."""

    def __init__(self, title: str, delay_ms: int = 1):
        self.title = title
        self.delay_ms = max(int(delay_ms), 1)
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, frame_rgb: np.ndarray) -> int:
        cv2.imshow(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        return cv2.waitKey(self.delay_ms)

    def select_box(self, frame_rgb: np.ndarray) -> list[float] | None:
        """Let the user drag the initial box (Enter/Space confirms, ``c`` cancels)."""
        x, y, w, h = cv2.selectROI(self.title, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR),
                                   showCrosshair=True, fromCenter=False)
        return [float(x), float(y), float(w), float(h)] if w > 0 and h > 0 else None

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)


class DebugWindows:
    """OpenCV windows showing a tracker's debug views (``visualization.debug_views``), one window
    per debug key, titled ``"<prefix> debug: <key>"``, created when a key first appears and placed
    in a column starting at ``anchor`` (screen pixels, top-left corner; e.g. right of the main
    window). Only create it after ``display_unavailable_reason()`` returned None. Drawing happens
    in ``visualization``; this class only shows images (the main window's ``waitKey`` refreshes
    them)."""

    def __init__(self, prefix: str, anchor: tuple[int, int] = (0, 0), view_size: int = 240):
        self.prefix = prefix
        self.anchor = (int(anchor[0]), int(anchor[1]))
        self.view_size = int(view_size)
        self.titles: dict[str, str] = {}
        self._last: dict[str, np.ndarray] = {}
        self._stale: set[str] = set()
        self._next_y = self.anchor[1]

    def show(self, views: Mapping[str, np.ndarray]) -> None:
        """Show each RGB view in its window; a window whose key is not in ``views`` shows its last
        view dimmed (``visualization.stale_view``), so an old refinement is not taken for this
        frame's."""
        for key in self.titles.keys() - views.keys():
            if key not in self._stale:
                self._stale.add(key)
                stale = visualization.stale_view(self._last[key])
                cv2.imshow(self.titles[key], cv2.cvtColor(stale, cv2.COLOR_RGB2BGR))
        for key, image in views.items():
            self._last[key] = image
            self._stale.discard(key)
            title = self.titles.get(key)
            if title is None:
                title = self.titles[key] = f"{self.prefix} debug: {key}"
                cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
                cv2.moveWindow(title, self.anchor[0], self._next_y)
                self._next_y += image.shape[0] + 40  # room for the title bar
            cv2.imshow(title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def show_output(self, frame_rgb: np.ndarray, output: Mapping[str, Any]) -> None:
        """Draw and show the debug views of one tracker ``output``; an output without ``"debug"``
        (an initial frame) changes nothing."""
        if output.get("debug"):
            self.show(visualization.debug_views(frame_rgb, output.get("debug"), size=self.view_size))

    def close(self) -> None:
        for title in self.titles.values():
            cv2.destroyWindow(title)
        self.titles.clear()
        self._last.clear()
        self._stale.clear()
        cv2.waitKey(1)


class DebugImageWriter:
    """Writes a tracker's debug views (``visualization.debug_views``) as PNG files
    ``<directory>/<debug key>/<frame>.png``, the frame counted from 0 at the initial frame (which has no
    debug output, so the files start at 1). Use as ``track_video``'s ``show_debug``, which is called once per
    frame, the initial one included; needs no display."""

    def __init__(self, directory: Path, view_size: int = 240):
        self.directory = Path(directory)
        self.view_size = int(view_size)
        self.frame = -1   # the first call is the initial frame, number 0
        self.written = 0

    def __call__(self, frame_rgb: np.ndarray, output: Mapping[str, Any]) -> None:
        self.frame += 1
        views = visualization.debug_views(frame_rgb, output.get("debug"), size=self.view_size)
        for key, image in views.items():
            folder = self.directory / key.replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.frame:06d}.png"
            if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
                raise OSError(f"cannot write {path}")
            self.written += 1


def open_visdom_panels(port: int, env: str, debug: int, prog: str) -> Any | None:
    """``VisdomPanels`` on the visdom server at 127.0.0.1:``port`` (started if none answers, bound
    to localhost only), environment ``env``; None, after one line on stderr, when no server can
    be started or reached (the caller then falls back to OpenCV windows or no display)."""
    from pytracking.utils.visdom import VisdomPanels
    from pytracking.visdom_server import ensure_visdom_server

    if not ensure_visdom_server(port, for_run=True):
        return None
    panels = VisdomPanels(port, env=env, debug=max(debug, 1))
    if not panels.enabled:
        return None
    from pytracking.visdom_server import env_url
    print(f"{prog}: visdom panels at {env_url(port, env)}", flush=True)
    return panels


def check_visdom_port(port: int) -> int:
    """``port`` if in [1, 65535], else ValueError naming ``--visdom_port``."""
    if not 1 <= port <= 65535:
        raise ValueError(f"--visdom_port must be in [1, 65535], got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.run_video", "Track one target through a video file.")
    parser.add_argument("tracker_name", help="tracker package (atom, opencv) or module:ClassName")
    parser.add_argument("tracker_param", help="parameter file name, e.g. default or kcf")
    parser.add_argument("videofile", type=Path, help="video file (anything OpenCV/FFmpeg decodes)")
    parser.add_argument("--optional_box", type=float, nargs=4, metavar=("X", "Y", "W", "H"), default=None,
                        help="initial box; without it the box is drawn with the mouse")
    parser.add_argument("--save_results", nargs="?", const="", default=None, metavar="DIR",
                        help="write x,y,w,h per frame (default DIR: <results>/videos/<tracker>/<param>)")
    parser.add_argument("--save_video", type=Path, default=None, metavar="OUT.mp4", help="write the annotated video")
    parser.add_argument("--no_display", action="store_true", help="no OpenCV window")
    parser.add_argument("--save_debug", type=Path, default=None, metavar="DIR",
                        help="with --debug >= 1: write the debug views (score map, refinement) as "
                             "DIR/<key>/<frame>.png (no display needed)")
    parser.add_argument("--debug", type=int, default=0,
                        help="tracker debug level; >= 1: debug panels in OpenCV windows, or in visdom with "
                             "--use_visdom (>= 2 there: pause/step)")
    parser.add_argument("--use_visdom", action="store_true", help="show panels in the local visdom server")
    parser.add_argument("--visdom_port", type=int, default=8097, help="visdom port (default 8097)")
    parser.add_argument("--keep_visdom", action="store_true",
                        help="leave a visdom server this run started running at the end (default: stop it)")
    parser.add_argument("--max_frames", type=int, default=None, help="stop after N frames")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the parameter file's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "run_video"
    try:
        init_box = parse_box(args.optional_box) if args.optional_box is not None else None
        if args.max_frames is not None and args.max_frames < 1:
            raise ValueError(f"--max_frames must be >= 1, got {args.max_frames}")
        check_visdom_port(args.visdom_port)
        if args.save_debug is not None and args.debug < 1:
            raise ValueError("--save_debug needs --debug >= 1 (the tracker makes debug output only then)")
        make_tracker = build_tracker_factory(args.tracker_name, args.tracker_param, args.debug, device=args.device)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    panels = None
    if args.use_visdom:
        panels = open_visdom_panels(args.visdom_port, visdom_env(args.tracker_name, args.tracker_param),
                                    args.debug, prog)

    want_window = not args.no_display and panels is None
    reason = display_unavailable_reason() if (want_window or init_box is None) else None
    if init_box is None and (args.no_display or reason):
        why = "--no_display was given" if args.no_display else f"no display: {reason}"
        print(f"{prog}: error: {why}: pass the initial box with --optional_box X Y W H", file=sys.stderr)
        return EXIT_USAGE
    if want_window and reason:
        print(f"{prog}: no display: {reason}; running without a window", file=sys.stderr)
        want_window = False

    try:
        source = FrameSource.file(args.videofile)
    except VideoSourceError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    window = None
    debug_windows = None
    debug_images = DebugImageWriter(args.save_debug) if args.save_debug is not None else None
    writer = None
    try:
        first = source.read()
        if first is None:
            print(f"{prog}: error: {args.videofile}: no frames could be decoded", file=sys.stderr)
            return EXIT_USAGE
        if init_box is not None:
            try:
                check_box_in_frame(init_box, first.shape[1], first.shape[0])
            except ValueError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return EXIT_USAGE
        if want_window or init_box is None:
            window = OpenCVWindow(f"{prog}: {args.videofile.name}")
        if want_window and args.debug >= 1:
            # the debug windows go in a column to the right of the main window, moved to the corner
            cv2.moveWindow(window.title, 0, 0)
            debug_windows = DebugWindows(prog, anchor=(first.shape[1] + 20, 0))
        if init_box is None:
            init_box = window.select_box(first)
            if init_box is None:
                print(f"{prog}: no box selected; nothing to track", file=sys.stderr)
                return 1
        if args.save_video is not None:
            writer = VideoWriter(args.save_video, source.fps or 30.0)
        debug_sinks = [sink for sink in (debug_windows.show_output if debug_windows is not None else None,
                                         debug_images) if sink is not None]

        def show_debug(frame_rgb: np.ndarray, output: Mapping[str, Any]) -> None:
            for sink in debug_sinks:
                sink(frame_rgb, output)

        result = track_video(source, make_tracker, init_box, first_frame=first,
                             show=window.show if (window is not None and want_window) else None,
                             writer=writer, panels=panels, max_frames=args.max_frames,
                             show_debug=show_debug if debug_sinks else None)
    finally:
        source.release()
        if writer is not None:
            writer.close()
        if debug_windows is not None:
            debug_windows.close()
        if window is not None:
            window.close()
        if panels is not None:
            panels.close()
        if args.use_visdom:
            from pytracking.visdom_server import finish_spawned_servers
            finish_spawned_servers(args.keep_visdom, prog)

    n = len(result.boxes)
    mean_fps = float(np.mean(1.0 / np.maximum(result.times[1:], 1e-6))) if n > 1 else float("nan")
    print(f"{prog}: tracked {n} frames, mean tracker speed {mean_fps:.1f} fps")
    if args.save_results is not None:
        directory = Path(args.save_results) if args.save_results else default_results_dir(
            args.tracker_name, args.tracker_param)
        print(f"{prog}: results written to {write_results(directory, args.videofile.stem, result)}")
    if writer is not None:
        print(f"{prog}: annotated video written to {args.save_video} ({writer.frames_written} frames)")
    if debug_images is not None:
        print(f"{prog}: {debug_images.written} debug views written to {args.save_debug}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
