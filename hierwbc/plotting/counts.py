"""Images per node and dataset: horizontal bars in tree order, one colour per dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hierwbc.datasets import count_table
from hierwbc.hierarchy import Hierarchy

from .colors import category_colors, text_colors
from .common import figure, hierarchy_of, node_labels, tree_order


def counts_by_node(manifest: pd.DataFrame, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Wide table: one row per node present (tree order, with its display ``label`` and
    ``lineage``), one column of image counts per dataset, and ``total``."""
    h = hierarchy_of(None, hierarchy)
    long = count_table(manifest, ("node", "dataset"), h)
    wide = long.pivot_table(index="node", columns="dataset", values="count", aggfunc="sum", fill_value=0)
    order = tree_order(h, wide.index)
    wide = wide.reindex(order)
    wide.columns = [str(c) for c in wide.columns]
    out = wide.reset_index()
    out.insert(1, "label", [h.label(n) for n in order])
    out.insert(2, "lineage", [h.lineage_of(n) or h.root for n in order])
    out["total"] = wide.sum(1).to_numpy()
    return out


def class_counts(manifest: pd.DataFrame, hierarchy: Hierarchy | None = None, log: bool = True):
    """Horizontal bars of images per node (tree order, labels coloured by lineage family),
    one bar per dataset side by side (a log scale keeps small datasets visible). Returns the
    Figure."""
    h = hierarchy_of(None, hierarchy)
    table = counts_by_node(manifest, h)
    datasets = [c for c in table.columns if c not in ("node", "label", "lineage", "total")]
    colors = category_colors("dataset", datasets, h)
    nodes = list(table["node"])
    fig = figure(7.0, 0.1 * len(nodes) * (len(datasets) + 1.5) + 1.2)
    ax = fig.subplots()
    y = np.arange(len(nodes))
    height = 0.8 / len(datasets)
    for k, ds in enumerate(datasets):
        v = table[ds].to_numpy(dtype=float)
        ax.barh(y + (k - (len(datasets) - 1) / 2) * height, np.where(v > 0, v, np.nan), height,
                color=colors[ds], label=ds, gid=f"dataset:{ds}")
    ax.set_yticks(y, node_labels(h, nodes), fontsize=8)
    for tick, n in zip(ax.get_yticklabels(), nodes):
        tick.set_color(text_colors(h, nodes)[n])
    ax.set_ylim(len(nodes) - 0.5, -0.5)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("images" + (" (log scale)" if log else ""))
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(f"{int(table['total'].sum()):,} images in {len(datasets)} dataset(s)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- predicted cells
def predicted_by_lineage(obs: pd.DataFrame, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Predicted cells per lineage (:func:`hierwbc.predict.predict`'s obs ``lineage``, tree
    order): ``lineage, label, cells, share``, and ``labelled`` (cells whose true label ``node``
    lies in that lineage) when the cells carry labels."""
    h = hierarchy_of(None, hierarchy)
    lineages = [n for n in h.lineages]
    counts = obs["lineage"].astype(object).value_counts()
    out = pd.DataFrame({"lineage": lineages, "label": node_labels(h, lineages),
                        "cells": [int(counts.get(n, 0)) for n in lineages]})
    out["share"] = out["cells"] / max(int(out["cells"].sum()), 1)
    truth = obs["node"].astype(object).to_numpy() if "node" in obs else np.array([], dtype=object)
    known = [t for t in truth if isinstance(t, str) and t in h and t != h.root]
    if known:
        true_lineage = pd.Series([h.lineage_of(t) for t in known]).value_counts()
        out["labelled"] = [int(true_lineage.get(n, 0)) for n in lineages]
    return out


def predicted_by_depth(obs: pd.DataFrame, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Predicted cells per back-off depth (depth of obs ``backoff_node``: 0 = the root, no
    call; 1 = a lineage; the deepest = leaves): ``depth, level, cells, share, at_leaf`` (cells
    whose back-off node is their predicted leaf, i.e. no back-off) and ``nodes`` (the back-off
    nodes at that depth with their counts, most frequent first)."""
    h = hierarchy_of(None, hierarchy)
    back = obs["backoff_node"].astype(object).to_numpy()
    depth = h.depth[h.indices(back)] if len(back) else np.array([], dtype=int)
    at_leaf = back == obs["pred_leaf"].astype(object).to_numpy()
    rows = []
    for d in range(h.max_depth + 1):
        sel = depth == d
        nodes = pd.Series(back[sel]).value_counts()
        level = "root (no call)" if d == 0 else "lineage" if d == 1 else f"depth {d}"
        rows.append({"depth": d, "level": level, "cells": int(sel.sum()), "at_leaf": int((sel & at_leaf).sum()),
                     "nodes": ", ".join(f"{n} ({c})" for n, c in nodes.items())})
    out = pd.DataFrame(rows)
    out.insert(3, "share", out["cells"] / max(len(back), 1))
    return out


def prediction_counts(obs: pd.DataFrame, hierarchy: Hierarchy | None = None, title: str | None = None):
    """Two bar panels of predicted cells (obs of :func:`hierwbc.predict.predict`): per
    lineage (lineage colours; an outlined bar gives the labelled count when there are labels)
    and per back-off depth (solid: backed off to an internal node, hatched: kept the leaf).
    Returns the Figure."""
    h = hierarchy_of(None, hierarchy)
    by_lin, by_depth = predicted_by_lineage(obs, h), predicted_by_depth(obs, h)
    colors = category_colors("lineage", list(by_lin["lineage"]), h)
    fig = figure(10.0, 3.6)
    ax_lin, ax_depth = fig.subplots(1, 2, width_ratios=[1.3, 1])
    x = np.arange(len(by_lin))
    ax_lin.bar(x, by_lin["cells"], color=[colors[n] for n in by_lin["lineage"]], label="predicted")
    if "labelled" in by_lin:
        ax_lin.bar(x, by_lin["labelled"], fill=False, edgecolor="#333333", linewidth=1.2, label="labelled")
        ax_lin.legend(fontsize=8, frameon=False)
    ax_lin.set_xticks(x, by_lin["label"], rotation=30, ha="right", fontsize=8)
    ax_lin.set_ylabel("cells")
    ax_lin.set_title("by predicted lineage", fontsize=10)
    xd = by_depth["depth"].to_numpy()
    inner = (by_depth["cells"] - by_depth["at_leaf"]).to_numpy()
    ax_depth.bar(xd, inner, color="#7f8c8d", label="backed off")
    ax_depth.bar(xd, by_depth["at_leaf"], bottom=inner, color="#bdc3c7", hatch="//", label="leaf kept")
    ax_depth.set_xticks(xd, [f"{d}\n{lv}" for d, lv in zip(xd, by_depth["level"])], fontsize=7)
    ax_depth.set_title("by back-off depth", fontsize=10)
    ax_depth.legend(fontsize=8, frameon=False)
    fig.suptitle(title or f"{len(obs):,} predicted cells", fontsize=10)
    return fig
