"""The alpha ablation of HierCE (paper Sec. 3.6, Fig. 14): metric vs alpha, a line per probe,
error bars = standard deviation over the CV folds.

Which model has which alpha comes from the models' configs, never from their names: the mapping
``alphas={model name: alpha}`` given, e.g. :func:`model_alphas` of their embeddings
(``supervised.alpha`` of the training config in ``uns["provenance"]["config"]``, what
08_alpha_ablation does) or an experiment file's ``figures.alpha_models``.

Models with no alpha (unsup, ce, ...) are not part of the ablation and are left out of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .colors import category_colors
from .common import (
    PROBE_ORDER,
    choose,
    choose_many,
    figure,
    fold_stats,
    metric_label,
    metric_scale,
    rows,
)

DEFAULT_METRICS = ("balanced_accuracy", "lineage_accuracy", "mistake_severity", "hierarchical_f1")


def model_alphas(adatas: Mapping[str, object], losses: Sequence[str] = ("hierce",)) -> dict[str, float]:
    """``{model: alpha}`` of the models (AnnDatas from :func:`hierwbc.embed.embed`) trained with one
    of ``losses``, read from ``uns["provenance"]["config"]`` (the training config as JSON)."""
    out = {}
    for name, a in adatas.items():
        text = dict(a.uns.get("provenance", {})).get("config") or ""
        if not text:
            continue
        sup = json.loads(text).get("supervised", {})
        if sup.get("loss") in losses:
            out[name] = float(sup["alpha"])
    return out


def ablation_table(metrics: pd.DataFrame, alphas: Mapping[str, float], *,
                   dataset: str | None = None, metric_names: Sequence[str] = DEFAULT_METRICS,
                   probes: Sequence[str] | None = None) -> pd.DataFrame:
    """``model, alpha, probe, metric, mean, std, n_folds`` (over the CV folds) of the models with
    an alpha, sorted by metric, probe and alpha."""
    dataset = choose(metrics, "dataset", dataset, "metrics table")
    df = rows(metrics, dataset=dataset, metric=list(metric_names))
    found = {m: float(alphas[m]) for m in choose_many(df, "model", None) if m in alphas}
    if len(found) < 2:
        raise ValueError(f"an alpha ablation needs two or more models with an alpha; found {found} among "
                         f"{choose_many(df, 'model', None)} (pass alphas={{model: alpha}}, e.g. model_alphas(adatas))")
    probes = choose_many(df, "probe", probes, PROBE_ORDER, "metrics table")
    df = rows(df, model=list(found), probe=probes)
    stats = fold_stats(df.assign(model=df["model"].astype(str), probe=df["probe"].astype(str)),
                       ["model", "probe", "metric"])
    stats.insert(1, "alpha", stats["model"].map(found))
    stats["_m"] = stats["metric"].map({m: i for i, m in enumerate(metric_names)})
    stats["_p"] = stats["probe"].map({p: i for i, p in enumerate(probes)})
    return stats.sort_values(["_m", "_p", "alpha"]).drop(columns=["_m", "_p"]).reset_index(drop=True)


def alpha_ablation(metrics: pd.DataFrame, alphas: Mapping[str, float], *,
                   dataset: str | None = None, metric_names: Sequence[str] = DEFAULT_METRICS,
                   probes: Sequence[str] | None = None, panel_size: float = 3.2):
    """Metric vs alpha, a line per probe with fold error bars, one panel per metric, for one
    dataset of an evaluation ``metrics`` table (alphas: see the module docstring). Returns the
    Figure."""

    table = ablation_table(metrics, alphas, dataset=dataset, metric_names=metric_names, probes=probes)
    present = [m for m in metric_names if m in set(table["metric"])]
    probe_list = list(pd.unique(table["probe"]))
    palette = category_colors("probe", probe_list)
    fig = figure(panel_size * len(present) + 1.3, panel_size)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    alpha_values = np.sort(table["alpha"].unique())
    for ax, metric in zip(axes, present):
        scale = metric_scale(metric)
        for probe in probe_list:
            t = table[(table["metric"] == metric) & (table["probe"] == probe)]
            ax.errorbar(t["alpha"].to_numpy(float), t["mean"].to_numpy(float) * scale,
                        yerr=t["std"].fillna(0).to_numpy(float) * scale, marker="o", ms=4,
                        capsize=3, color=palette[probe], label=probe, gid=f"probe:{probe}")
        ax.set_xticks(alpha_values)
        ax.set_xlabel("α")
        ax.set_title(metric_label(metric), fontsize=9)
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False, title="probe")
    fig.suptitle(f"HierCE α ablation · {choose(metrics, 'dataset', dataset, 'metrics table')}", fontsize=10)
    return fig
