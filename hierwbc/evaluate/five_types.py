"""The five-type score of a WBC classifier on cells from any lab.

Most labs type their WBCs only as the five of a differential count: neutrophil (band and
segmented), lymphocyte, monocyte, eosinophil, basophil (:data:`FIVE_TYPES`, tree nodes). A cell's
*type* is the one of them at or above its label; a call is right when the predicted node lies
at or under the cell's type (a predicted ``neutrophil_band`` for a ``neutrophil``; a call above
the type, e.g. ``granulocytic_mature``, is not right). Accuracy counts every typed cell;
balanced accuracy is the mean of the per-type recalls over the types with at least
``min_cells`` cells (BCCD has 2 basophils: too few to weigh as much as 202 neutrophils).

With ``groups`` (one id per row: LISC's crops of one cell), each cell counts once: a row
weighs ``1 / (rows of its group)``, so a cell's crops share one vote and ``n`` counts cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIVE_TYPES = ("neutrophil", "lymphoid_mature", "monocyte", "eosinophil", "basophil")
MIN_CELLS = 5


def five_type_index(hierarchy, nodes) -> np.ndarray:
    """``[n]`` int: position in :data:`FIVE_TYPES` of the type at or above each node, -1 for
    nodes under none of them (an erythroblast, an IG, the root) and for unknown names."""
    h = hierarchy
    idx = np.array([h.node_index.get(n, -1) if isinstance(n, str) else -1 for n in nodes], dtype=np.int64)
    types = h.indices(FIVE_TYPES)
    under = h.ancestors[np.maximum(idx, 0)][:, types] & (idx >= 0)[:, None]  # [n, 5]: type t is at/above
    return np.where(under.any(1), under.argmax(1), -1)


def five_type_scores(hierarchy, true_nodes, pred_nodes, min_cells: int = MIN_CELLS, groups=None) -> dict:
    """``{"accuracy", "balanced_accuracy", "n", "recall": {type: recall}, "n_per_type": {...}}``
    over the cells whose true label has a type (see the module docstring)."""
    truth = five_type_index(hierarchy, true_nodes)
    pred = hierarchy.indices(pred_nodes)
    types = hierarchy.indices(FIVE_TYPES)
    typed = truth >= 0
    right = np.zeros(len(truth), bool)
    right[typed] = hierarchy.ancestors[pred[typed], types[truth[typed]]]
    if groups is None:
        w = np.ones(len(truth))
    else:
        codes = pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str))[0]
        w = 1.0 / np.bincount(codes)[codes]
    mass = np.bincount(truth[typed], weights=w[typed], minlength=len(FIVE_TYPES))  # cells per type
    hits = np.bincount(truth[typed], weights=w[typed] * right[typed], minlength=len(FIVE_TYPES))
    recall = np.divide(hits, mass, out=np.full(len(FIVE_TYPES), np.nan), where=mass > 0)
    counts = np.round(mass).astype(np.int64)
    weighed = counts >= min_cells
    return {"accuracy": float(hits.sum() / mass.sum()) if typed.any() else float("nan"),
            "balanced_accuracy": float(recall[weighed].mean()) if weighed.any() else float("nan"),
            "n": int(counts.sum()), "recall": dict(zip(FIVE_TYPES, recall.tolist())),
            "n_per_type": dict(zip(FIVE_TYPES, counts.tolist()))}


def five_type_table(hierarchy, true_nodes, pred_nodes, min_cells: int = MIN_CELLS, groups=None) -> pd.DataFrame:
    """One row per type: ``type, n, recall, weighed`` (weighed: counted in the balanced accuracy)."""
    s = five_type_scores(hierarchy, true_nodes, pred_nodes, min_cells, groups)
    return pd.DataFrame({"type": FIVE_TYPES, "n": list(s["n_per_type"].values()),
                         "recall": list(s["recall"].values()),
                         "weighed": [c >= min_cells for c in s["n_per_type"].values()]})


__all__ = ["FIVE_TYPES", "MIN_CELLS", "five_type_index", "five_type_scores", "five_type_table"]
