"""Start a local visdom server that works offline: ``python -m pytracking.visdom_server [--port 8097]``.

visdom's own entry point downloads its page's JavaScript/CSS at every start and crashes without
network. This module starts visdom's server application directly (``visdom.server.run_server.
start_server``), skipping that download, bound to 127.0.0.1 only; the page's assets are provisioned
once from npm by ``scripts/provision_visdom_assets.sh`` (run by install.sh). The saved
environments go to ``<workspace>/visdom`` (workspace from the local settings file).

``ensure_visdom_server(port)`` is what trackers and training call with ``--use_visdom``: it returns
True at once when the port already answers, else spawns this module as a subprocess and waits.
"""
from __future__ import annotations

import argparse
import importlib.util
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

from ltr.admin.visdom_client import HOST, server_answers

DEFAULT_PORT = 8097

#: files the visdom page (static/index.html) loads, relative to visdom's static folder
PAGE_ASSETS = (
    "css/bootstrap.min.css", "js/jquery.min.js", "js/bootstrap.min.js", "css/react-resizable-styles.css",
    "css/react-grid-layout-styles.css", "js/react-react.min.js", "js/react-dom.min.js",
    "js/layout_bin_packer.js", "js/mathjax/2.7.5/MathJax.js",
    "js/mathjax/2.7.5/config/TeX-AMS-MML_HTMLorMML.js", "js/plotly-plotly.min.js", "js/d3.v3.min.js",
    "js/d3-selection-multi.v1.js", "js/saveSvgAsPng.js", "js/main.js", "css/style.css", "css/network.css",
)

_warned: set[str] = set()
#: servers started by ensure_visdom_server in this process, by port (they outlive it unless stopped)
_spawned: dict[int, subprocess.Popen] = {}
#: ports of the servers started for a tracking run (``ensure_visdom_server(..., for_run=True)``),
#: which :func:`finish_spawned_servers` stops (or reports) when the run ends
_started_for_run: set[int] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"[visdom] {message}", file=sys.stderr)


def visdom_static_dir() -> Path:
    """visdom's static folder (located without importing visdom); ValueError if visdom is missing."""
    spec = importlib.util.find_spec("visdom")
    if spec is None or spec.origin is None:
        raise ValueError("visdom is not installed (pip install visdom)")
    return Path(spec.origin).parent / "static"


def missing_page_assets() -> list[str]:
    """The page's assets absent from visdom's static folder (empty when provisioned)."""
    static = visdom_static_dir()
    return [name for name in PAGE_ASSETS if not (static / name).is_file()]


def default_env_path() -> Path:
    """``<workspace>/visdom`` from the local settings, or ``<repo>/workspace/visdom`` without them."""
    from ltr.admin.local_settings import REPO_ROOT, SettingsError, load_settings

    try:
        return Path(load_settings().workspace) / "visdom"
    except (SettingsError, OSError):
        return REPO_ROOT / "workspace" / "visdom"


def port_in_use(port: int) -> bool:
    """True when something listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def check_port(port: int) -> int:
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an int in [1, 65535], got {port!r}")
    return port


def run_server(port: int = DEFAULT_PORT, env_path: str | Path | None = None) -> None:
    """Serve visdom on 127.0.0.1:``port`` until interrupted (no asset download)."""
    check_port(port)
    env_dir = Path(env_path) if env_path is not None else default_env_path()
    env_dir.mkdir(parents=True, exist_ok=True)
    missing = missing_page_assets()
    if missing:
        _warn_once(f"{len(missing)} page assets missing from {visdom_static_dir()} (e.g. {missing[0]}): "
                   "the page will not render; run scripts/provision_visdom_assets.sh")
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from visdom.server.run_server import start_server

        logging.getLogger().setLevel(logging.WARNING)
        # env_path must end with a separator: visdom joins it by string concatenation
        start_server(port=port, hostname=HOST, base_url="", env_path=str(env_dir) + "/",
                     bind_local=True, print_func=lambda p: print(
                         f"visdom server at http://{HOST}:{p} (environments in {env_dir})", flush=True))


def ensure_visdom_server(port: int = DEFAULT_PORT, timeout: float = 30.0,
                         env_path: str | Path | None = None, for_run: bool = False) -> bool:
    """Make sure a visdom server answers on 127.0.0.1:``port``; start one if needed.

    Returns True when the page answers (already running, or started here as a detached
    subprocess that outlives the caller); False, with one message on stderr, when it cannot be
    started within ``timeout`` seconds (callers then fall back to an OpenCV window or no display).
    ``for_run``: a server started here belongs to the calling run, which ends it with
    :func:`finish_spawned_servers`.
    """
    check_port(port)
    if server_answers(port):
        return True
    if port_in_use(port):
        _warn_once(f"port {port} is in use by something that is not a visdom server; visdom disabled")
        return False
    env_dir = Path(env_path) if env_path is not None else default_env_path()
    env_dir.mkdir(parents=True, exist_ok=True)
    log_path = env_dir / f"server_{port}.log"
    command = [sys.executable, "-m", "pytracking.visdom_server", "--port", str(port), "--env_path", str(env_dir)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    _spawned[port] = process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_answers(port):
            if for_run:
                _started_for_run.add(port)
            return True
        if process.poll() is not None:
            break
        time.sleep(0.2)
    stop_spawned_servers([port])
    _warn_once(f"could not start the visdom server on port {port} (log: {log_path}); "
               "continuing without visdom")
    return False


def env_url(port: int, env: str) -> str:
    """The page of visdom environment ``env``: ``http://127.0.0.1:<port>/env/<env>`` (the root URL
    shows the empty ``main`` environment, not a run's panels)."""
    from urllib.parse import quote
    return f"http://{HOST}:{port}/env/{quote(env, safe='')}"


def spawned_server_pid(port: int) -> int | None:
    """The pid of the server this process started on ``port`` (None if it started none there)."""
    process = _spawned.get(port)
    return process.pid if process is not None and process.poll() is None else None


def finish_spawned_servers(keep: bool, prog: str) -> None:
    """At the end of a run: stop the servers this run started (one line each), or, with ``keep``
    (``--keep_visdom``), leave them running and say their pid and how to stop them. A server that
    was already running before the run is never touched."""
    for port in sorted(_started_for_run):
        _started_for_run.discard(port)
        pid = spawned_server_pid(port)
        if pid is None:
            continue
        if keep:
            print(f"{prog}: the visdom server this run started keeps running (pid {pid}, port {port}); "
                  f"stop it with: kill {pid}", file=sys.stderr)
        else:
            stop_spawned_servers([port])
            print(f"{prog}: stopped the visdom server this run started (pid {pid}, port {port}); "
                  "--keep_visdom keeps it", file=sys.stderr)


def stop_spawned_servers(ports: list[int] | None = None) -> None:
    """Stop the servers this process started with ``ensure_visdom_server`` (all, or those on ``ports``)."""
    for port in list(_spawned if ports is None else ports):
        process = _spawned.pop(port, None)
        if process is None or process.poll() is not None:
            continue
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytracking.visdom_server",
        description="Start visdom on 127.0.0.1 without downloading its page assets (offline).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--env_path", type=Path, default=None,
                        help="folder of saved visdom environments (default <workspace>/visdom)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in [1, 65535], got {args.port}")
    if server_answers(args.port):
        print(f"a visdom server already answers at http://{HOST}:{args.port}")
        return 0
    if port_in_use(args.port):
        print(f"port {args.port} is already in use; choose another with --port", file=sys.stderr)
        return 2
    try:
        run_server(args.port, args.env_path)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
