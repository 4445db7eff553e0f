"""The step-length search of the refining box estimators: the same closed-loop search for every head, on TRAIN-SIDE
sequences only (``python -m pytracking.tune_refinement`` is its CLI): the demo benchmark's train split and/or the
wide train sequences (:mod:`ltr.synthetic.wide_sequences`, drawn by the wide pairs' renderer).

For each ATOM parameter file (a refining head: ``default`` ML-IS, ``nce`` NCE+, ``iou`` IoU-Net, ...), each weights
source (the shipped ``pytracking/networks`` files, or a folder of freshly trained files of the same names) and each
step multiplier ``s`` of the grid, the tracker runs whole train sequences with

- the parameter file's refinement, its step vector multiplied by ``s`` (all four components alike), and
- the same number of starting boxes (:data:`FAIR_NUM_BOXES` = 10) and steps T (:data:`FAIR_NUM_ITER`, ``default``'s
  T = 3) for every head;

the score of ``(head, s)`` is the mean over sequences of the per-sequence AUC (mean over seeds first;
:func:`pytracking.analysis.compare.sequence_auc`). **The grid extends below the best value**: while a head's best
multiplier is the lowest one tried, the half of it is added (and the double while it is the highest), at most
``max_extensions`` times per direction, so the optimum is bracketed. The chosen step vector of a head is its
base vector times its best multiplier.

Only train-side sets are accepted (:data:`TRAIN_SIDE`, :func:`check_train_side`): the test split and
the validation benchmark are never tuned on. With several sets, the sequences of all of them count alike. Results are the usual per-sequence files, ``<root>/<source>/atom/<param>_x<s>_<seed:03d>/
<sequence>.txt``; finished sequences are skipped, so an interrupted search resumes.
"""
from __future__ import annotations

import argparse
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence as TypingSequence

import numpy as np

from ltr.admin.cli import add_alias
from ltr.synthetic.wide_sequences import PROFILES
from pytracking.analysis.compare import sequence_auc
from pytracking.evaluation.results_io import read_boxes, results_paths
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.atom.settings import RefinementSettings

__all__ = ["FAIR_NUM_BOXES", "FAIR_NUM_ITER", "HeadSearch", "StepVariant", "WeightsSource", "add_train_side_arguments",
           "base_step_length", "check_train_side", "next_scales", "run_search", "search_grid", "search_sequences",
           "select_sequences", "train_side_sequences",
           "format_table"]

FAIR_NUM_BOXES = 10
#: T of every head in the search: ``default``'s (the settings' default, 3 since 2026-12-06; 10 before)
FAIR_NUM_ITER = RefinementSettings().num_iter
# dataset -> its train-side split: the demo's train split and every set the wide renderer draws (wide_train,
# steady_train and their check sets, which confirm a decision made on the others; docs/tuning_on_train.md)
TRAIN_SIDE = {"demo": "train", **{profile.settings_key: "train" for profile in PROFILES.values()}}
SHIPPED = "shipped"


def check_train_side(dataset_name: str, split: str) -> None:
    """``ValueError`` unless ``(dataset_name, split)`` is a train-side set: the demo benchmark's train split, the
    wide or steady train sequences or their check sets."""
    if dataset_name == "validation":
        raise ValueError("--dataset_name: the validation benchmark is report-only; nothing is tuned on it")
    if dataset_name not in TRAIN_SIDE:
        raise ValueError(f"--dataset_name: the search runs on train-side sets only ({', '.join(TRAIN_SIDE)}), "
                         f"got {dataset_name!r}")
    if split != TRAIN_SIDE[dataset_name]:
        raise ValueError(f"--split: the search runs on the train split only (the {split!r} split is never tuned on)")


def select_sequences(sequences: TypingSequence[Sequence], selection: str, limit: int | None = None) -> list[Sequence]:
    """``'all'``, ``'every_other'`` (indices 0, 2, 4, ... of the name-sorted list: the sequences the searches use) or
    ``'other_half'`` (indices 1, 3, 5, ...: the rest, for checking a decision on sequences it was not made on), then
    the first ``limit``."""
    ordered = sorted(sequences, key=lambda s: s.name)
    if selection == "every_other":
        ordered = ordered[::2]
    elif selection == "other_half":
        ordered = ordered[1::2]
    elif selection != "all":
        raise ValueError(f"--sequences: 'all', 'every_other' or 'other_half', got {selection!r}")
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--max_sequences must be >= 1, got {limit}")
        ordered = ordered[:limit]
    return ordered


