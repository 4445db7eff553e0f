"""Running trackers over datasets: resume, error isolation, atomic results, sharding, workers.

``run_dataset(sequences, trackers, threads=0, debug=0, skip_existing=True)``:

* a (tracker, sequence) pair whose result file *and* time file exist with one row per frame is
  skipped (resume); a result with the wrong number of rows is redone;
* a sequence that raises is reported (tracker, sequence and error) and the others go on;
* results are written atomically (temporary file + rename): time file first, then the box file;
* ``threads > 1`` runs pairs in a pool of spawned worker processes, each with
  ``torch.set_num_threads(torch_threads or 1)``; ``threads <= 1`` runs them in this process, with
  ``torch_threads`` torch threads if given (restored afterwards), else torch's own count;
* a tqdm bar shows the sequence name and the tracking speed.

Sharding (``shard_sequences``): shard ``i/n`` takes every n-th sequence of the name-sorted list,
starting at ``i`` (0-based), so ``n`` machines with ``i = 0..n-1`` split a dataset exactly.
"""
from __future__ import annotations

import multiprocessing
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence as TypingSequence

import numpy as np
import torch
from tqdm import tqdm

from pytracking.evaluation.results_io import read_boxes, read_times, results_paths, write_boxes, write_times
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.tracker import FrameObserver, Tracker


@dataclass
class RunReport:
    """What happened: lists of ``tracker_label:sequence`` for finished and skipped pairs; failures with errors."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``'i/n'`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` stays ``None``."""
    if text is None:
        return None
    if isinstance(text, tuple):
        i, n = text
    else:
        parts = str(text).split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"--shard: expected 'i/n' with integers (e.g. 0/4), got {text!r}")
        i, n = int(parts[0]), int(parts[1])
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard: need n >= 1 and 0 <= i < n, got {i}/{n}")
    return i, n


def shard_sequences(sequences: TypingSequence[Sequence], shard: str | tuple[int, int] | None) -> list[Sequence]:
    """Shard ``i/n``: every n-th sequence of the list sorted by name, starting at index ``i``."""
    parsed = parse_shard(shard)
    if parsed is None:
        return list(sequences)
    i, n = parsed
    return sorted(sequences, key=lambda s: s.name)[i::n]


def result_is_complete(results_dir: str | Path, seq: Sequence) -> bool:
    """True if ``<seq>.txt`` and ``<seq>_time.txt`` exist and hold one row per frame."""
    box_file, time_file = results_paths(results_dir, seq.name)
    if not box_file.exists() or not time_file.exists():
        return False
    try:
        return read_boxes(box_file).shape[0] == len(seq) and read_times(time_file).shape[0] == len(seq)
    except ValueError:
        return False


def save_sequence_result(results_dir: str | Path, seq_name: str, output: dict) -> None:
    """Write the boxes and times of one sequence (time file first; each atomically)."""
    box_file, time_file = results_paths(results_dir, seq_name)
    write_times(time_file, output["time"])
    write_boxes(box_file, output["target_bbox"])


def _init_worker(torch_threads: int = 1) -> None:
    torch.set_num_threads(torch_threads)


def _run_job(job: tuple[Tracker, Sequence, int, str | None],
             observer: FrameObserver | None = None) -> tuple[str, str, str | None, float]:
    """Run one (tracker, sequence); returns (key, status 'done'|'failed', error text, fps)."""
    tracker, seq, debug, device = job
    key = f"{tracker.run_label}:{seq.name}"
    try:
        output = tracker.run_sequence(seq, debug=debug, device=device, observer=observer)
        save_sequence_result(tracker.results_dir, seq.name, output)
    except Exception as err:  # noqa: BLE001 - one failing sequence must not stop the others
        detail = f"{type(err).__name__}: {err}"
        if debug > 0:
            detail += "\n" + traceback.format_exc()
        return key, "failed", detail, 0.0
    total = float(np.sum(output["time"]))
    fps = len(seq) / total if total > 0 else float("inf")
    return key, "done", None, fps


def run_dataset(sequences: TypingSequence[Sequence], trackers: TypingSequence[Tracker], threads: int = 0,
                debug: int = 0, skip_existing: bool = True, device: str | None = None,
                shard: str | tuple[int, int] | None = None, observer: FrameObserver | None = None,
                torch_threads: int | None = None) -> RunReport:
    """Run every tracker on every sequence (see the module docstring); returns a :class:`RunReport`.

    ``observer`` (a live display, see ``Tracker.run_sequence``) needs ``threads <= 1``. ``torch_threads``: torch
    threads per tracking process (None: 1 per worker, torch's own count in-process).
    """
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    if torch_threads is not None and torch_threads < 1:
        raise ValueError(f"torch_threads must be >= 1, got {torch_threads}")
    if observer is not None and threads > 1:
        raise ValueError("a live display (observer) needs threads <= 1: worker processes cannot show frames")
    sequences = shard_sequences(sequences, shard)
    report = RunReport()
    jobs = []
    for tracker in trackers:
        for seq in sequences:
            if skip_existing and result_is_complete(tracker.results_dir, seq):
                report.skipped.append(f"{tracker.run_label}:{seq.name}")
            else:
                jobs.append((tracker, seq, debug, device))
    if report.skipped:
        print(f"[run] skipping {len(report.skipped)} finished (tracker, sequence) pairs")
    bar = tqdm(total=len(jobs), desc="tracking", unit="seq")
    frames_of = {f"{tracker.run_label}:{seq.name}": len(seq) for tracker, seq, _, _ in jobs}
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()

    def record(result: tuple[str, str, str | None, float]) -> None:
        key, status, error, fps = result
        bar.update(1)
        bar.set_postfix(seq=key.split(":", 1)[1], fps=f"{fps:.1f}")
        if status == "done":
            report.finished.append(key)
        else:
            report.failed[key] = error or "unknown error"
            tqdm.write(f"[run] FAILED {key}: {error}")

    try:
        if threads <= 1:
            if torch_threads is not None:
                torch.set_num_threads(torch_threads)
            for job in jobs:
                bar.set_postfix(seq=job[1].name)
                record(_run_job(job, observer))
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(processes=threads, initializer=_init_worker, initargs=(torch_threads or 1,)) as pool:
                for result in pool.imap_unordered(_run_job, jobs):
                    record(result)
    finally:
        torch.set_num_threads(previous_threads)
        bar.close()
        for tracker in trackers:
            tracker.record_overrides()
    tracked = sum(frames_of.get(key, 0) for key in report.finished)
    if tracked:
        seconds = time.perf_counter() - started
        print(f"[run] tracked {tracked} frames in {seconds:.1f} s with {max(threads, 1)} worker(s): "
              f"{tracked / seconds:.1f} frames/s aggregate (process start-up included)")
    if report.failed:
        print(f"[run] {len(report.failed)} failed: " + ", ".join(report.failed))
    return report
