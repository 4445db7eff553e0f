"""Many sequences in one process, in lockstep: the backbone and the box refinement run once per step for all.

On a GPU a frame of ``atom`` is about 1,200 small kernels whose cost is their launch and latency, not their
arithmetic; processes sharing the GPU only time-slice it. :func:`run_batched` therefore tracks ``batch``
sequences at once in one process. Each step, for every active slot, it calls the phases of
:class:`~pytracking.tracker.atom.atom.ATOM` (``crop_frame``, ``localise_frame``, ``finish_frame``: per sequence)
and runs the two heavy phases once for all slots:

* the backbone on the stacked search patches (one ``extract`` call, one CUDA graph for the fixed batch);
* the refinement (:class:`BatchedRefiner`): ``torch.func.vmap`` of the single-target
  :func:`~pytracking.tracker.atom.graphed_refinement.frame_refinement` over the targets' features, start boxes,
  jitter draws and modulation vectors (:func:`~pytracking.tracker.atom.graphed_refinement.batched_frame_refinement`),
  replayed as one CUDA graph on CUDA.

The classifier (scores, peak, Gauss-Newton/CG updates) stays per sequence. Every tracker keeps its own seeded
generator and draws its jitter itself, in the same order as alone, so its random numbers do not depend on the batch.

With ``pad`` (default on CUDA: graphs need a fixed batch) the batch is always ``batch`` wide: a slot without a
sequence gets a copy of the first active slot's inputs and its outputs are dropped. When a sequence ends, the next
pending one starts in its slot (its ``initialize`` runs alone). Results are written per sequence in the usual
layout; a frame's time is the step's wall time divided by the number of active slots (amortised).

The batched boxes equal one-sequence-at-a-time boxes up to float rounding, which tracking can amplify over frames:
the refinement uses the whole-map head (``full_map``, as on CUDA) where the CPU's sequential path uses the windowed
one, and a batched convolution may round differently from a batch-1 one. ``tests/test_batched_running.py`` states
the measured difference.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence as TypingSequence

import numpy as np
import torch
from tqdm import tqdm

from ltr.data.image_loader import imread_rgb
from ltr.models.bbreg.atom_iou_net import AtomIoUNetInference
from pytracking.evaluation.results_io import read_boxes, results_paths
from pytracking.evaluation.running import RunReport, result_is_complete, save_sequence_result
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.atom.atom import ATOM, FrameWork, RefinementRequest
from pytracking.tracker.atom.box_estimator import NetworkBoxEstimator
from pytracking.tracker.atom.box_refinement import RefinedBox, check_box, draw_jitter, refinement_constants
from pytracking.tracker.atom.graphed_refinement import REFINED_FIELDS, GraphedRefinement, batched_frame_refinement
from pytracking.tracker.base.basetracker import as_rgb

__all__ = ["BatchedRefiner", "BatchedRun", "BoxAgreement", "PHASES", "compare_results", "padded_indices", "run_batched",
           "stack_backbone_patches", "supports_batched_refinement"]


def padded_indices(active: int, width: int | None) -> list[int]:
    """Which active slot fills each of ``width`` batch rows: ``0 .. active - 1``, then copies of slot 0
    (``width`` None: no padding). ``ValueError`` when more slots are active than the batch holds."""
    if active < 1:
        raise ValueError(f"need at least one active slot, got {active}")
    if width is None:
        return list(range(active))
    if active > width:
        raise ValueError(f"{active} active slots do not fit a batch of {width}")
    return list(range(active)) + [0] * (width - active)


def stack_backbone_patches(frames: TypingSequence[FrameWork], width: int | None) -> tuple[np.ndarray, list[slice]]:
    """The frames' patches stacked for one backbone pass (padded to ``width`` frames with copies of the first),
    and each frame's rows of the result."""
    rows = padded_indices(len(frames), width)
    patches = np.concatenate([frames[i].patches for i in rows])
    spans, start = [], 0
    for frame in frames:
        spans.append(slice(start, start + len(frame.patches)))
        start += len(frame.patches)
    return patches, spans


def backbone_features(frames: TypingSequence[FrameWork], width: int | None, extractor) -> list[dict]:
    """Each frame's backbone maps: the frames with the normal patch in one (padded) pass, each enlarged search
    patch (a lost target, ``ATOM.crop_frame``) in its own eager pass. ``extractor.last_time``: all passes."""
    normal = [i for i, frame in enumerate(frames) if not frame.enlarged]
    out: list[dict] = [{} for _ in frames]
    seconds = 0.0
    if normal:
        patches, spans = stack_backbone_patches([frames[i] for i in normal], width)
        features = extractor.extract(patches)
        seconds += extractor.last_time
        for i, span in zip(normal, spans):
            out[i] = {name: f[span] for name, f in features.items()}
    for i, frame in enumerate(frames):
        if frame.enlarged:
            out[i] = extractor.extract(frame.patches, graph=False)
            seconds += extractor.last_time
    extractor.last_time = seconds
    return out