def add_train_side_arguments(parser: argparse.ArgumentParser, default_sets: TypingSequence[str],
                              default_results: str) -> None:
    """The arguments the train-side CLIs (``tune_refinement``, ``tune_parameters``) share: which train-side
    sequences (:func:`search_sequences`), seeds, workers, device and the results root (default
    ``<results>/<default_results>``)."""
    parser.add_argument("--sequences", default="every_other", choices=["every_other", "other_half", "all"],
                        help="train sequences: every other one of the name-sorted list, the other half (a check on "
                             "sequences the searches never used), or all (default every_other)")
    parser.add_argument("--max_sequences", type=int, default=None, help="only the first N selected sequences per set")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="tracker seeds (run ids), averaged (default 0)")
    parser.add_argument("--threads", dest="workers", type=int, default=0,
                        help="worker processes, one torch thread each (default 0)")
    add_alias(parser, "--workers", "--threads")   # the spelling before the CLI convention reached these commands
    parser.add_argument("--device", default="cpu", help="device of the trackers (default cpu)")
    parser.add_argument("--dataset_name", nargs="+", default=list(default_sets),
                        help=f"train-side sets: {', '.join(TRAIN_SIDE)} (default {' '.join(default_sets)}); "
                             "nothing else is accepted")
    parser.add_argument("--split", default="train", help="must be train: the test split is never tuned on")
    parser.add_argument("--dataset_path", default=None, help="demo benchmark root (default: local settings)")
    parser.add_argument("--results_path", default=None,
                        help=f"results root of the runs (default <results>/{default_results})")


def train_side_sequences(args: argparse.Namespace) -> list[Sequence]:
    """The sequences :func:`add_train_side_arguments`' arguments select; ``ValueError`` for negative ``--workers``
    or a set that is not train-side."""
    if args.workers < 0:
        raise ValueError(f"--threads must be >= 0, got {args.workers}")
    return search_sequences(args.dataset_name, args.split, args.dataset_path, args.sequences, args.max_sequences)


def search_sequences(dataset_names: TypingSequence[str] = ("demo",), split: str = "train",
                     dataset_path: str | Path | None = None, selection: str = "every_other",
                     limit: int | None = None) -> list[Sequence]:
    """The train-side sequences of the search, ``selection`` and ``limit`` applied per set (the demo benchmark and
    the wide train sequences are built on first use; ``dataset_path`` is the demo benchmark's root)."""
    from pytracking.evaluation.datasets import get_dataset
    from pytracking.evaluation.demo import prepare_demo_benchmark

    if isinstance(dataset_names, str):
        dataset_names = [dataset_names]
    if not dataset_names or len(set(dataset_names)) != len(dataset_names):
        raise ValueError(f"--dataset_name: give each train-side set once, got {list(dataset_names)}")
    sequences: list[Sequence] = []
    for name in dataset_names:
        check_train_side(name, split)
    for name in dataset_names:
        if name == "demo":
            root = prepare_demo_benchmark(dataset_path)
        else:
            from ltr.synthetic.wide_sequences import ensure_wide_sequences, profile_of_dataset
            root = ensure_wide_sequences(profile=profile_of_dataset(name))
        sequences += select_sequences(get_dataset(name, root, split=split), selection, limit)
    names = [s.name for s in sequences]
    if len(set(names)) != len(names):
        raise ValueError("--dataset_name: the sets share sequence names; results would overwrite each other")
    return sequences


@dataclass(frozen=True)
class WeightsSource:
    """Where the heads' weights come from: the shipped files (``net_dir`` None) or a folder of files with the
    shipped names (e.g. ``ltr.train_estimators --out``). ``tag`` names it in tables and results folders."""

    net_dir: Path | None = None

    @property
    def tag(self) -> str:
        if self.net_dir is None:
            return SHIPPED
        digest = hashlib.sha256(str(self.net_dir.resolve()).encode()).hexdigest()[:8]
        return f"{self.net_dir.name}-{digest}"

    @classmethod
    def parse(cls, text: str) -> "WeightsSource":
        """``'shipped'`` or a folder."""
        if text == SHIPPED:
            return cls(None)
        folder = Path(text).expanduser()
        if not folder.is_dir():
            raise ValueError(f"--net_dir: {folder} is not a folder")
        return cls(folder)


def _fmt_scale(scale: float) -> str:
    return f"{scale:g}"


