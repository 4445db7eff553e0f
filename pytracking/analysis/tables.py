"""Result tables: a pandas DataFrame, saved as CSV and as Markdown (small own formatter, no tabulate).

Summary columns: ``tracker, AUC, P, NP, OP50, OP75, FPS`` (scores in percent, mean over runs),
then ``runs``, the standard deviations ``AUC_std`` ... ``OP75_std``, ``complete`` and ``missing``
(number of missing result files).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence as TypingSequence

import pandas as pd

from pytracking.analysis.evaluate import SCORE_NAMES, TrackerResult, attribute_auc
from pytracking.evaluation.results_io import atomic_write_text
from pytracking.evaluation.sequence import Sequence

SUMMARY_COLUMNS = ["tracker", *SCORE_NAMES, "FPS", "runs", *[f"{k}_std" for k in SCORE_NAMES], "complete", "missing"]


def summary_table(results: TypingSequence[TrackerResult]) -> pd.DataFrame:
    """One row per tracker with the columns of :data:`SUMMARY_COLUMNS`."""
    rows = []
    for r in results:
        row = {"tracker": r.name, **{k: r.scores.get(k, math.nan) for k in SCORE_NAMES}, "FPS": r.fps,
               "runs": len(r.runs), **{f"{k}_std": r.stds.get(k, math.nan) for k in SCORE_NAMES},
               "complete": r.complete, "missing": len(r.missing)}
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def per_sequence_table(results: TypingSequence[TrackerResult], sequences: TypingSequence[Sequence]) -> pd.DataFrame:
    """AUC (percent) per sequence (rows) and tracker (columns)."""
    return pd.DataFrame({r.name: [r.per_sequence_auc.get(s.name, math.nan) for s in sequences] for r in results},
                        index=pd.Index([s.name for s in sequences], name="sequence"))


def attribute_table(results: TypingSequence[TrackerResult], sequences: TypingSequence[Sequence]) -> pd.DataFrame | None:
    """AUC (percent) per attribute (rows, with the sequence count) and tracker (columns); None without attributes."""
    if not any(s.attributes for s in sequences):
        return None
    per_tracker = {r.name: attribute_auc(r, sequences) for r in results}
    attrs = list(next(iter(per_tracker.values())).keys()) if per_tracker else []
    data = {"sequences": [next(iter(per_tracker.values()))[a][1] for a in attrs]} if per_tracker else {}
    for name, values in per_tracker.items():
        data[name] = [values[a][0] for a in attrs]
    return pd.DataFrame(data, index=pd.Index(attrs, name="attribute"))


def _cell(value: object, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def to_markdown(table: pd.DataFrame, digits: int = 1, index: bool = False) -> str:
    """A GitHub Markdown table (pipes); floats with ``digits`` decimals, NaN as ``-``."""
    frame = table.reset_index() if index else table
    header = [str(c) for c in frame.columns]
    body = [[_cell(v.item() if hasattr(v, "item") else v, digits) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "| " + " | ".join("-" * w for w in widths) + " |"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in body]
    return "\n".join(lines) + "\n"


def save_table(table: pd.DataFrame, csv_path: str | Path, index: bool = False, digits: int = 1) -> Path:
    """Write ``table`` to ``csv_path`` and its Markdown form beside it (same stem, ``.md``); returns the .md path."""
    csv_path = Path(csv_path)
    atomic_write_text(csv_path, table.to_csv(index=index))
    md_path = csv_path.with_suffix(".md")
    atomic_write_text(md_path, to_markdown(table, digits=digits, index=index))
    return md_path