def supports_batched_refinement(tracker: ATOM) -> bool:
    """True when the tracker's estimator has the fused inference head that :class:`BatchedRefiner` maps."""
    estimator = tracker.estimator
    return isinstance(estimator, NetworkBoxEstimator) and estimator.head is not None


class BatchedRefiner:
    """Phase 4 (``ATOM.refine_frame``) for many trackers sharing one network, as one batched call.

    ``width``: pad every call to this many targets (None: no padding); ``cuda_graph``: replay the batched call as a
    CUDA graph (needs ``width``). Trackers without the fused head refine one by one (their own ``refine_frame``)."""

    def __init__(self, width: int | None = None, cuda_graph: bool = False) -> None:
        if cuda_graph and width is None:
            raise ValueError("a CUDA graph needs a fixed batch: give width")
        self.width, self.cuda_graph = width, bool(cuda_graph)
        self.head: AtomIoUNetInference | None = None
        self.net = None
        self.graphed: GraphedRefinement | None = None
        self.constants: tuple[torch.Tensor, torch.Tensor] | None = None
        self.calls = 0

    def _prepare(self, tracker: ATOM) -> None:
        estimator = tracker.estimator
        if self.head is None:
            self.net = estimator.net
            self.head = AtomIoUNetInference(estimator.net, estimator.modulation, full_map=True)
            self.constants = refinement_constants(tracker.refinement, estimator.modulation[0].device)
            if self.cuda_graph:
                self.graphed = GraphedRefinement(self.head, tracker.refinement, self.constants, batched=True)
            self.settings = tracker.refinement
        elif estimator.net is not self.net:
            raise ValueError("batched refinement needs one network shared by all trackers (params.net)")
        elif tracker.refinement != self.settings:
            raise ValueError("batched refinement needs the same refinement settings for all trackers")

    def __call__(self, trackers: TypingSequence[ATOM], requests: TypingSequence[RefinementRequest]) -> list[RefinedBox]:
        """Each tracker's refined box for its request (the jitter drawn from each tracker's generator, in order)."""
        batched = [i for i, t in enumerate(trackers) if supports_batched_refinement(t)]
        results: list[RefinedBox | None] = [None] * len(trackers)
        for i, tracker in enumerate(trackers):
            if i not in batched:
                results[i] = tracker.refine_frame(requests[i])
        if not batched:
            return results  # type: ignore[return-value]
        for i in batched:
            self._prepare(trackers[i])
        device = self.head.pred_bias.device
        layers = trackers[batched[0]].estimator.layers
        rows = [batched[j] for j in padded_indices(len(batched), self.width)]
        features = [torch.stack([requests[i].features[name] for i in rows]) for name in layers]   # [S, 1, C, H, W]
        modulations = [torch.stack([trackers[i].estimator.modulation[level].reshape(1, -1, 1, 1) for i in rows])
                       for level in range(2)]                                                    # [S, 1, C, 1, 1]
        boxes = {i: check_box(torch.as_tensor(requests[i].start_patch, dtype=torch.float32)) for i in batched}
        draws = {i: draw_jitter(self.settings.num_boxes, trackers[i].generator) for i in batched}
        box = torch.stack([boxes[i] for i in rows])
        u = torch.stack([draws[i] for i in rows])
        self.calls += 1
        if self.graphed is not None:
            out = self.graphed(features, box, u, modulations)
        else:
            with torch.inference_mode():
                out = batched_frame_refinement(self.head, features, box.to(device), u.to(device), modulations,
                                               self.settings, self.constants)
        # to the host in one go (one wait for the GPU per step, not one per target in the gate's read); the padding
        # rows (after len(batched)) are dropped here
        host = {name: getattr(out, name)[:len(batched)].cpu() for name in REFINED_FIELDS}
        for row, i in enumerate(batched):
            results[i] = RefinedBox(**{name: host[name][row].clone() for name in REFINED_FIELDS})
        return results  # type: ignore[return-value]


#: the host-time phases of one step, in order (``BatchedRun.phase_seconds``)
PHASES = ("read + crop", "backbone", "classifier", "refinement", "gate + classifier update")


@dataclass
class _Slot:
    seq: Sequence
    tracker: ATOM
    boxes: np.ndarray
    times: np.ndarray
    flags: list[str]
    next_frame: int = 1