class StepVariant(Tracker):
    """``atom <param>`` with its step vector times ``scale``, ``FAIR_NUM_BOXES`` boxes, ``FAIR_NUM_ITER`` steps, the
    weights file of ``source`` and seed ``params.seed + run_id``. The parameters are the file's, then these fields
    set (:meth:`get_parameters`); nothing else changes. The results folder names the multiplier and the absolute
    step vector and T (``<param>_x<scale>_<c>_<c>_<s>_<s>_T<T>_<seed>``): after the file's own steps or T change, a
    resumed search runs anew instead of reading results made with other steps under the same multiplier."""

    def __init__(self, parameter_name: str, scale: float, seed: int, source: WeightsSource, results_root: str | Path):
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"--scales: step multipliers must be > 0, got {scale}")
        self.scale = float(scale)
        self.source = source
        base = base_step_length(Tracker("atom", parameter_name).get_parameters(device="cpu"))
        self.step_length = tuple(self.scale * s for s in base)
        super().__init__("atom", parameter_name, run_id=seed, results_root=Path(results_root) / source.tag)

    @property
    def run_label(self) -> str:
        steps = "_".join(f"{s:.3g}" for s in self.step_length)
        return f"{self.name}/{self.parameter_name}_x{_fmt_scale(self.scale)}_{steps}_T{FAIR_NUM_ITER}_{self.run_id:03d}"

    def get_parameters(self, debug: int | None = None, device: str | None = None) -> Any:
        params = super().get_parameters(debug=debug, device=device)
        params.box_refinement_step_length = self.step_length
        params.box_refinement_iter = FAIR_NUM_ITER
        params.box_refinement_num_boxes = FAIR_NUM_BOXES
        if self.source.net_dir is not None:
            params.net_path = str(self.source.net_dir / Path(params.net_path).name)
        return params


def base_step_length(params: Any) -> tuple[float, ...]:
    """The step vector a parameter file gives (its own or the settings' default); ``ValueError`` for a head that
    does not refine by gradient steps (no refinement, or a regression head)."""
    from pytracking.tracker.atom.settings import ATOMSettings

    settings = ATOMSettings.from_params(params)
    name = getattr(params, "param_name", "?")
    if not settings.use_box_refinement:
        raise ValueError(f"--params: atom {name} does not refine its box (use_box_refinement False)")
    if settings.network.box_estimator_type == "regression":
        raise ValueError(f"--params: atom {name} is a regression head (one step, no step length to search)")
    return tuple(float(s) for s in settings.refinement.step_length)


def next_scales(scores: Mapping[float, float], max_extensions: int, extensions: tuple[int, int]) -> list[float]:
    """The multipliers to add after ``scores`` (``{multiplier: mean AUC}``): half the lowest when the best is the
    lowest, double the highest when the best is the highest, each while its direction has had fewer than
    ``max_extensions`` extensions (``extensions`` = (down, up) so far). Ties go to the smaller multiplier."""
    if not scores:
        return []
    ordered = sorted(scores)
    best = max(ordered, key=lambda s: (scores[s], -s))
    added = []
    if best == ordered[0] and extensions[0] < max_extensions:
        added.append(ordered[0] / 2)
    if best == ordered[-1] and len(ordered) > 1 and extensions[1] < max_extensions:
        added.append(ordered[-1] * 2)
    return added


@dataclass
class HeadSearch:
    """One head's search: ``scores`` per multiplier, the best, the base and chosen step vectors."""

    head: str
    base_steps: tuple[float, ...]
    scores: dict[float, float] = field(default_factory=dict)
    extensions: tuple[int, int] = (0, 0)

    @property
    def best(self) -> float:
        return max(sorted(self.scores), key=lambda s: (self.scores[s], -s))

    @property
    def chosen_steps(self) -> tuple[float, ...]:
        return tuple(self.best * s for s in self.base_steps)

    @property
    def at_edge(self) -> bool:
        """True when the best multiplier is still the lowest or highest tried (the extensions ran out)."""
        ordered = sorted(self.scores)
        return self.best in (ordered[0], ordered[-1]) and len(ordered) > 1


def search_grid(heads: Mapping[str, tuple[float, ...]], scales: TypingSequence[float],
                evaluate: Callable[[dict[str, list[float]]], dict[str, dict[float, float]]],
                max_extensions: int = 4) -> dict[str, HeadSearch]:
    """Run the grid for every head (``{head: base step vector}``), extending it per head (:func:`next_scales`).
    ``evaluate({head: [multipliers]}) -> {head: {multiplier: score}}`` is called once per round with every head's
    new multipliers, so one round fills one worker pool."""
    if not scales:
        raise ValueError("--scales: give at least one step multiplier")
    searches = {h: HeadSearch(h, tuple(b)) for h, b in heads.items()}
    pending = {h: sorted({float(s) for s in scales}) for h in heads}
    while pending:
        results = evaluate(pending)
        for head, new in pending.items():
            searches[head].scores.update({float(s): float(results[head][s]) for s in new})
        following = {}
        for head, search in searches.items():
            added = next_scales(search.scores, max_extensions, search.extensions)
            added = [s for s in added if s not in search.scores]
            if added:
                down, up = search.extensions
                lowest, highest = min(search.scores), max(search.scores)
                search.extensions = (down + any(s < lowest for s in added), up + any(s > highest for s in added))
                following[head] = added
        pending = following
    return searches


