"""Models compared per probe (paper Figs. 10, 11 and 15): grouped bars, one group per probe,
one bar per model, height = mean over the CV folds, error bar = standard deviation over the
folds; one panel per dataset (rows) x metric (columns)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .colors import category_colors
from .common import PROBE_ORDER, choose_many, figure, fold_stats, metric_label, metric_scale, rows

FIG10_METRICS = ("balanced_accuracy",)
FIG11_METRICS = ("lineage_accuracy", "mistake_severity", "hierarchical_f1")


def comparison_table(metrics: pd.DataFrame, *, metric_names: Sequence[str] = FIG10_METRICS + FIG11_METRICS,
                     datasets: Sequence[str] | None = None, models: Sequence[str] | None = None,
                     probes: Sequence[str] | None = None) -> pd.DataFrame:
    """``dataset, model, probe, metric, mean, std, n_folds`` over the CV folds, in the order
    datasets x metrics x probes x models."""
    datasets = choose_many(metrics, "dataset", datasets, what="metrics table")
    df = rows(metrics, dataset=datasets, metric=list(metric_names))
    if df.empty:
        raise ValueError(f"no rows for metrics {list(metric_names)} in datasets {datasets}")
    models = choose_many(df, "model", models, what="metrics table")
    probes = choose_many(rows(df, probe=[p for p in df["probe"].astype(str).unique() if p != "centroid"]),
                         "probe", probes, PROBE_ORDER, "metrics table")
    df = rows(df, model=models, probe=probes)
    df = df.assign(**{c: df[c].astype(str) for c in ("dataset", "model", "probe")})
    stats = fold_stats(df, ["dataset", "model", "probe", "metric"])
    keys = {"dataset": datasets, "metric": list(metric_names), "probe": probes, "model": models}
    for col, order in keys.items():
        stats[f"_{col}"] = stats[col].map({v: i for i, v in enumerate(order)})
    return (stats.sort_values([f"_{c}" for c in keys]).drop(columns=[f"_{c}" for c in keys])
            .reset_index(drop=True))


def compare_losses(metrics: pd.DataFrame, *, metric_names: Sequence[str] = FIG10_METRICS + FIG11_METRICS,
                   datasets: Sequence[str] | None = None, models: Sequence[str] | None = None,
                   probes: Sequence[str] | None = None, panel_size: float = 3.3):
    """Grouped bars with fold error bars (see the module docstring) from an evaluation
    ``metrics`` table; ``metric_names=("balanced_accuracy",)`` is paper Fig. 10,
    ``FIG11_METRICS`` Fig. 11. Returns the Figure."""
    table = comparison_table(metrics, metric_names=metric_names, datasets=datasets, models=models, probes=probes)
    ds_list = list(pd.unique(table["dataset"]))
    met_list = [m for m in metric_names if m in set(table["metric"])]
    model_list = list(pd.unique(table["model"]))
    probe_list = list(pd.unique(table["probe"]))
    palette = category_colors("model", model_list)
    width = 0.8 / len(model_list)
    fig = figure(panel_size * len(met_list) + 1.6, 0.85 * panel_size * len(ds_list) + 0.4)
    axes = fig.subplots(len(ds_list), len(met_list), squeeze=False)
    x = np.arange(len(probe_list))
    for r, ds in enumerate(ds_list):
        for c, metric in enumerate(met_list):
            ax, scale = axes[r, c], metric_scale(metric)
            t = table[(table["dataset"] == ds) & (table["metric"] == metric)]
            for k, m in enumerate(model_list):
                tm = t[t["model"] == m].set_index("probe").reindex(probe_list)
                ax.bar(x + (k - (len(model_list) - 1) / 2) * width, tm["mean"].to_numpy() * scale, width,
                       yerr=tm["std"].fillna(0).to_numpy() * scale, capsize=2, color=palette[m], label=m,
                       gid=f"model:{m}", error_kw={"elinewidth": 0.8})
            ax.set_xticks(x, probe_list)
            ax.set_title(f"{ds} · {metric_label(metric)}", fontsize=9)
            if scale != 1.0:
                ax.set_ylim(0, 100)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, title="model")
    return fig