@dataclass
class BatchedRun:
    """What :func:`run_batched` did: the run report, frames tracked, tracking seconds and steps."""

    report: RunReport
    frames: int = 0
    seconds: float = 0.0
    steps: int = 0
    active_per_step: list[int] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def phase_shares(self) -> str:
        """``phase share%, ...`` of the steps' host time."""
        total = sum(self.phase_seconds.values()) or 1.0
        return ", ".join(f"{name} {100 * seconds / total:.0f}%" for name, seconds in self.phase_seconds.items())

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _start(spec: Tracker, seq: Sequence, params_net: dict, debug: int, device: str | None) -> _Slot:
    params = spec.get_parameters(debug=debug, device=device)
    if "net" in params_net and params.get("net", None) is None:
        params.net = params_net["net"]   # one network for all slots: the batched passes share its weights
    tracker = spec.create_tracker(params)
    if not isinstance(tracker, ATOM):
        raise ValueError(f"--batch_sequences needs the atom tracker (its phases), got {type(tracker).__name__}")
    if "net" not in params_net and isinstance(getattr(tracker, "net", None), torch.nn.Module):
        params_net["net"] = tracker.net
    n = len(seq.frames)
    slot = _Slot(seq, tracker, np.full((n, 4), np.nan), np.zeros(n), [])
    out = tracker.initialize(imread_rgb(seq.frames[0]), seq.init_info())
    slot.boxes[0] = seq.ground_truth_rect[0]
    slot.times[0] = out.get("time", 0.0)
    slot.flags.append(out.get("flag", "normal"))
    return slot


def _step(slots: list[_Slot], refiner: BatchedRefiner, width: int | None, extractor,
          phase_seconds: dict[str, float]) -> None:
    """One frame of every slot: per-slot phases around one backbone pass and one refinement call; adds the host
    seconds of each phase to ``phase_seconds`` (on CUDA the GPU work is counted where the host first waits for it)."""
    marks = [time.perf_counter()]
    frames = []
    for slot in slots:
        image = as_rgb(imread_rgb(slot.seq.frames[slot.next_frame]))
        slot.tracker.frame_num += 1
        frames.append(slot.tracker.crop_frame(image))
    marks.append(time.perf_counter())
    per_frame_features = backbone_features(frames, width, extractor)
    backbone_time = extractor.last_time / len(slots)
    marks.append(time.perf_counter())
    requests = [slot.tracker.localise_frame(frame, features, backbone_time)
                for slot, frame, features in zip(slots, frames, per_frame_features)]
    marks.append(time.perf_counter())
    asking = [i for i, request in enumerate(requests) if request is not None]
    refined: list[RefinedBox | None] = [None] * len(slots)
    if asking:
        for i, box in zip(asking, refiner([slots[i].tracker for i in asking], [requests[i] for i in asking])):
            refined[i] = box
    marks.append(time.perf_counter())
    outputs = [slot.tracker.finish_frame(frame, request, box)
               for slot, frame, request, box in zip(slots, frames, requests, refined)]
    marks.append(time.perf_counter())
    for name, begin, end in zip(PHASES, marks[:-1], marks[1:]):
        phase_seconds[name] = phase_seconds.get(name, 0.0) + end - begin
    per_frame = (marks[-1] - marks[0]) / len(slots)
    for slot, out in zip(slots, outputs):
        slot.boxes[slot.next_frame] = np.asarray(out["target_bbox"], dtype=np.float64).reshape(4)
        slot.times[slot.next_frame] = per_frame
        slot.flags.append(out.get("flag", "normal"))
        slot.next_frame += 1