def mean_auc(trackers: TypingSequence[Tracker], sequences: TypingSequence[Sequence]) -> float:
    """Mean over sequences of the per-sequence AUC, each averaged over ``trackers`` (the seeds of one variant)."""
    per_sequence = []
    for seq in sequences:
        aucs = []
        for tracker in trackers:
            box_file, _ = results_paths(tracker.results_dir, seq.name)
            if not box_file.is_file():
                raise ValueError(f"{box_file}: result missing (the run failed for this sequence)")
            aucs.append(sequence_auc(read_boxes(box_file)[:len(seq)], seq.ground_truth_rect, seq.valid_mask()))
        per_sequence.append(float(np.mean(aucs)))
    finite = [a for a in per_sequence if math.isfinite(a)]
    return float(np.mean(finite)) if finite else math.nan


def run_search(params: TypingSequence[str], scales: TypingSequence[float], sequences: TypingSequence[Sequence],
               results_root: str | Path, sources: TypingSequence[WeightsSource] = (WeightsSource(),),
               seeds: TypingSequence[int] = (0,), workers: int = 0, device: str | None = "cpu",
               max_extensions: int = 4) -> dict[str, HeadSearch]:
    """Track and score the grid (:func:`search_grid`) for every parameter file x weights source; heads are named
    ``<param>@<source tag>``. Runs go through :func:`pytracking.evaluation.running.run_dataset` (process pool of
    ``workers``, one torch thread each; finished sequences skipped)."""
    from pytracking.evaluation.running import run_dataset

    if not sequences:
        raise ValueError("no sequences to search on")
    if not params:
        raise ValueError("--params: give at least one parameter file")
    heads: dict[str, tuple[float, ...]] = {}
    where: dict[str, tuple[str, WeightsSource]] = {}
    for source in sources:
        for param in params:
            base = base_step_length(Tracker("atom", param).get_parameters(device="cpu"))
            head = f"{param}@{source.tag}"
            heads[head], where[head] = base, (param, source)

    def variants(head: str, scale: float) -> list[StepVariant]:
        param, source = where[head]
        return [StepVariant(param, scale, seed, source, results_root) for seed in seeds]

    def evaluate(pending: dict[str, list[float]]) -> dict[str, dict[float, float]]:
        trackers = [t for head, new in pending.items() for s in new for t in variants(head, s)]
        report = run_dataset(sequences, trackers, threads=workers, device=device)
        if report.failed:
            raise ValueError(f"{len(report.failed)} runs failed, e.g. " + next(iter(report.failed.items()))[1])
        return {head: {s: mean_auc(variants(head, s), sequences) for s in new} for head, new in pending.items()}

    return search_grid(heads, scales, evaluate, max_extensions)


def format_table(searches: Mapping[str, HeadSearch], num_sequences: int, seeds: TypingSequence[int],
                 sets: str = "demo") -> str:
    """Markdown: per head the mean AUC at every multiplier tried (best in bold), the base and chosen step vectors.
    ``sets`` names the train-side sets searched (e.g. ``demo + wide_train``)."""
    scales = sorted({s for search in searches.values() for s in search.scores})
    head_row = "| head | " + " | ".join(f"x{_fmt_scale(s)}" for s in scales) + " | best | base steps | chosen steps |"
    lines = [f"Mean AUC over {num_sequences} train-side sequences ({sets}; seeds {', '.join(map(str, seeds))}), "
             f"{FAIR_NUM_BOXES} boxes, T = {FAIR_NUM_ITER} for every head.", "", head_row,
             "|" + "---|" * (len(scales) + 4)]
    for head, search in searches.items():
        cells = []
        for s in scales:
            if s not in search.scores:
                cells.append("")
            elif s == search.best:
                cells.append(f"**{search.scores[s]:.2f}**")
            else:
                cells.append(f"{search.scores[s]:.2f}")
        edge = " (grid edge)" if search.at_edge else ""
        steps = ", ".join(f"{v:.3g}" for v in search.base_steps)
        chosen = ", ".join(f"{v:.3g}" for v in search.chosen_steps)
        lines.append(f"| {head} | " + " | ".join(cells) + f" | x{_fmt_scale(search.best)}{edge} | ({steps}) | ({chosen}) |")
    return "\n".join(lines) + "\n"
