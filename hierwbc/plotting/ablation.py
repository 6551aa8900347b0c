"""The alpha ablation of HierCE (paper Sec. 3.6, Fig. 14): metric vs alpha, a line per probe,
error bars = standard deviation over the CV folds.

Which model has which alpha (in this order):

1. an explicit mapping ``alphas={model name: alpha}``;
2. the model name: a suffix ``_alpha<value>`` or ``_a<value>`` (``-`` or ``=`` also accepted
   as separators: ``hierce_alpha0.1``, ``hierce_a0.9``, ``hierce-alpha=0.5``), see
   :func:`alpha_from_name`;
3. :func:`model_alphas` reads it from embeddings: ``supervised.alpha`` of the training config
   stored in ``uns["provenance"]["config"]`` of HierCE models (what 08_alpha_ablation does).

Models with no alpha (unsup, ce, ...) are not part of the ablation and are left out of it.
"""

from __future__ import annotations

import json
import re
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

ALPHA_PATTERN = re.compile(r"(?:^|[_-])(?:alpha|a)[=_-]?(\d+(?:\.\d*)?|\.\d+)$")
DEFAULT_METRICS = ("balanced_accuracy", "lineage_accuracy", "mistake_severity", "hierarchical_f1")


def alpha_from_name(model: str) -> float | None:
    """The alpha a model name carries (``hierce_alpha0.1`` -> 0.1, ``hierce_a0.9`` -> 0.9), or None."""
    match = ALPHA_PATTERN.search(str(model))
    return float(match.group(1)) if match else None


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


def resolve_alphas(models: Sequence[str], alphas: Mapping[str, float] | None = None) -> dict[str, float]:
    """``{model: alpha}`` for the models with one (mapping first, then the name convention)."""
    alphas = dict(alphas or {})
    out = {m: float(alphas[m]) if m in alphas else alpha_from_name(m) for m in models}
    return {m: a for m, a in out.items() if a is not None}


def ablation_table(metrics: pd.DataFrame, alphas: Mapping[str, float] | None = None, *,
                   dataset: str | None = None, metric_names: Sequence[str] = DEFAULT_METRICS,
                   probes: Sequence[str] | None = None) -> pd.DataFrame:
    """``model, alpha, probe, metric, mean, std, n_folds`` (over the CV folds) of the models with
    an alpha, sorted by metric, probe and alpha."""
    dataset = choose(metrics, "dataset", dataset, "metrics table")
    df = rows(metrics, dataset=dataset, metric=list(metric_names))
    found = resolve_alphas(choose_many(df, "model", None), alphas)
    if len(found) < 2:
        raise ValueError(f"an alpha ablation needs two or more models with an alpha; found {found} among "
                         f"{choose_many(df, 'model', None)} (pass alphas={{model: alpha}} or name them "
                         "like 'hierce_alpha0.1')")
    probes = choose_many(df, "probe", probes, PROBE_ORDER, "metrics table")
    df = rows(df, model=list(found), probe=probes)
    stats = fold_stats(df.assign(model=df["model"].astype(str), probe=df["probe"].astype(str)),
                       ["model", "probe", "metric"])
    stats.insert(1, "alpha", stats["model"].map(found))
    stats["_m"] = stats["metric"].map({m: i for i, m in enumerate(metric_names)})
    stats["_p"] = stats["probe"].map({p: i for i, p in enumerate(probes)})
    return stats.sort_values(["_m", "_p", "alpha"]).drop(columns=["_m", "_p"]).reset_index(drop=True)


def alpha_ablation(metrics: pd.DataFrame, alphas: Mapping[str, float] | None = None, *,
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