def run_batched(sequences: TypingSequence[Sequence], trackers: Tracker | TypingSequence[Tracker], batch: int,
                debug: int = 0, skip_existing: bool = True, device: str | None = None,
                pad: bool | None = None) -> BatchedRun:
    """Track every (tracker, sequence) pair, ``batch`` pairs at a time in lockstep (module docstring); ``trackers``:
    ``atom`` parameter files, e.g. several run ids of one (each pair its own seeded tracker, all sharing one network);
    results in each tracker's ``results_dir``. ``pad``: None -> on CUDA only. Prints the aggregate frames/s."""
    if batch < 1:
        raise ValueError(f"batch_sequences must be >= 1, got {batch}")
    trackers = [trackers] if isinstance(trackers, Tracker) else list(trackers)
    report = RunReport()
    pending: deque[tuple[Tracker, Sequence]] = deque()
    for spec in trackers:
        for seq in sequences:
            if skip_existing and result_is_complete(spec.results_dir, seq):
                report.skipped.append(f"{spec.run_label}:{seq.name}")
            else:
                pending.append((spec, seq))
    run = BatchedRun(report)
    slots: list[_Slot | None] = [None] * batch
    shared: dict = {}
    refiner: BatchedRefiner | None = None
    width: int | None = None
    extractor = None
    bar = tqdm(total=len(pending), desc=f"tracking, {batch} at a time", unit="seq")
    spec_of: dict[int, Tracker] = {}
    started = time.perf_counter()

    def finish(index: int) -> None:
        slot = slots[index]
        spec = spec_of.pop(index)
        key = f"{spec.run_label}:{slot.seq.name}"
        save_sequence_result(spec.results_dir, slot.seq.name,
                             {"target_bbox": slot.boxes, "time": slot.times, "flags": slot.flags})
        report.finished.append(key)
        run.frames += len(slot.seq.frames)
        slots[index] = None
        bar.update(1)
        bar.set_postfix(seq=slot.seq.name)

    try:
        while pending or any(s is not None for s in slots):
            for index in range(batch):
                while slots[index] is None and pending:
                    spec, seq = pending.popleft()
                    try:
                        slots[index] = _start(spec, seq, shared, debug, device)
                        spec_of[index] = spec
                    except Exception as err:  # noqa: BLE001 - one failing sequence must not stop the others
                        report.failed[f"{spec.run_label}:{seq.name}"] = f"{type(err).__name__}: {err}"
                        tqdm.write(f"[batched] FAILED {spec.run_label}:{seq.name}: {err}")
                        bar.update(1)
                        continue
                    if refiner is None:
                        on_cuda = slots[index].tracker.device.type == "cuda"
                        width = batch if (on_cuda if pad is None else pad) else None
                        refiner = BatchedRefiner(width, cuda_graph=on_cuda and slots[index].tracker.cuda_graph)
                        # one backbone for the run (the trackers share the network): one CUDA graph for the batch
                        extractor = slots[index].tracker.extractor
                    if slots[index].next_frame >= len(seq.frames):
                        finish(index)
            active = [index for index in range(batch) if slots[index] is not None]
            if not active:
                break
            _step([slots[i] for i in active], refiner, width, extractor, run.phase_seconds)
            run.steps += 1
            run.active_per_step.append(len(active))
            for index in active:
                if slots[index].next_frame >= len(slots[index].seq.frames):
                    finish(index)
    finally:
        bar.close()
        for spec in trackers:
            spec.record_overrides()
    run.seconds = time.perf_counter() - started
    if run.frames:
        print(f"[batched] tracked {run.frames} frames of {len(report.finished)} (tracker, sequence) pairs in "
              f"{run.seconds:.1f} s, "
              f"{batch} at a time: {run.frames_per_second:.1f} frames/s aggregate (initialisations included)")
        print(f"[batched] host time of the steps: {run.phase_shares()}")
    if report.failed:
        print(f"[batched] {len(report.failed)} failed: " + ", ".join(report.failed))
    return run


@dataclass
class BoxAgreement:
    """Two runs' boxes compared sequence by sequence: the largest absolute difference (pixels, over all frames and
    coordinates), how many result files are byte-identical, and per sequence the largest difference."""

    max_abs_px: float
    identical_files: int
    sequences: int
    per_sequence: dict[str, float]

    def describe(self) -> str:
        worst = max(self.per_sequence, key=self.per_sequence.get) if self.per_sequence else "-"
        return (f"{self.identical_files} of {self.sequences} result files byte-identical; largest box difference "
                f"{self.max_abs_px:.3g} px (worst sequence {worst})")


def compare_results(dir_a: str | Path, dir_b: str | Path, names: TypingSequence[str]) -> BoxAgreement:
    """Compare ``<dir>/<name>.txt`` of two result folders (``FileNotFoundError`` names a missing file)."""
    per_sequence, identical = {}, 0
    for name in names:
        file_a, _ = results_paths(dir_a, name)
        file_b, _ = results_paths(dir_b, name)
        for path in (file_a, file_b):
            if not path.is_file():
                raise FileNotFoundError(f"no result file {path}")
        identical += int(file_a.read_bytes() == file_b.read_bytes())
        boxes_a, boxes_b = read_boxes(file_a), read_boxes(file_b)
        if boxes_a.shape != boxes_b.shape:
            per_sequence[name] = math.inf
            continue
        per_sequence[name] = float(np.nanmax(np.abs(boxes_a - boxes_b))) if boxes_a.size else 0.0
    return BoxAgreement(max(per_sequence.values(), default=0.0), identical, len(names), per_sequence)
