"""Success, precision and normalised-precision plots (matplotlib, Agg back end, PNG files)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence as TypingSequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pytracking.analysis.evaluate import TrackerResult  # noqa: E402
from pytracking.analysis.metrics import (NORM_PRECISION_THRESHOLDS, PRECISION_INDEX,  # noqa: E402
                                         PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS)


def _plot(results, curve_attr, thresholds, score_of, title, xlabel, path: Path) -> Path | None:
    drawable = [r for r in results if getattr(r, curve_attr) is not None]
    if not drawable:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for r in sorted(drawable, key=score_of, reverse=True):
        label = f"[{score_of(r):.1f}] {r.name}" + ("" if r.complete else " (incomplete)")
        ax.plot(thresholds, 100.0 * getattr(r, curve_attr), linewidth=2, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel="rate [%]", ylim=(0, 100), xlim=(thresholds[0], thresholds[-1]))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left" if curve_attr == "success" else "lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def save_plots(results: TypingSequence[TrackerResult], out_dir: str | Path, dataset_name: str) -> list[Path]:
    """Write ``success_plot.png``, ``precision_plot.png`` and ``norm_precision_plot.png``; returns written paths."""
    out_dir = Path(out_dir)
    written = [
        _plot(results, "success", SUCCESS_THRESHOLDS, lambda r: r.scores["AUC"], f"Success plot ({dataset_name})",
              "overlap threshold (IoU > t)", out_dir / "success_plot.png"),
        _plot(results, "precision", PRECISION_THRESHOLDS, lambda r: 100.0 * r.precision[PRECISION_INDEX],
              f"Precision plot ({dataset_name})", "centre error threshold [px]", out_dir / "precision_plot.png"),
        _plot(results, "norm_precision", NORM_PRECISION_THRESHOLDS, lambda r: r.scores["NP"],
              f"Normalised precision plot ({dataset_name})", "normalised centre error threshold",
              out_dir / "norm_precision_plot.png"),
    ]
    return [p for p in written if p is not None]
