"""Hierarchical prediction with back-off (beyond the paper): say "immature granulocyte" rather
than a wrong "myelocyte".

Node probabilities [n, N] come from a supervised head (leaf probabilities summed up the tree:
``P(node) = sum of its leaves``, :func:`leaf_to_node_proba`) or from a probe's class
probabilities over classes that may be internal nodes (``P(node) = sum of the classes at or
below it``, :func:`class_to_node_proba`). Since P never increases going down a path, the nodes
with ``P >= threshold`` form a subtree containing the root; the back-off prediction is its
deepest node (ties in depth: the most probable). Threshold 1 keeps only what is certain (the
root when probabilities sum to 1); lower thresholds go deeper.

Scores of a back-off prediction p for a label t (:func:`backoff_curve`):

- ``accuracy``: p and t lie on one root path (p is t or an ancestor of t: right at the level
  it commits to; or p is below a coarse label t: not contradicted by it).
- ``exact_accuracy``: p == t.
- ``mean_depth``: mean depth of p (root 0). ``depth_coverage``: sum min(depth p, depth t) /
  sum depth t (1 when every prediction reaches its label's depth).
- ``hierarchical_f1``: as :mod:`.metrics` (partial credit for the shared ancestors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import SampleStats, reduce_metrics

#: From 0.5 up the nodes passing the threshold form a single root path.
DEFAULT_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def leaf_to_node_proba(hierarchy, leaf_proba) -> np.ndarray:
    """[n, L] leaf probabilities (columns = ``hierarchy.leaves``) -> [n, N] node probabilities."""
    leaf_proba = np.asarray(leaf_proba, dtype=np.float64)
    if leaf_proba.ndim != 2 or leaf_proba.shape[1] != len(hierarchy.leaves):
        raise ValueError(f"leaf probabilities must be [n, {len(hierarchy.leaves)}], got {leaf_proba.shape}")
    return leaf_proba @ hierarchy.membership.T


def class_to_node_proba(hierarchy, class_proba, classes) -> np.ndarray:
    """[n, C] probabilities of classes = node indices ``classes`` [C] -> [n, N] node probabilities.

    A class's mass counts for the class node and all its ancestors (``ancestors[c, j]``)."""
    class_proba = np.asarray(class_proba, dtype=np.float64)
    classes = np.asarray(classes, dtype=np.int64)
    if class_proba.ndim != 2 or class_proba.shape[1] != len(classes):
        raise ValueError(f"class probabilities must be [n, {len(classes)}], got {class_proba.shape}")
    return class_proba @ hierarchy.ancestors[classes].astype(np.float64)


def backoff_predict(hierarchy, node_proba, threshold: float) -> np.ndarray:
    """[n] node index: the deepest node with probability >= ``threshold`` (the root if none)."""
    p = np.asarray(node_proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(hierarchy.nodes):
        raise ValueError(f"node probabilities must be [n, {len(hierarchy.nodes)}], got {p.shape}")
    tol = 1e-6  # float sums: a certain node may read 0.9999999
    key = np.where(p >= threshold - tol, hierarchy.depth[None, :] * 2.0 + np.clip(p, 0, 1), -1.0)
    key[:, 0] = np.maximum(key[:, 0], 0.0)  # the root is always available
    return key.argmax(1)


def backoff_curve(hierarchy, node_proba, y_true, thresholds=DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Accuracy against coverage over ``thresholds``: one row per threshold with ``threshold,
    accuracy, exact_accuracy, mean_depth, depth_coverage, hierarchical_f1, n``."""
    t = np.asarray(y_true, dtype=np.int64)
    a = hierarchy.arrays
    rows = []
    for thr in thresholds:  # a few thresholds; each one is vectorised over samples
        p = backoff_predict(hierarchy, node_proba, thr)
        on_path = a.ancestors[t, p] | a.ancestors[p, t]
        stats = SampleStats.compute(hierarchy, t, p)
        rows.append({
            "threshold": float(thr), "accuracy": float(on_path.mean()), "exact_accuracy": float((p == t).mean()),
            "mean_depth": float(a.depth[p].mean()),
            "depth_coverage": float(np.minimum(a.depth[p], a.depth[t]).sum() / max(a.depth[t].sum(), 1)),
            "hierarchical_f1": float(reduce_metrics(stats)["hierarchical_f1"]), "n": len(t)})
    return pd.DataFrame(rows)
