"""Closed-loop comparison of parameter variants on TRAIN-SIDE sequences only (``python -m pytracking.tune_parameters``
is its CLI): how the refinement gate's numbers, and any other parameter-file value, are chosen.

A variant is a name, an ATOM parameter file and parameter overrides (``{'refinement_gate': True,
'gate_min_peak': 0.5}``): the file's parameters, then those keys set; nothing else changes. Every variant runs the
same train-side sequences (:func:`pytracking.evaluation.refinement_search.search_sequences`: the demo benchmark's
train split and/or the wide train sequences; the test split and the validation benchmark are refused) with the same
seeds, and is compared with a reference variant (by default ``no_refine``, the classifier alone) by
:func:`pytracking.analysis.compare.compare_to_reference`:

- ``AUC``: mean over sequences of the per-sequence AUC (mean over seeds first);
- ``dAUC``: its difference from the reference's, and the number of sequences more than 5 AUC below it;
- ``harm``: the frames where the variant's IoU is below the reference's, pooled over all sequences and seeds.

Overrides are checked before anything runs: a key no settings class reads is an error naming the variant, the key
and the closest valid key. Results are the usual per-sequence files, ``<root>/atom/<name>-<digest>_<seed:03d>/``,
where ``digest`` is a hash of the settings the variant runs with (the parameter file's values after the overrides),
so changed overrides, parameter files or settings defaults never reuse old results;
finished sequences are skipped, so an interrupted comparison resumes.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence as TypingSequence

import pandas as pd

from pytracking.analysis.compare import MEAN_ROW, compare_to_reference
from pytracking.evaluation.sequence import Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.utils.params import describe_overrides, parse_overrides

__all__ = ["ParameterVariant", "VariantSpec", "compare_variants", "format_variants_table", "parse_variant",
           "per_set_table", "variant_summary"]

#: a sequence counts as ruined by a variant when its AUC is this far below the reference's
RUINED_DAUC = 5.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+]*$")


@dataclass(frozen=True)
class VariantSpec:
    """``name``: label in tables and folder names; ``param``: ATOM parameter file; ``overrides``: keys set on its
    parameters."""

    name: str
    param: str = "default"
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def digest(self) -> str:
        """Hash of the settings the tracker will run with (the parameter file's values after the overrides, as
        :class:`~pytracking.tracker.atom.settings.ATOMSettings` reads them), so a changed parameter file or settings
        default never reuses results made with the old values; the overrides' hash if they are not valid settings."""
        from pytracking.tracker.atom.settings import ATOMSettings

        try:
            text = repr(ATOMSettings.from_params(self.parameters()))
        except (ValueError, TypeError):
            text = json.dumps({"param": self.param, "overrides": dict(self.overrides)}, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    @property
    def label(self) -> str:
        """``atom/<name>-<digest>``: this variant's name in the comparison table and its results folders (all
        seeds)."""
        return f"atom/{self.name}-{self.digest}"

    def parameters(self, seed: int = 0, debug: int | None = None, device: str | None = "cpu") -> Any:
        """The parameter file's parameters with the overrides set (seed ``params.seed + seed``); ``ValueError``
        for an invalid override."""
        return Tracker("atom", self.param, run_id=seed, overrides=self.overrides).get_parameters(debug=debug,
                                                                                               device=device)


def parse_variant(tokens: TypingSequence[str], default_param: str = "default") -> VariantSpec:
    """``['NAME', 'key=value', ...]`` (a ``param=FILE`` token picks the parameter file) -> :class:`VariantSpec`.
    Values are Python literals (``True``, ``0.5``, ``(1e-4, 1e-4, 5e-4, 5e-4)``); anything else stays a string."""
    if not tokens:
        raise ValueError("--variant: expected NAME [key=value ...]")
    name, *pairs = tokens
    if not _NAME.match(name):
        raise ValueError(f"--variant {name!r}: a name of letters, digits, '_', '.', '+' (it names a results folder)")
    overrides = parse_overrides(pairs, f"--variant {name}")
    param = overrides.pop("param", default_param)
    return VariantSpec(name, str(param), overrides)


class ParameterVariant(Tracker):
    """``atom <spec.param>`` with ``spec.overrides`` set and seed ``params.seed + run_id``; results in
    ``<results_root>/atom/<name>-<digest>_<seed:03d>``."""

    def __init__(self, spec: VariantSpec, seed: int, results_root: str | Path):
        self.spec = spec
        super().__init__("atom", spec.param, run_id=seed, results_root=results_root, overrides=spec.overrides,
                         config_name=f"{spec.name}-{spec.digest}")


def check_variant(spec: VariantSpec) -> None:
    """``ValueError`` naming the variant when its parameter file is unknown or an override is not a valid
    setting (unknown key, bad value)."""
    from pytracking.tracker.atom.settings import ATOMSettings

    try:
        ATOMSettings.from_params(spec.parameters())
    except (ValueError, TypeError) as err:
        raise ValueError(f"--variant {spec.name}: {err}") from err


def compare_variants(specs: TypingSequence[VariantSpec], reference: VariantSpec, sequences: TypingSequence[Sequence],
                     results_root: str | Path, seeds: TypingSequence[int] = (0,), workers: int = 0,
                     device: str | None = "cpu") -> pd.DataFrame:
    """Run every variant and the reference on ``sequences`` with ``seeds`` (process pool of ``workers``, finished
    sequences skipped) and return the per-sequence comparison table of
    :func:`pytracking.analysis.compare.compare_to_reference` (columns named by each variant's ``label``)."""
    from pytracking.evaluation.running import run_dataset

    if not sequences:
        raise ValueError("no sequences to compare on")
    names = [s.name for s in [*specs, reference]]
    if len(set(names)) != len(names):
        raise ValueError(f"--variant: names must be unique, got {names}")
    for spec in [reference, *specs]:
        check_variant(spec)
    runs = {spec.name: [ParameterVariant(spec, seed, results_root) for seed in seeds] for spec in [reference, *specs]}
    report = run_dataset(sequences, [t for ts in runs.values() for t in ts], threads=workers, device=device)
    if report.failed:
        raise ValueError(f"{len(report.failed)} runs failed, e.g. " + next(iter(report.failed.items()))[1])
    run_dirs = {ts[0].spec.label: [t.results_dir for t in ts] for ts in runs.values()}
    return compare_to_reference(results_root, [s.label for s in specs], reference.label, sequences, run_dirs)


def variant_summary(table: pd.DataFrame, specs: TypingSequence[VariantSpec], reference: VariantSpec) -> list[dict]:
    """Per variant (reference first): mean AUC, dAUC, pooled harm %, sequences more than :data:`RUINED_DAUC`
    below the reference, and the worst sequence with its dAUC."""
    rows = [{"variant": reference.name, "param": reference.param, "overrides": dict(reference.overrides),
             "auc": float(table.loc[MEAN_ROW, f"AUC {reference.label}"])}]
    per_sequence = table.drop(index=MEAN_ROW)
    for spec in specs:
        label = spec.label
        d_auc = per_sequence[f"dAUC {label}"]
        worst = d_auc.idxmin() if d_auc.notna().any() else None
        rows.append({"variant": spec.name, "param": spec.param, "overrides": dict(spec.overrides),
                     "auc": float(table.loc[MEAN_ROW, f"AUC {label}"]),
                     "dauc": float(table.loc[MEAN_ROW, f"dAUC {label}"]),
                     "harm": float(table.loc[MEAN_ROW, f"harm% {label}"]),
                     "ruined": int((d_auc < -RUINED_DAUC).sum()),
                     "worst": None if worst is None else str(worst),
                     "worst_dauc": math.nan if worst is None else float(d_auc[worst])})
    return rows


def per_set_table(table: pd.DataFrame, specs: TypingSequence[VariantSpec], reference: VariantSpec,
                  set_of: dict[str, str]) -> str:
    """Markdown: per variant (the reference first) and per set (``set_of``: sequence name -> set name, in first-seen
    order), the mean AUC over the set's sequences and the mean of their harm rates (a mean over sequences, not pooled
    over frames as in :func:`variant_summary`). Empty when all sequences are of one set."""
    sets = list(dict.fromkeys(set_of.values()))
    if len(sets) < 2:
        return ""
    per_sequence = table.drop(index=MEAN_ROW)
    lines = ["Per set: mean AUC (mean harm % of the set's sequences).", "",
             "| variant | " + " | ".join(f"{name} ({sum(v == name for v in set_of.values())})" for name in sets) + " |",
             "|---|" + "---|" * len(sets)]
    for spec in [reference, *specs]:
        cells = []
        for name in sets:
            chosen = per_sequence.loc[[seq for seq, owner in set_of.items() if owner == name]]
            auc = chosen[f"AUC {spec.label}"].mean()
            harm_column = f"harm% {spec.label}"
            cells.append(f"{auc:.2f}" + (f" ({chosen[harm_column].mean():.1f})" if harm_column in chosen else ""))
        lines.append(f"| {spec.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_variants_table(rows: TypingSequence[dict], num_sequences: int, seeds: TypingSequence[int],
                          sets: str) -> str:
    """Markdown: one row per variant (the reference first), the best mean AUC in bold."""
    best = max(r["auc"] for r in rows[1:]) if len(rows) > 1 else math.nan
    ref = rows[0]
    lines = [f"Mean AUC over {num_sequences} train-side sequences ({sets}; seeds {', '.join(map(str, seeds))}), "
             f"against `{ref['variant']}` ({ref['param']}).", "",
             f"| variant | parameters | AUC | dAUC | harm % | sequences > {RUINED_DAUC:g} below | worst sequence |",
             "|---|---|---|---|---|---|---|"]

    def settings(row: dict) -> str:
        items = describe_overrides(row["overrides"])
        return f"`{row['param']}`" + (f" {items}" if items else "")

    lines.append(f"| {ref['variant']} (reference) | {settings(ref)} | {ref['auc']:.2f} | | | | |")
    for row in rows[1:]:
        auc = f"**{row['auc']:.2f}**" if row["auc"] == best else f"{row['auc']:.2f}"
        worst = "" if row["worst"] is None else f"{row['worst']} ({row['worst_dauc']:+.1f})"
        lines.append(f"| {row['variant']} | {settings(row)} | {auc} | {row['dauc']:+.2f} | {row['harm']:.1f} | "
                     f"{row['ruined']} | {worst} |")
    return "\n".join(lines) + "\n"
