"""Per-frame speed of a tracker, split into backbone / classifier / refinement / rest.

    python -m pytracking.benchmark_tracker [tracker_name [tracker_param]] [--frames N]
        [--device auto|cpu|cuda] [--torch_threads T] [--image_sample_size S] [--set KEY=VALUE ...]

Runs on a synthetic sequence made in memory (an scikit-image photograph, 640x480, with a
textured patch moving and growing across it), so it needs no dataset. Prints the median
seconds per frame of each part, its share, and frames per second (1 / median total). If the
parameter file's weights are missing, the registry fallback (ImageNet backbone, untrained
estimator) is used: the timing is the same, the boxes are not meaningful.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ltr.admin.cli import add_alias, add_set_argument, cli_parser
from pytracking.evaluation.tracker import OverrideError, Tracker, check_tracker_name
from pytracking.tracker.atom.atom import resolve_device
from pytracking.tracker.atom.settings import NetworkSettings
from pytracking.utils.cpu_resources import default_torch_threads
from pytracking.utils.params import describe_overrides, parse_set_argument

__all__ = ["moving_patch_sequence", "synthetic_benchmark_sequence", "benchmark", "machine_description",
           "pool_throughput", "main"]


def machine_description(device: torch.device) -> str:
    """What the figures were measured on: the GPU's name, or the CPU's model name (``/proc/cpuinfo`` on
    Linux, ``platform.processor()`` elsewhere) with its logical CPU count; plus the torch version."""
    if device.type == "cuda":
        what = f"GPU {torch.cuda.get_device_name(device)}"
    else:
        model = ""
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.is_file():
            for line in cpuinfo.read_text(errors="replace").splitlines():
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        what = f"CPU {model or platform.processor() or platform.machine()} ({os.cpu_count()} logical CPUs)"
    return f"{what}, torch {torch.__version__}"


def moving_patch_sequence(background: np.ndarray, texture: np.ndarray, num_frames: int,
                          start_wh: tuple[float, float], grow_wh: tuple[float, float],
                          amplitude: tuple[float, float]) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames with ``texture`` pasted on a copy of ``background`` and its true boxes ``[x, y, w, h]``.

    At ``s = t / (num_frames - 1)`` the patch is ``start_wh + grow_wh * s`` pixels (rounded), centred at
    ``(W / 2 + amplitude_x sin(2 pi s), H / 2 + amplitude_y sin(pi s))``: one loop left-right, one arc down."""
    height, width = background.shape[:2]
    frames, boxes = [], []
    for t in range(num_frames):
        s = t / max(num_frames - 1, 1)
        w, h = start_wh[0] + grow_wh[0] * s, start_wh[1] + grow_wh[1] * s
        cx = width / 2 + amplitude[0] * math.sin(2 * math.pi * s)
        cy = height / 2 + amplitude[1] * math.sin(math.pi * s)
        patch = cv2.resize(texture, (int(round(w)), int(round(h))), interpolation=cv2.INTER_AREA)
        x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
        frame = background.copy()
        frame[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
        frames.append(frame)
        boxes.append([x0, y0, patch.shape[1], patch.shape[0]])
    return frames, np.asarray(boxes, dtype=np.float64)


def synthetic_benchmark_sequence(num_frames: int, size: tuple[int, int] = (640, 480),
                                 seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (RGB uint8) and true boxes of a pasted textured patch moving over a photograph."""
    from skimage import data

    width, height = size
    background = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    texture = cv2.resize(data.chelsea(), (128, 128), interpolation=cv2.INTER_AREA)
    return moving_patch_sequence(background, texture, num_frames, (60, 50), (30, 20), (0.3 * width, 0.25 * height))


def _build_tracker(tracker: str, param: str, device: str, image_sample_size: int | None = None,
                   reference: bool = False, cuda_graph: bool = True, compile_refinement: bool = False,
                   announce: bool = True, overrides: Mapping[str, Any] | None = None) -> Any:
    """The tracker ``tracker/param`` with ``overrides`` (``--set``) on ``device`` with the benchmark's overrides; the
    registry fallback (untrained estimator, same timing) when the parameter file's weights are missing (said once if
    ``announce``)."""
    # ValueError names an unknown tracker or param, OverrideError a bad override
    spec = Tracker(tracker, param, results_root=Path("."), overrides=overrides)
    params = spec.get_parameters(device=device)
    if image_sample_size is not None:
        params.image_sample_size = image_sample_size
    if reference:
        params.box_estimator_fast = False
    params.cuda_graph = cuda_graph
    params.compile_refinement = compile_refinement
    network = NetworkSettings.from_params(params, check=False)
    net_path = network.net_path
    if network.net_constructor is None and (net_path is None or not Path(net_path).is_file()):
        if announce:
            print(f"note: {net_path} not found: using the registry fallback {network.fallback_net_constructor} "
                  "(untrained estimator; timing is representative, boxes are not)")
        params.use_registry_fallback = True
    return spec.create_tracker(params)


def benchmark(tracker: str = "atom", param: str = "default", frames: int = 100, device: str = "auto",
              image_sample_size: int | None = None, warmup: int = 5, reference: bool = False,
              cuda_graph: bool = True, compile_refinement: bool = False, lost_frames: int = 0,
              overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Median seconds per frame of each part (keys: backbone, classifier, refinement, rest, total),
    ``frames_located``: frames not flagged ``not_found`` (only those run the refinement),
    ``refinement_located`` / ``total_located``: medians over those frames only (0 if there are none), and
    ``mean_total``: the mean seconds per frame, which unlike the median counts the frames that also run the
    classifier's periodic update (what a whole sequence's frames per second sees).

    ``lost_frames`` > 0 (ATOM only): every frame is tracked as if the target had been lost for that many frames
    before it, i.e. on the enlarged search patch of the lost-target search (the cost of such a frame).
    ``overrides``: parameter-file keys set on top of ``param``'s."""
    trk = _build_tracker(tracker, param, device, image_sample_size=image_sample_size, reference=reference,
                         cuda_graph=cuda_graph, compile_refinement=compile_refinement, overrides=overrides)
    images, boxes = synthetic_benchmark_sequence(frames + warmup + 1)
    trk.initialize(images[0], {"init_bbox": boxes[0].tolist()})
    if lost_frames > 0 and not hasattr(trk, "lost_frames"):
        raise ValueError(f"--lost_frames: tracker {tracker!r} has no lost-target search")
    parts: dict[str, list[float]] = {"backbone": [], "classifier": [], "refinement": [], "rest": [], "total": []}
    refined_frames = 0
    located: dict[str, list[float]] = {"refinement": [], "total": []}
    for i, image in enumerate(tqdm(images[1:], desc=f"{tracker}/{param}", leave=False)):
        if lost_frames > 0:
            trk.lost_frames = lost_frames
        out = trk.track(image)
        if i < warmup:
            continue
        timing = getattr(trk, "timing", {})
        for key in ("backbone", "classifier", "refinement"):
            parts[key].append(float(timing.get(key, 0.0)))
        refined_frames += int(out.get("flag") != "not_found")
        parts["total"].append(float(out["time"]))
        if out.get("flag") != "not_found":
            located["refinement"].append(parts["refinement"][-1])
            located["total"].append(parts["total"][-1])
        parts["rest"].append(parts["total"][-1] - sum(parts[k][-1] for k in ("backbone", "classifier", "refinement")))
    result = {key: statistics.median(values) for key, values in parts.items()}
    result["mean_total"] = statistics.fmean(parts["total"])
    result["frames_located"] = float(refined_frames)
    for key, values in located.items():
        result[f"{key}_located"] = statistics.median(values) if values else 0.0
    return result


def _pool_worker(job: tuple) -> tuple[float, float, int]:
    """One worker of :func:`pool_throughput`: build and initialise, warm up, wait for every worker, track."""
    tracker, param, frames, device, cuda_graph, barrier = job
    torch.set_num_threads(1)
    trk = _build_tracker(tracker, param, device, cuda_graph=cuda_graph, announce=False)
    warmup = 5
    images, boxes = synthetic_benchmark_sequence(frames + warmup + 1)
    trk.initialize(images[0], {"init_bbox": boxes[0].tolist()})
    for image in images[1:warmup + 1]:
        trk.track(image)
    barrier.wait()
    start = time.perf_counter()
    for image in images[warmup + 1:]:
        trk.track(image)
    return start, time.perf_counter(), frames


def pool_throughput(tracker: str = "atom", param: str = "default", processes: int = 4, frames: int = 200,
                    device: str = "auto", cuda_graph: bool = True) -> dict[str, float]:
    """Aggregate frames per second of ``processes`` worker processes tracking at the same time (on one GPU they
    share it): every worker builds its tracker and warms up, all start together (a barrier), and the figure is
    ``processes * frames / (last end - first start)`` -- the steady state of an evaluation worker pool, without
    the start-up of the processes. Also returns the mean per-worker frames/s."""
    if processes < 1 or frames < 1:
        raise ValueError(f"processes and frames must be >= 1, got {processes}, {frames}")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            spans = pool.map(_pool_worker, [(tracker, param, frames, device, cuda_graph, barrier)] * processes)
    first, last = min(s for s, _, _ in spans), max(e for _, e, _ in spans)
    total = sum(n for _, _, n in spans)
    return {"processes": float(processes), "frames": float(total), "seconds": last - first,
            "aggregate_fps": total / (last - first), "per_worker_fps": statistics.mean(n / (e - s) for s, e, n in spans)}


#: CPU kernel sets to compare (``--compare_capabilities``): the environment of each child process. ATen picks its
#: vectorised kernels by ``ATEN_CPU_CAPABILITY``; convolutions go through oneDNN, capped by ``ONEDNN_MAX_CPU_ISA``.
CPU_CAPABILITIES: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "plain": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}


