"""Live tracking demo on a camera (or a video file through the same code path).

    python -m pytracking.run_webcam <tracker> <param> [--camera N] [--source video_file]
        [--debug N] [--use_visdom] [--visdom_port 8097] [--save_results DIR] [--max_frames N]

In the window: drag with the left mouse button to draw a target box (several targets allowed,
one tracker instance each), ``r`` removes all targets, ``q`` or Esc quits. Each frame shows the
boxes (one colour per target) and the tracking fps (all trackers of the frame together,
smoothed). ``--source`` plays a file at its own frame rate through exactly the camera's code
path; the demo ends at the file's end. Without a camera or a display it prints one line and
exits with status 2.

Debug panels (``--debug N``, N >= 1) show one target at a time, the *debug target*: the most
recently started target, or the one picked with the number keys ``0``..``9`` (target ``#k``; a
target started later takes over again; after ``r`` the next new target). Its label in the window
reads ``#k debug``. With ``--use_visdom`` (and ``--visdom_port``, default 8097: the same flags and
defaults as ``run_video``) the panels go to the local visdom server, started on 127.0.0.1 only if
none answers, environment ``<tracker>_<param>``: the frame with the debug target's box, its score
map, refinement boxes, curves and timings; ``--debug >= 2`` adds pause (space) / step (right arrow)
from the browser (the OpenCV window keeps handling ``q``, ``r`` and the number keys while paused).
When visdom cannot start, one line says so and the panels fall back to OpenCV windows, as without
``--use_visdom``: the score map as a heat map and the refinement's starting and final boxes on a
zoomed crop, in windows titled ``run_webcam debug: <key>`` right of the main window
(``pytracking.utils.opencv_windows.DebugWindows``). The initial frame of a target has no debug output: its
panels appear from the next frame on.

``--save_results DIR`` writes ``DIR/target_<k>.txt`` per target with ``frame,x,y,w,h`` rows
(frame numbers count from 0 at the first frame read from the source).

The demo itself is ``pytracking.evaluation.webcam_demo``: ``WebcamDemo`` is the state machine (mouse
drags, keys, targets, tracking, drawing) and never touches a window, so it is driven directly in tests;
``run_in_window`` connects it to an OpenCV window and a frame source.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ltr.admin.cli import add_set_argument, cli_parser
from pytracking.evaluation.tracker import OverrideError
from pytracking.evaluation.tracker_factory import build_tracker_factory
from pytracking.evaluation.webcam_demo import Target, WebcamDemo, run_in_window, save_targets
from pytracking.utils.display import display_unavailable_reason
from pytracking.utils.params import parse_overrides
from pytracking.utils.opencv_windows import DebugWindows
from pytracking.utils.video_source import VideoSourceError, open_source
from pytracking.utils.visdom import check_visdom_port, open_visdom_panels, visdom_env
from pytracking.visdom_server import finish_spawned_servers

EXIT_UNAVAILABLE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.run_webcam", "Live tracking demo: draw boxes with the mouse.")
    parser.add_argument("tracker_name", help="tracker package (atom, opencv) or module:ClassName")
    parser.add_argument("tracker_param", help="parameter file name, e.g. default or kcf")
    parser.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    parser.add_argument("--source", type=Path, default=None, help="play a video file instead of the camera")
    parser.add_argument("--debug", type=int, default=0,
                        help="tracker debug level; >= 1: debug panels of the debug target (the newest, or "
                             "picked with keys 0-9) in OpenCV windows, or in visdom with --use_visdom "
                             "(>= 2 there: pause/step)")
    parser.add_argument("--use_visdom", action="store_true", help="show panels in the local visdom server")
    parser.add_argument("--visdom_port", type=int, default=8097, help="visdom port (default 8097)")
    parser.add_argument("--keep_visdom", action="store_true",
                        help="leave a visdom server this run started running at the end (default: stop it)")
    parser.add_argument("--save_results", type=Path, default=None, metavar="DIR",
                        help="write DIR/target_<k>.txt (frame,x,y,w,h rows) at exit")
    parser.add_argument("--max_frames", type=int, default=None, help="stop after N frames")
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the parameter file's)")
    add_set_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "run_webcam"
    if args.camera < 0:
        print(f"{prog}: error: --camera must be >= 0, got {args.camera}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        check_visdom_port(args.visdom_port)
        # one network for all targets: each new target then starts without reloading the weights
        make_tracker = build_tracker_factory(args.tracker_name, args.tracker_param, args.debug, share_network=True,
                                             device=args.device, overrides=parse_overrides(args.overrides))
    except OverrideError as exc:
        print(f"{prog}: error: argument --set: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    reason = display_unavailable_reason()
    if reason is not None:
        print(f"{prog}: no display: {reason} (the demo needs a window; for headless runs use "
              "python -m pytracking.run_video ... --no_display --optional_box X Y W H)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    panels = None
    if args.use_visdom:
        panels = open_visdom_panels(args.visdom_port, visdom_env(args.tracker_name, args.tracker_param),
                                    args.debug, prog)
    try:
        source = open_source(camera=args.camera, source=args.source)
    except VideoSourceError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        if panels is not None:
            panels.close()
        if args.use_visdom:
            finish_spawned_servers(args.keep_visdom, prog)
        return EXIT_UNAVAILABLE

    def announce(target: Target) -> None:
        box = ",".join(f"{v:.0f}" for v in target.box)
        print(f"{prog}: target #{target.index} started at frame {target.history[0][0]} (box {box})", flush=True)

    # without visdom (not asked for, or it could not start) the debug panels go to OpenCV windows
    debug_windows = DebugWindows(prog, anchor=(max(source.size[0], 320) + 20, 0)) \
        if panels is None and args.debug >= 1 else None
    demo = WebcamDemo(make_tracker, on_new_target=announce,
                      mark_debug_target=panels is not None or debug_windows is not None)
    try:
        with source:
            shown = run_in_window(demo, source, max_frames=args.max_frames, panels=panels, debug_windows=debug_windows)
    finally:
        if debug_windows is not None:
            debug_windows.close()
        if panels is not None:
            panels.close()
        if args.use_visdom:
            finish_spawned_servers(args.keep_visdom, prog)
    targets = demo.all_targets()
    how = "stopped with q" if demo.quit else "end of source" if args.max_frames is None or shown < args.max_frames \
        else "--max_frames reached"
    print(f"{prog}: {shown} frames shown, {len(targets)} targets tracked ({how})")
    if args.save_results is not None:
        save_targets(args.save_results, targets)
        print(f"{prog}: results written to {args.save_results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
