"""What every figure function shares: the hierarchy of an AnnData, picking rows of an
evaluation table, node labels for axes, metric names, new figures and atomic PNG writes.

Figures are :class:`Figure` objects (a :class:`matplotlib.figure.Figure` made without pyplot,
with a PNG ``_repr_png_``): nothing global is kept open, and a notebook cell that returns or
``display``-s one shows it once, as an image, whatever the matplotlib backend.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MplFigure

from hierwbc.evaluate.tables import PAPER_METRICS, RAW_METRICS, choose, ordered  # noqa: F401 (re-exported)
from hierwbc.hierarchy import Hierarchy, default_hierarchy, hierarchy_from_uns
from hierwbc.io import atomic_write, atomic_write_text

PROBE_ORDER = ("1nn", "20nn", "logreg", "head", "centroid")
METRIC_NAMES = {**PAPER_METRICS, "accuracy": "Accuracy", "hierarchical_precision": "Hierarchical P",
                "hierarchical_recall": "Hierarchical R", "centroid_spearman": "Centroid Spearman"}


def hierarchy_of(obj=None, hierarchy: Hierarchy | None = None) -> Hierarchy:
    """``hierarchy`` if given, else the one an AnnData stores (``uns["hierarchy"]["json"]``) or an
    evaluation result carries (``.hierarchy``), else the default tree."""
    if hierarchy is not None:
        return hierarchy
    if obj is not None and isinstance(getattr(obj, "hierarchy", None), Hierarchy):
        return obj.hierarchy
    stored = hierarchy_from_uns(getattr(obj, "uns", None))
    return stored if stored is not None else default_hierarchy()


def choose_many(table: pd.DataFrame, column: str, values, first: Sequence = (), what: str = "table") -> list:
    """Values of ``column`` to show: all present (ordered, ``first`` first) when ``values`` is
    None, else ``values`` (a str or a list), each checked to be present."""
    present = ordered(table[column].astype(object), first)
    if values is None:
        return present
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise ValueError(f"no {column} selected (choose from {present})")
    missing = [v for v in values if v not in present]
    if missing:
        raise KeyError(f"{column}(s) {missing} not in the {what} (have {present})")
    return values


def rows(table: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows whose columns equal the given values (``None`` = any); compares as text so that
    categorical columns work."""
    mask = np.ones(len(table), dtype=bool)
    for col, value in where.items():
        if value is None:
            continue
        allowed = {str(v) for v in ([value] if isinstance(value, (str, int, float)) else value)}
        mask &= table[col].astype(str).isin(allowed).to_numpy()
    return table[mask]


def node_labels(hierarchy: Hierarchy, nodes: Sequence[str]) -> list[str]:
    """Axis labels for ``nodes``: the display label, or the node name where the display label
    is not unique in the tree (e.g. the ``immature`` of each lineage)."""
    counts = pd.Series(list(hierarchy.labels.values())).value_counts()
    labels = [hierarchy.label(n) for n in nodes]
    return [n if counts.get(lab, 0) > 1 else lab for n, lab in zip(nodes, labels)]


def tree_order(hierarchy: Hierarchy, nodes) -> list[str]:
    """The distinct ``nodes`` in pre-order; a value that is not a node raises KeyError."""
    nodes = [n for n in pd.unique(pd.Series(list(nodes), dtype=object)) if not pd.isna(n)]
    unknown = [n for n in nodes if n not in hierarchy]
    if unknown:
        raise KeyError(f"not nodes of the hierarchy: {unknown}")
    return sorted(nodes, key=hierarchy.node_index.__getitem__)


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def metric_scale(metric: str) -> float:
    """100 for rates (shown in %), 1 for LCA heights, distances and correlations."""
    return 1.0 if metric in RAW_METRICS or metric.startswith("hdist@") else 100.0


def metric_label(metric: str) -> str:
    unit = "" if metric_scale(metric) == 1.0 else " (%)"
    return metric_name(metric) + unit


class Figure(_MplFigure):
    """A matplotlib Figure that IPython displays as a PNG (``_repr_png_``)."""

    repr_dpi = 90

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=self.repr_dpi, bbox_inches="tight")
        return buf.getvalue()


def figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` atomically, as the format its suffix names (PNG without one);
    folders are created."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))


def save_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as CSV (no index) atomically; folders are created."""
    return atomic_write_text(path, df.to_csv(index=False))


def fold_stats(metrics: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and number of folds of ``value`` per ``by`` group,
    over the per-fold rows (``fold >= 0``) of an evaluation ``metrics`` table."""
    df = metrics[metrics["fold"].astype(int) >= 0]
    if df.empty:
        raise ValueError("no per-fold rows (fold >= 0) in the metrics table")
    g = df.groupby(list(by), observed=True, sort=False)["value"]
    return pd.concat([g.mean().rename("mean"), g.std(ddof=1).rename("std"), g.count().rename("n_folds")],
                     axis=1).reset_index()
