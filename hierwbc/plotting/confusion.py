"""Confusion matrices grouped by lineage (paper Fig. 13).

Rows (true node) and columns (predicted node) follow the tree's pre-order, so each lineage is
a contiguous block; the diagonal block of every lineage is outlined in the lineage's colour.
Cells are coloured by the row-normalised rate (or the count): within-lineage cells in blues,
cross-lineage cells (a mistake that leaves the lineage, the severe kind) in reds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from hierwbc.hierarchy import Hierarchy

from .colors import lineage_colors, text_colors
from .common import choose, choose_many, figure, hierarchy_of, node_labels, rows, tree_order

LINEAGE_BOX = "lineage-box"


def confusion_table(predictions: pd.DataFrame, hierarchy: Hierarchy, model: str | None = None,
                    dataset: str | None = None, probe: str | None = None,
                    nodes: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts ``[true node, predicted node]`` of one model x dataset x probe (pooled over folds).

    Index and columns are ``nodes`` (default: every node that is a true label or a prediction),
    in tree order; the index is named ``true``, the columns ``pred``.
    """
    model = choose(predictions, "model", model, "predictions table")
    dataset = choose(predictions, "dataset", dataset, "predictions table")
    probe = choose(predictions, "probe", probe, "predictions table")
    df = rows(predictions, model=model, dataset=dataset, probe=probe)
    true, pred = df["true"].astype(object).to_numpy(), df["pred"].astype(object).to_numpy()
    order = tree_order(hierarchy, np.r_[true, pred] if nodes is None else nodes)
    pos = {n: i for i, n in enumerate(order)}
    outside = sorted({n for n in np.r_[true, pred] if n not in pos})
    if outside:
        raise KeyError(f"predictions hold nodes {outside} outside nodes= {list(order)}")
    t = np.array([pos[n] for n in true], dtype=np.int64)
    p = np.array([pos[n] for n in pred], dtype=np.int64)
    k = len(order)
    counts = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return pd.DataFrame(counts, index=pd.Index(order, name="true"), columns=pd.Index(order, name="pred"))


def lineage_blocks(hierarchy: Hierarchy, nodes: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(lineage, start, stop)`` runs of ``nodes`` (tree-ordered) sharing a lineage; the root
    forms its own run (lineage = the root's name)."""
    lin = [hierarchy.lineage_of(n) or hierarchy.root for n in nodes]
    out, start = [], 0
    for i in range(1, len(lin) + 1):
        if i == len(lin) or lin[i] != lin[start]:
            out.append((lin[start], start, i))
            start = i
    return out


def _draw_one(ax, counts: pd.DataFrame, h: Hierarchy, normalize: str | None, annotate: bool, title: str):
    nodes = list(counts.index)
    m = counts.to_numpy().astype(float)
    total = m.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(total > 0, m / total, np.nan)
    shown = rate if normalize == "row" else m
    vmax = 1.0 if normalize == "row" else max(float(m.max()), 1.0)
    lin = np.array([h.lineage_of(n) or h.root for n in nodes], dtype=object)
    same = lin[:, None] == lin[None, :]
    nonzero = m > 0
    within = np.ma.masked_where(~(same & nonzero), shown)
    cross = np.ma.masked_where(~(~same & nonzero), shown)
    k = len(nodes)
    im_within = ax.imshow(within, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest", aspect="equal")
    im_cross = ax.imshow(cross, cmap="Reds", vmin=0, vmax=vmax, interpolation="nearest", aspect="equal")
    lcol = lineage_colors(h)
    for name, a, b in lineage_blocks(h, nodes):
        ax.add_patch(Rectangle((a - 0.5, a - 0.5), b - a, b - a, fill=False, lw=2.0,
                               edgecolor=lcol.get(name, "#555555"), gid=f"{LINEAGE_BOX}:{name}", zorder=3))
    if annotate:
        fs = 7 if k <= 12 else 5.5 if k <= 20 else 4.5
        for i, j in zip(*np.nonzero(nonzero)):
            text = f"{int(m[i, j])}\n{100 * rate[i, j]:.0f}%" if normalize == "row" else f"{int(m[i, j])}"
            dark = shown[i, j] > 0.55 * vmax
            ax.text(j, i, text, ha="center", va="center", fontsize=fs, color="white" if dark else "black")
    labels = node_labels(h, nodes)
    colors = text_colors(h, nodes)
    ax.set_xticks(range(k), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(k), labels, fontsize=7)
    for tick, n in zip(ax.get_xticklabels(), nodes):
        tick.set_color(colors[n])
    for tick, n in zip(ax.get_yticklabels(), nodes):
        tick.set_color(colors[n])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(k - 0.5, -0.5)
    n_cross = int(m[~same].sum())
    ax.set_title(f"{title}\n{int(m.sum())} cells, {n_cross} cross-lineage", fontsize=9)
    return im_within, im_cross


def confusion_by_lineage(predictions: pd.DataFrame, hierarchy: Hierarchy | None = None, *,
                         model: str | Sequence[str] | None = None, dataset: str | None = None,
                         probe: str | None = None, normalize: str | None = "row", annotate: bool = True,
                         nodes: Sequence[str] | None = None, panel_size: float | None = None):
    """Confusion matrix of each ``model`` (one panel each, side by side) for one dataset and
    probe, from :attr:`EvaluationResult.predictions`.

    ``normalize``: ``"row"`` (colour = share of the true class, cells say count and %) or
    ``None`` (colour = count). All panels share the node set (the union over the models shown)
    so they compare cell by cell. Returns the Figure.
    """
    if normalize not in ("row", None):
        raise ValueError(f"normalize must be 'row' or None, not {normalize!r}")
    h = hierarchy_of(None, hierarchy)
    models = choose_many(predictions, "model", model, what="predictions table")
    dataset = choose(predictions, "dataset", dataset, "predictions table")
    probe = choose(predictions, "probe", probe, "predictions table")
    if nodes is None:
        sub = rows(predictions, model=models, dataset=dataset, probe=probe)
        nodes = tree_order(h, np.r_[sub["true"].astype(object), sub["pred"].astype(object)])
    tables = [confusion_table(predictions, h, m, dataset, probe, nodes) for m in models]
    side = panel_size or max(3.5, 0.36 * len(nodes) + 1.8)
    fig = figure(side * len(models) + 0.8, side + 0.6)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    images = None
    for ax, m, table in zip(axes, models, tables):
        images = _draw_one(ax, table, h, normalize, annotate, f"{m} · {dataset} · {probe}")
    what = "rate" if normalize else "count"
    fig.colorbar(images[0], ax=list(axes), shrink=0.45, label=f"within lineage ({what})")
    fig.colorbar(images[1], ax=list(axes), shrink=0.45, label=f"cross-lineage ({what})")
    return fig
