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
``<results>/videos/<tracker>/<param>`` (``<param>-<digest>`` with ``--set key=value``, parameter-file keys set on
top of the file's). ``--save_video`` writes the annotated frames (mp4);
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

The tracker comes from ``pytracking.evaluation.tracker_factory``, the loop from
``pytracking.evaluation.video_tracking``, the windows from ``pytracking.utils.opencv_windows``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from ltr.admin.cli import add_set_argument, cli_parser
from pytracking.evaluation.tracker import OverrideError, config_name_of
from pytracking.evaluation.tracker_factory import build_tracker_factory
from pytracking.evaluation.video_tracking import default_results_dir, track_video, write_results
from pytracking.utils.debug_images import DebugImageWriter
from pytracking.utils.display import display_unavailable_reason
from pytracking.utils.params import parse_overrides
from pytracking.utils.opencv_windows import DebugWindows, OpenCVWindow
from pytracking.utils.video_source import FrameSource, VideoSourceError, VideoWriter, check_video_output
from pytracking.utils.visdom import check_visdom_port, open_visdom_panels, visdom_env
from pytracking.visdom_server import finish_spawned_servers

EXIT_USAGE = 2


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
    add_set_argument(parser)
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
        if args.save_video is not None:
            check_video_output(args.save_video)
        overrides = parse_overrides(args.overrides)
        make_tracker = build_tracker_factory(args.tracker_name, args.tracker_param, args.debug, device=args.device,
                                             overrides=overrides)
    except OverrideError as exc:
        print(f"{prog}: error: argument --set: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
            finish_spawned_servers(args.keep_visdom, prog)

    n = len(result.boxes)
    mean_fps = float(np.mean(1.0 / np.maximum(result.times[1:], 1e-6))) if n > 1 else float("nan")
    print(f"{prog}: tracked {n} frames, mean tracker speed {mean_fps:.1f} fps")
    if args.save_results is not None:
        directory = Path(args.save_results) if args.save_results else default_results_dir(
            args.tracker_name, config_name_of(args.tracker_param, overrides))
        print(f"{prog}: results written to {write_results(directory, args.videofile.stem, result)}")
    if writer is not None:
        print(f"{prog}: annotated video written to {args.save_video} ({writer.frames_written} frames)")
    if debug_images is not None:
        print(f"{prog}: {debug_images.written} debug views written to {args.save_debug}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
