"""From node probabilities to calls: the per-cell table (predicted leaf, back-off node, lineage,
top 3), the leaf order of classes of any precision, and the scores against known labels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..deprecation import renamed_attributes
from ..evaluate.backoff import backoff_predict
from ..hierarchy import Hierarchy
from ..models.checkpoints import CheckpointError

TOP = 3


def predictions(hierarchy: Hierarchy, node_proba, threshold: float = 0.8, leaf_score=None) -> pd.DataFrame:
    """Per-cell table from node probabilities [n, N] (see the module docstring); ``leaf_score``
    [n, L] orders the leaves (default: their node probabilities; ties: leaf order)."""
    h = hierarchy
    p = np.asarray(node_proba, dtype=np.float64)
    leaves = np.asarray(h.leaf_nodes)
    score = p[:, leaves] if leaf_score is None else np.asarray(leaf_score, dtype=np.float64)
    order = np.argsort(-score, axis=1, kind="stable")[:, :TOP]
    top = leaves[order]  # [n, TOP] node indices
    rows = np.arange(len(p))[:, None]
    leaf = top[:, 0]
    on_path = h.ancestors[leaf]  # [n, N]: the leaf and its ancestors
    back = backoff_predict(h, np.where(on_path, p, -1.0), threshold)
    lineage = h.lineage[leaf]
    names = np.asarray(h.nodes, dtype=object)
    out = {"pred_leaf": names[leaf], "pred_leaf_proba": p[rows[:, 0], leaf],
           "backoff_node": names[back], "backoff_proba": p[rows[:, 0], back],
           "lineage": names[lineage], "lineage_proba": p[rows[:, 0], lineage]}
    for j in range(top.shape[1]):
        out[f"top{j + 1}_leaf"] = names[top[:, j]]
        out[f"top{j + 1}_proba"] = p[rows[:, 0], top[:, j]]
    return pd.DataFrame(out)


def scores(h: Hierarchy, table: pd.DataFrame, truth: np.ndarray) -> dict:
    lab = truth != ""
    if not lab.any():
        return {"n_labelled": 0}
    t = h.indices(truth[lab])
    leaf = h.indices(table["pred_leaf"].to_numpy()[lab])
    back = h.indices(table["backoff_node"].to_numpy()[lab])
    a = h.ancestors
    return {"n_labelled": int(lab.sum()),
            "leaf_accuracy": float(a[leaf, t].mean()),  # the leaf is the label or lies below a coarse one
            "leaf_exact_accuracy": float((leaf == t).mean()),
            "backoff_accuracy": float((a[t, back] | a[back, t]).mean()),  # on one root path
            "backoff_exact_accuracy": float((back == t).mean()),
            "backoff_mean_depth": float(h.depth[back].mean())}


LEAF_BELOW = 1e-6  # a leaf known only through a coarser class scores just below that class


def class_leaf_score(hierarchy: Hierarchy, class_score, classes) -> np.ndarray:
    """Leaf order ``[m, L]`` from scores of classes ``[m, C]`` (node indices ``classes``, any
    precision): a leaf that is a class scores as that class; a leaf that is none scores as its
    deepest class ancestor minus :data:`LEAF_BELOW` (a cell labelled only ``granulocytic_mature``
    in the reference calls a leaf under it); -1 for leaves under no class."""
    h = hierarchy
    class_score = np.asarray(class_score, dtype=np.float64)
    classes = np.asarray(classes, dtype=np.int64)
    score = np.full((len(class_score), len(h.leaves)), -1.0)
    order = np.argsort(h.depth[classes], kind="stable")  # shallow first: deeper classes overwrite
    for c in order:  # one pass per class, vectorised over cells
        under = h.membership[classes[c]]
        own = h.is_leaf[classes[c]]
        score[:, under] = class_score[:, c:c + 1] - (0.0 if own else LEAF_BELOW)
    return score


def recentered(X: np.ndarray, provenance: dict, model) -> np.ndarray:
    """``X - mean(X) + feature_mean`` (``[n, D]``; see ``recenter`` of :func:`predict`)."""
    if not provenance.get("feature_mean"):
        raise CheckpointError(f"model {str(model)!r} records no training feature mean (metadata 'feature_mean'): "
                              "recentre needs one (hierwbc.baselines.train.stamp_feature_mean)")
    mean = np.asarray(json.loads(provenance["feature_mean"]), dtype=np.float32)
    if mean.shape != (X.shape[1],):
        raise CheckpointError(f"model {str(model)!r}: feature_mean has {mean.size} values, its features {X.shape[1]}")
    return (X - X.mean(0, keepdims=True) + mean).astype(np.float32)

__getattr__ = renamed_attributes(__name__, {"recentred": "recentered"})
