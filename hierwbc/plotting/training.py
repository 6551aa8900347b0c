"""Training curves from a run's ``metrics.jsonl`` (one JSON line per logged step, written by
:func:`hierwbc.train.loop.fit`): one panel per loss term, one line per run."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .colors import category_colors
from .common import figure

LEGEND_ROWS = 10  # runs per legend column: a 30-run grid's legend stays as tall as the panels
TERMS = ("loss", "dino", "ibot", "koleo", "sup", "knn_bacc")  # knn_bacc: the online kNN checks


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """The rows of a ``metrics.jsonl`` (or of ``<run folder>/metrics.jsonl``); a last line being
    written while training runs is skipped. An empty frame when the file does not exist yet."""
    path = Path(path)
    path = path / "metrics.jsonl" if path.is_dir() else path
    if not path.exists():
        return pd.DataFrame(columns=["step"])
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if k == len(lines) - 1:
                break  # the line being written
            raise ValueError(f"{path}: line {k + 1} is not JSON: {line[:80]!r}") from None
    return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=["step"])


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` steps (shorter at the start)."""
    if window <= 1 or len(values) == 0:
        return values
    c = np.cumsum(np.r_[0.0, values])
    k = np.arange(1, len(values) + 1)
    lo = np.maximum(k - window, 0)
    return (c[k] - c[lo]) / (k - lo)


def training_curves(metrics: pd.DataFrame | Mapping[str, pd.DataFrame], terms: Sequence[str] = TERMS,
                    smooth: int = 1, panel_size: float = 2.8, title: str | None = None):
    """Loss terms against the step: ``metrics`` is one run's table (``RunResult.metrics`` or
    :func:`read_metrics`) or ``{run name: table}``; a panel per term present in any run, runs
    without a term (``sup`` of ``unsup``) simply have no line there. ``smooth``: moving-average
    window in steps. Returns the Figure."""
    runs = dict(metrics) if isinstance(metrics, Mapping) else {"run": metrics}
    present = [t for t in terms if any(t in df and df[t].notna().any() for df in runs.values())]
    if not present:
        present = ["loss"]

    palette = category_colors("run", runs)
    legend_cols = -(-len(runs) // LEGEND_ROWS) if len(runs) > 1 else 0
    fig = figure(panel_size * len(present) + 1.4 * legend_cols, panel_size * 0.85)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    for ax, term in zip(axes, present):
        for name, df in runs.items():
            if term in df and len(df):
                ok = df[term].notna().to_numpy()
                checks = term.startswith("knn")  # a few checks: drawn as they are, with markers
                ax.plot(df["step"].to_numpy()[ok], _smooth(df[term].to_numpy(dtype=float)[ok], 1 if checks else smooth),
                        color=palette[name], lw=1.2, label=name, gid=f"run:{name}", marker="o" if checks else None,
                        ms=3)
                shifted = f"{term}_shifted"  # the monitor's lab-shifted score (knn_lab_shift): dashed
                if checks and shifted in df and df[shifted].notna().any():
                    ok = df[shifted].notna().to_numpy()
                    ax.plot(df["step"].to_numpy()[ok], df[shifted].to_numpy(dtype=float)[ok], color=palette[name],
                            lw=1.0, ls="--", marker="s", ms=3, gid=f"run:{name}:shifted")
        panel_title = "kNN balanced accuracy (validation)" if term == "knn_bacc" else term
        if any(f"{term}_shifted" in df for df in runs.values()):
            panel_title += "\ndashed: as if from another lab"
        ax.set_title(panel_title, fontsize=9)
        ax.set_xlabel("step")
    if len(runs) > 1:  # every run, also those without a line in the last panel (``sup`` of unsup)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=palette[name], lw=1.2, label=name) for name in runs]
        axes[-1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False,
                        ncols=legend_cols)  # columns beside the panels, not above them
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
