"""A TraX server: run a tracker inside the VOT toolkit (``vot test / evaluate``).

    python -m pytracking.run_vot <tracker_name> <tracker_param> [--device cpu|cuda|cuda:N] [--debug N]

A VOT workspace's ``trackers.ini`` entry::

    [atom_ebm]
    label = atom_ebm
    protocol = trax
    command = /path/to/.venv/bin/python -m pytracking.run_vot atom default

The server speaks TraX through ``vot-trax``'s ``trax.Server`` (the client chooses stdin/stdout or
the ``TRAX_SOCKET`` port): it accepts rectangle regions and image paths (``color`` channel), and
several objects per session (``multiobject``). Each object gets its own tracker state; all of them
share one network (``build_tracker_factory(share_network=True)``). Objects announced in a later
frame start there.

Nothing but the protocol goes to stdout: Python's ``sys.stdout`` is pointed at stderr before any
tracker code runs, so prints, logs and progress bars go to stderr. A tracker exception or an
unreadable frame is written to stderr (the frame's path named), sent to the client as a TraX quit with
the reason (the toolkit reports a tracker error instead of waiting for a reply), and the process exits 1.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any, Callable

import numpy as np

from ltr.admin.cli import cli_parser

EXIT_OK = 0
EXIT_TRACKER_ERROR = 1
EXIT_NO_CLIENT = 2

#: said when no TraX client is at the other end (started by hand)
NO_CLIENT = ("run_vot is a TraX server: the VOT toolkit (vot test / evaluate) or another TraX client starts it and "
             "speaks the protocol on its stdin/stdout; it is not run by hand. To track a video yourself: "
             "python -m pytracking.run_video <tracker> <param> VIDEO")


def log(message: str) -> None:
    """One line to stderr (stdout belongs to the protocol)."""
    print(f"[run_vot] {message}", file=sys.stderr, flush=True)


class MultiObjectSession:
    """The per-object trackers of one TraX session; ``make_tracker()`` returns a fresh ``BaseTracker``."""

    def __init__(self, make_tracker: Callable[[], Any]):
        self.make_tracker = make_tracker
        self.trackers: list[Any] = []

    def initialize(self, image: np.ndarray, boxes: list[list[float]]) -> list[list[float]]:
        """Start a new session on ``image``: one tracker per box; returns the boxes reported for this frame."""
        self.trackers = []
        return self.add_objects(image, boxes)

    def add_objects(self, image: np.ndarray, boxes: list[list[float]]) -> list[list[float]]:
        """Start one tracker per box in ``image`` (objects appearing mid-sequence); returns the boxes."""
        for box in boxes:
            tracker = self.make_tracker()
            tracker.initialize(image, {"init_bbox": list(box)})
            self.trackers.append(tracker)
        return [list(box) for box in boxes]

    def track(self, image: np.ndarray) -> list[list[float]]:
        """Every existing object's box ``[x, y, w, h]`` in ``image``, in the order the objects were given."""
        boxes = []
        for index, tracker in enumerate(self.trackers):
            box = np.asarray(tracker.track(image, {})["target_bbox"], dtype=np.float64).reshape(-1)
            if box.size != 4:
                raise ValueError(f"object {index}: the tracker returned target_bbox with {box.size} values")
            boxes.append(box.tolist())
        return boxes


def region_box(region: Any) -> list[float]:
    """``[x, y, w, h]`` of a TraX region (its bounding rectangle)."""
    x, y, w, h = region.bounds()
    return [float(x), float(y), float(w), float(h)]


def frame_path(images: dict) -> str:
    """The ``color`` channel's file path of a TraX request."""
    if "color" not in images:
        raise ValueError(f"request without a color image (channels: {sorted(images)})")
    image = images["color"]
    if not hasattr(image, "path"):
        raise ValueError(f"the color image is not a file path (type {type(image).__name__}); "
                         f"the server accepts image paths only")
    return str(image.path())


def serve(server: Any, session: MultiObjectSession, read_image: Callable[[str], np.ndarray]) -> None:
    """Answer TraX requests until the client quits. Exceptions propagate to the caller."""
    import trax

    while True:
        request = server.wait()
        if request.type == trax.TraxStatus.QUIT:
            return
        image = read_image(frame_path(request.image))
        new_boxes = [region_box(region) for region, _ in (request.objects or [])]
        if request.type == trax.TraxStatus.INITIALIZE:
            boxes = session.initialize(image, new_boxes)
        else:
            boxes = session.track(image) + session.add_objects(image, new_boxes)
        server.status([(trax.Rectangle.create(*box), {}) for box in boxes])


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.run_vot", __doc__)
    parser.add_argument("tracker_name", help="tracker package under pytracking/tracker (e.g. atom), "
                                             "or module:ClassName of a BaseTracker subclass")
    parser.add_argument("tracker_param", help="parameter file under pytracking/parameter/<tracker_name> (e.g. default)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: parameter file, else settings)")
    parser.add_argument("--debug", type=int, default=0, help="debug level of the tracker (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    sys.stdout = sys.stderr  # the protocol owns file descriptor 1; Python output goes to stderr
    args = build_parser().parse_args(argv)
    if args.debug < 0:
        build_parser().error(f"--debug must be >= 0, got {args.debug}")

    import os

    import trax

    if sys.stdin.isatty() and not os.environ.get("TRAX_SOCKET"):
        log(NO_CLIENT)
        return EXIT_NO_CLIENT
    # imported only after stdout points at stderr: nothing a tracker module prints may reach the protocol
    from ltr.data.image_loader import imread_rgb
    from pytracking.evaluation.tracker_factory import build_tracker_factory

    try:
        make_tracker = build_tracker_factory(args.tracker_name, args.tracker_param, debug=args.debug,
                                             share_network=True, device=args.device)
    except ValueError as err:
        log(f"error: {err}")
        return EXIT_TRACKER_ERROR
    server = trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], multiobject=True,
                         tracker_name=f"{args.tracker_name} {args.tracker_param}", tracker_family="ebmtrack")
    session = MultiObjectSession(make_tracker)
    try:
        serve(server, session, imread_rgb)
    except trax.TraxException as err:
        if session.trackers:
            log(f"the TraX client went away mid-session: {err}")
            return EXIT_TRACKER_ERROR
        log(f"no TraX client answered ({err}). {NO_CLIENT}")
        return EXIT_NO_CLIENT
    except Exception as err:  # noqa: BLE001 - any tracker failure must reach the client, never hang it
        traceback.print_exc(file=sys.stderr)
        reason = f"{type(err).__name__}: {err}"
        log(f"tracker error, ending the session: {reason}")
        try:
            server.quit(reason=reason)
        except trax.TraxException as quit_err:
            log(f"could not send the error to the client: {quit_err}")
        return EXIT_TRACKER_ERROR
    server.quit()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