def compare_capabilities(tracker: str, param: str, frames: int, torch_threads: int,
                         capabilities: tuple[str, ...] = ("native", "avx2", "plain"),
                         baseline: tuple[str, str] = ("opencv", "csrt")) -> list[dict[str, Any]]:
    """For each CPU kernel set of :data:`CPU_CAPABILITIES`: this benchmark of ``tracker/param`` and, right after
    it, of ``baseline`` (OpenCV CSRT), each in a child process with that environment, on the same synthetic
    sequence. Rows: ``capability`` (what torch reports in the child), ``fps``, ``baseline_fps`` and their ratio."""
    import subprocess
    import sys
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in capabilities:
            env = {**os.environ, **CPU_CAPABILITIES[name]}
            row: dict[str, Any] = {"kernels": name, **CPU_CAPABILITIES[name]}
            for key, (trk, prm) in (("fps", (tracker, param)), ("baseline_fps", baseline)):
                out = Path(tmp) / f"{name}_{key}.json"
                command = [sys.executable, "-m", "pytracking.benchmark_tracker", trk, prm, "--device", "cpu",
                           "--frames", str(frames), "--torch_threads", str(torch_threads), "--output", str(out)]
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"benchmark with {name} kernels failed: {done.stderr.strip()[-500:]}")
                record = json.loads(out.read_text())
                row[key] = record["fps"]
                row[f"mean_{key}"] = 1.0 / record["seconds"]["mean_total"]
                row["capability"] = record["cpu_capability"]
            row["ratio"] = row["fps"] / row["baseline_fps"]
            row["mean_ratio"] = row["mean_fps"] / row["mean_baseline_fps"]
            rows.append(row)
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = cli_parser("pytracking.benchmark_tracker", __doc__)
    parser.add_argument("tracker_name", nargs="?", default="atom", help="tracker package name (default: atom)")
    parser.add_argument("tracker_param", nargs="?", default="default", help="parameter file (default: default)")
    parser.add_argument("--frames", type=int, default=100, help="frames of the synthetic sequence (default 100)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--torch_threads", type=int, default=default_torch_threads(),
                        help="torch intra-op threads (default: the usable physical cores, here "
                             f"{default_torch_threads()}; pytracking.utils.cpu_resources)")
    add_alias(parser, "--threads", "--torch_threads")
    parser.add_argument("--image_sample_size", type=int, default=None, help="override params.image_sample_size")
    add_alias(parser, "--image-sample-size", "--image_sample_size")
    parser.add_argument("--reference", action="store_true",
                        help="estimator on the reference (autograd) path instead of the inference fast path")
    parser.add_argument("--no_cuda_graph", action="store_true",
                        help="on CUDA, run the backbone and the refinement eagerly instead of replaying CUDA graphs")
    parser.add_argument("--compile_refinement", action="store_true",
                        help="on CUDA, also torch.compile the estimator's pass (experimental; compiles on the first frame)")
    parser.add_argument("--lost_frames", type=int, default=0, metavar="K",
                        help="ATOM: track every frame as after K frames with the target lost, i.e. on the lost-target "
                             "search's enlarged patch (side growth**(K - delay), at most the max; the cost of such a "
                             "frame)")
    parser.add_argument("--processes", type=int, default=0, metavar="W",
                        help="instead: aggregate frames/s of W worker processes tracking at once (an evaluation pool; "
                             "on one GPU they share it), measured after every worker has warmed up")
    parser.add_argument("--compare_capabilities", action="store_true",
                        help="instead: the benchmark on the CPU with the machine's own kernels, AVX2 kernels and plain "
                             "kernels (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA), each beside OpenCV CSRT run right after it")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE.json",
                        help="also write the figures (seconds) and the machine description as JSON")
    add_set_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.frames < 1 or args.torch_threads < 1:
        parser.error("arguments --frames and --torch_threads must be >= 1")
    if args.lost_frames < 0:
        parser.error(f"argument --lost_frames: must be >= 0, got {args.lost_frames}")
    try:
        check_tracker_name(args.tracker_name, args.tracker_param)
    except ValueError as err:
        parser.error(f"argument {err}")
    overrides = parse_set_argument(parser, args.overrides)
    if overrides and (args.compare_capabilities or args.processes > 0):
        parser.error("argument --set: not with --compare_capabilities or --processes (they run parameter files as "
                     "they are)")
    torch.set_num_threads(args.torch_threads)
    if args.compare_capabilities:
        rows = compare_capabilities(args.tracker_name, args.tracker_param, args.frames, args.torch_threads)
        print(f"{args.tracker_name}/{args.tracker_param} against opencv/csrt, {args.frames} frames, "
              f"{args.torch_threads} torch threads, run back to back per kernel set")
        print(f"  machine: {machine_description(torch.device('cpu'))}")
        for row in rows:
            print(f"  {row['kernels']:<7} (torch: {row['capability']:<8}) {row['fps']:7.1f} fps, CSRT "
                  f"{row['baseline_fps']:7.1f} fps, ratio {row['ratio']:.2f}x CSRT (means: {row['mean_fps']:.1f} "
                  f"against {row['mean_baseline_fps']:.1f} fps, {row['mean_ratio']:.2f}x)")
        print("  fps = 1 / median frame time; the means also count the classifier's periodic updates")
        if args.output is not None:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps({"machine": machine_description(torch.device("cpu")), "rows": rows},
                                              indent=2) + "\n")
        return 0
    if args.processes > 0:
        pool = pool_throughput(args.tracker_name, args.tracker_param, args.processes, args.frames, args.device,
                               cuda_graph=not args.no_cuda_graph)
        print(f"{args.tracker_name}/{args.tracker_param}: {args.processes} worker processes x {args.frames} frames, "
              f"1 torch thread each{', CUDA graphs off' if args.no_cuda_graph else ''}")
        print(f"  machine: {machine_description(resolve_device(args.device))}")
        print(f"  aggregate {pool['aggregate_fps']:.0f} frames/s ({pool['per_worker_fps']:.1f} per worker)")
        if args.output is not None:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps({"tracker": args.tracker_name, "param": args.tracker_param, **pool}, indent=2) + "\n")
        return 0
    try:
        result = benchmark(args.tracker_name, args.tracker_param, args.frames, args.device, args.image_sample_size,
                           reference=args.reference, cuda_graph=not args.no_cuda_graph,
                           compile_refinement=args.compile_refinement, lost_frames=args.lost_frames,
                           overrides=overrides)
    except OverrideError as err:
        parser.error(f"argument --set: {err}")
    except ValueError as err:
        parser.error(str(err))
    total = result["total"]
    path = "reference estimator path" if args.reference else "fast estimator path"
    if args.lost_frames > 0:
        path += f", every frame searched as after {args.lost_frames} lost frames"
    device = resolve_device(args.device)
    if device.type == "cuda":
        path += ", CUDA graphs off" if args.no_cuda_graph else ", CUDA graphs"
        path += ", compiled head" if args.compile_refinement else ""
    machine = machine_description(device)
    if overrides:
        path += ", " + describe_overrides(overrides)
    print(f"{args.tracker_name}/{args.tracker_param} ({path}): median over {args.frames} frames, "
          f"{args.torch_threads} threads, target located in {int(result['frames_located'])} frames")
    print(f"  machine: {machine}")
    if device.type == "cuda":
        print("  (on CUDA the parts are host times: GPU work is counted where the host first waits for it)")
    for key in ("backbone", "classifier", "refinement", "rest"):
        print(f"  {key:<11} {1000 * result[key]:7.2f} ms  {100 * result[key] / total:5.1f} %")
    print(f"  {'total':<11} {1000 * total:7.2f} ms  -> {1.0 / total:.1f} fps "
          f"(non-backbone share {100 * (1 - result['backbone'] / total):.1f} %)")
    print(f"  mean over all frames (the classifier's periodic updates included): {1000 * result['mean_total']:.2f} ms"
          f" -> {1.0 / result['mean_total']:.1f} fps")
    if result["frames_located"] > 0:
        print(f"  over the located frames only: refinement {1000 * result['refinement_located']:.2f} ms, "
              f"total {1000 * result['total_located']:.2f} ms -> {1.0 / result['total_located']:.1f} fps")
    if args.output is not None:
        record = {"tracker": args.tracker_name, "param": args.tracker_param,
                  "overrides": {k: repr(v) for k, v in overrides.items()}, "frames": args.frames,
                  "threads": args.torch_threads,
                  "device": str(device), "cuda_graph": device.type == "cuda" and not args.no_cuda_graph,
                  "reference_path": args.reference, "machine": machine, "seconds": result,
                  "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "fps": 1.0 / total, "mean_fps": 1.0 / result["mean_total"], "non_backbone_share": 1.0 - result["backbone"] / total}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(record, indent=2) + "\n")
        print(f"  written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
