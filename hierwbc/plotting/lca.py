"""Mistake severity per model: the distribution of LCA heights of the mistakes (Bertinetto et
al. 2020; paper Sec. 2.4.2), as grouped bars (share of each model's mistakes at each height)
and / or ECDFs (share of mistakes at most that severe).

Input: :attr:`EvaluationResult.severity` (``model, dataset, probe, lca_height, count,
fraction``) or :attr:`EvaluationResult.predictions` (its ``lca_height`` column; rows with
height 0 are correct predictions and are not mistakes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .colors import category_colors
from .common import choose, choose_many, figure, rows

KINDS = ("hist", "ecdf", "both")


def severity_counts(table: pd.DataFrame) -> pd.DataFrame:
    """``model, dataset, probe, lca_height, count`` of the mistakes (height >= 1) from a
    severity or predictions table; groups without mistakes are dropped."""
    keys = ["model", "dataset", "probe"]
    missing = [c for c in keys + ["lca_height"] if c not in table]
    if missing:
        raise KeyError(f"table lacks column(s) {missing}: pass EvaluationResult.severity or .predictions")
    df = table.assign(**{k: table[k].astype(str) for k in keys})
    df = df[df["lca_height"].astype(int) >= 1]
    if "count" in table and "true" not in table:  # a severity table
        out = df[keys + ["lca_height", "count"]]
    else:
        out = df.groupby(keys + ["lca_height"], observed=True).size().rename("count").reset_index()
    out = out[out["count"] > 0].astype({"lca_height": int, "count": int})
    return out.reset_index(drop=True)


def lca_distribution(table: pd.DataFrame, *, dataset: str | None = None, probe: str | None = None,
                     models: Sequence[str] | None = None, kind: str = "both", height: float = 3.2):
    """Severity of mistakes per model for one dataset and probe (see the module docstring).

    ``kind``: ``"hist"`` (bars: share of mistakes per LCA height, one colour per model; the
    legend gives each model's mistake count and mean severity), ``"ecdf"`` (cumulative share),
    or ``"both"`` (two panels). Returns the Figure.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")

    counts = severity_counts(table)
    if counts.empty:
        raise ValueError("no mistakes in the table: nothing to draw")
    dataset = choose(counts, "dataset", dataset, "severity table")
    probe = choose(counts, "probe", probe, "severity table")
    counts = rows(counts, dataset=dataset, probe=probe)
    models = choose_many(counts, "model", models, what="severity table")
    counts = rows(counts, model=models)
    heights = np.arange(1, int(counts["lca_height"].max()) + 1)
    grid = (counts.pivot_table(index="model", columns="lca_height", values="count", aggfunc="sum", fill_value=0)
            .reindex(index=models, columns=heights, fill_value=0))
    share = grid.div(grid.sum(1), axis=0)
    mean = (grid * heights).sum(1) / grid.sum(1)
    palette = category_colors("model", models)
    label = {m: f"{m} (n={int(grid.loc[m].sum())}, mean {mean[m]:.2f})" for m in models}
    panels = ["hist", "ecdf"] if kind == "both" else [kind]
    fig = figure(4.4 * len(panels) + 1.5, height)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        if panel == "hist":
            width = 0.8 / len(models)
            for k, m in enumerate(models):
                ax.bar(heights + (k - (len(models) - 1) / 2) * width, share.loc[m].to_numpy(), width,
                       color=palette[m], label=label[m], gid=f"model:{m}")
            ax.set_ylabel("share of mistakes")
        else:
            for m in models:
                cum = np.r_[0.0, np.cumsum(share.loc[m].to_numpy())]
                ax.step(np.r_[0, heights], cum, where="post", color=palette[m], label=label[m], gid=f"model:{m}")
            ax.set_ylabel("share of mistakes ≤ height")
            ax.set_ylim(0, 1.02)
        ax.set_xticks(heights)
        ax.set_xlabel("LCA height of the mistake (edges)")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    fig.suptitle(f"Mistake severity · {dataset} · {probe}", fontsize=10)
    return fig

