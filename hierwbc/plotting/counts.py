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
