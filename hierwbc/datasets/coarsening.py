"""Simulate lower label precision: relabel a fraction of each node's rows to its parent.

For every node ``v`` whose parent is at depth >= ``min_parent_depth`` (default 1: never the
root, which would carry no label), exactly ``floor(fraction * n_v + 0.5)`` of its ``n_v``
rows (those with the smallest seeded keys, :func:`hierwbc.datasets.splits.row_keys`) move to
``parent(v)``. One level per call; the original label is kept in ``node_fine`` (set on the
first call, kept on later ones). Reproducible for a seed, independent of row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy, default_hierarchy

from .splits import row_keys


def coarsen(manifest: pd.DataFrame, fraction: float, seed: int = 0, hierarchy: Hierarchy | None = None,
            min_parent_depth: int = 1) -> pd.DataFrame:
    """Copy of ``manifest`` with a ``fraction`` of each eligible node's rows relabelled to the
    parent node; column ``node_fine`` holds the label before coarsening."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    h = default_hierarchy() if hierarchy is None else hierarchy
    out = manifest.copy()
    if "node_fine" not in out:
        out["node_fine"] = out["node"]
    if not len(out):
        return out
    idx = h.indices(out["node"])
    parent = h.parent[idx]
    eligible = (parent >= 0) & (h.depth[np.maximum(parent, 0)] >= min_parent_depth)
    keys = row_keys(out, seed, "coarsen")
    order = np.lexsort((out["path"].astype(str).to_numpy(), keys, idx))
    idx_sorted = idx[order]
    starts = np.r_[0, np.flatnonzero(np.diff(idx_sorted)) + 1]
    sizes = np.diff(np.r_[starts, len(idx_sorted)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    quota = np.floor(float(fraction) * np.repeat(sizes, sizes) + 0.5)
    chosen = np.zeros(len(out), dtype=bool)
    chosen[order] = rank < quota
    chosen &= eligible
    nodes = out["node"].to_numpy(dtype=object).copy()
    nodes[chosen] = np.array(h.nodes, dtype=object)[parent[chosen]]
    out["node"] = nodes
    out.attrs = {**manifest.attrs, "coarsen": {"fraction": float(fraction), "seed": int(seed),
                                               "n_relabelled": int(chosen.sum())}}
    return out
