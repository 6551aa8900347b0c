"""Flat and hierarchical classification metrics, computed from the hierarchy's arrays only.

Labels and predictions are NODE indices of a :class:`~hierwbc.hierarchy.Hierarchy` (a label
may be an internal node: a dataset labelled at a coarse level, or a back-off prediction).
Every metric is a ratio of per-sample sums (:class:`SampleStats`), so the point estimate and
the bootstrap (:mod:`.bootstrap`) share one code path: :func:`reduce_metrics` takes an index
matrix ``idx`` [R, m] of resampled positions and returns one value per resample.

Definitions (n samples, true node t_i, predicted node p_i, classes = the nodes occurring in
``y_true`` or ``y_pred``):

- ``accuracy``: mean of [p_i == t_i] (exact node match; a back-off ancestor is not a match).
- ``balanced_accuracy``: mean over the classes present in ``y_true`` of their recall (sklearn's
  ``balanced_accuracy_score(y_true, y_pred)``; classes only predicted are ignored).
- ``weighted_f1``: sum_c n_c F1_c / n with F1_c = 2 tp_c / (n_c + npred_c) and n_c the true count
  (sklearn's ``f1_score(..., average="weighted")``; classes absent from ``y_true`` weigh 0).
- ``hierarchical_precision`` / ``_recall`` / ``_f1`` (paper Sec. 2.4.2, Kiritchenko et al.):
  A_i = ancestors-or-self of node i by unique node index, root excluded, so |A_i| = depth(i) and
  |A_t ∩ A_p| = depth(lca(t, p)); hP = sum|A_t ∩ A_p| / sum|A_p|, hR = sum|A_t ∩ A_p| / sum|A_t|,
  hF1 = 2 hP hR / (hP + hR). Nodes with the same display label in different lineages (the
  "immature" of each lineage) are different nodes and share nothing.
- ``lineage_accuracy``: mean of [lineage(p_i) == lineage(t_i)] (depth-1 ancestor; a root
  prediction has no lineage and counts as wrong).
- ``mistake_severity`` (Bertinetto et al. 2020): mean of ``lca_height[t_i, p_i]`` over the
  mistakes (p_i != t_i); NaN when there is no mistake. The distribution is
  :func:`mistake_distribution`. ``lca_height`` counts edges from the LCA down to the deeper node.
- ``hdist@k`` (Bertinetto et al. 2020, "average hierarchical distance of the top-k"): mean over
  samples of the mean ``lca_height`` between t_i and each of the k highest-scored classes
  (k clipped to the number of scored classes); needs class scores.
- ``centroid_spearman``: Spearman correlation, over pairs of classes, between the tree distance
  (path length) and the Euclidean distance of the class centroids (:func:`centroid_spearman`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

#: Metrics computed from predictions (order of the tidy tables); ``hdist@k`` rows follow.
METRICS = ("accuracy", "balanced_accuracy", "weighted_f1", "hierarchical_precision",
           "hierarchical_recall", "hierarchical_f1", "lineage_accuracy", "mistake_severity")


def _as_nodes(a, n_nodes: int, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must be a 1-d integer array of node indices, got {a.dtype} {a.shape}")
    bad = (a < 0) | (a >= n_nodes)
    if bad.any():
        raise ValueError(f"{what} holds {int(bad.sum())} values outside the hierarchy's node "
                         f"indices 0..{n_nodes - 1} (first: {a[bad][0]}); drop unlabelled (-1) samples first")
    return a.astype(np.int64)


@dataclass(frozen=True)
class SampleStats:
    """Per-sample quantities (all [n]) from which every metric is a ratio of sums.

    ``classes`` [K]: sorted node indices occurring in ``true`` or ``pred``; ``true_class`` and
    ``pred_class`` index into it. ``hdist`` maps k to the per-sample mean top-k LCA height.
    """

    true: np.ndarray
    pred: np.ndarray
    classes: np.ndarray
    true_class: np.ndarray
    pred_class: np.ndarray
    correct: np.ndarray
    shared: np.ndarray
    true_depth: np.ndarray
    pred_depth: np.ndarray
    same_lineage: np.ndarray
    lca_height: np.ndarray
    hdist: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.true)

    def take(self, idx) -> "SampleStats":
        """The statistics of the samples at positions ``idx`` (same classes)."""
        kw = {f: getattr(self, f)[idx] for f in ("true", "pred", "true_class", "pred_class", "correct",
                                                  "shared", "true_depth", "pred_depth", "same_lineage",
                                                  "lca_height")}
        return SampleStats(classes=self.classes, hdist={k: v[idx] for k, v in self.hdist.items()}, **kw)

    @classmethod
    def compute(cls, hierarchy, y_true, y_pred, scores=None, score_classes=None,
                ks=(1, 5)) -> "SampleStats":
        """Per-sample statistics of predictions ``y_pred`` for labels ``y_true`` (node indices, [n]).

        ``scores`` [n, C] (optional): class scores, columns = node indices ``score_classes`` [C];
        gives ``hdist@k`` for each k in ``ks``.
        """
        a = hierarchy.arrays
        n_nodes = len(a.depth)
        t = _as_nodes(y_true, n_nodes, "y_true")
        p = _as_nodes(y_pred, n_nodes, "y_pred")
        if t.shape != p.shape:
            raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(p)}")
        classes, inv = np.unique(np.concatenate([t, p]), return_inverse=True)
        lin = a.lineage
        hdist = {}
        if scores is not None:
            hdist = hierarchical_distance_at_k(hierarchy, t, scores, score_classes, ks, per_sample=True)
        return cls(
            true=t, pred=p, classes=classes, true_class=inv[:len(t)], pred_class=inv[len(t):],
            correct=t == p, shared=a.depth[a.lca[t, p]], true_depth=a.depth[t], pred_depth=a.depth[p],
            same_lineage=(lin[t] == lin[p]) & (lin[t] >= 0), lca_height=a.lca_height[t, p], hdist=hdist,
        )


def _class_sums(rows: np.ndarray, cls_idx: np.ndarray, weights, n_cls: int) -> np.ndarray:
    """Per-resample, per-class sums: [R, K] from [R, m] class indices (one flat bincount)."""
    r = rows.shape[0]
    flat = (np.arange(r)[:, None] * n_cls + cls_idx).ravel()
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    return np.bincount(flat, weights=w, minlength=r * n_cls).reshape(r, n_cls)


def reduce_metrics(stats: SampleStats, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` (and ``hdist@k``) over the samples ``idx``.

    ``idx``: None (all samples; values are 0-d arrays) or int positions [R, m] (one row per
    resample; values are [R] arrays). No loop over samples or resamples.
    """
    single = idx is None
    idx = np.arange(len(stats))[None] if single else np.asarray(idx)
    if idx.ndim != 2:
        raise ValueError(f"idx must be [R, m] positions, got shape {idx.shape}")
    n_cls = len(stats.classes)
    g = lambda a: a[idx]  # noqa: E731  gather [R, m]
    correct = g(stats.correct)
    tcls = g(stats.true_class)
    n_true = _class_sums(idx, tcls, None, n_cls)
    tp = _class_sums(idx, tcls, correct, n_cls)
    n_pred = _class_sums(idx, g(stats.pred_class), None, n_cls)
    present = n_true > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(present, tp / np.maximum(n_true, 1), 0.0)
        f1 = np.where(present, 2 * tp / np.maximum(n_true + n_pred, 1), 0.0)
        m = idx.shape[1]
        shared = g(stats.shared).sum(1, dtype=np.float64)
        hp = shared / g(stats.pred_depth).sum(1)
        hr = shared / g(stats.true_depth).sum(1)
        mistakes = (~correct).sum(1)
        out = {
            "accuracy": correct.mean(1),
            "balanced_accuracy": recall.sum(1) / present.sum(1),
            "weighted_f1": (n_true * f1).sum(1) / m,
            "hierarchical_precision": np.nan_to_num(hp, nan=0.0),
            "hierarchical_recall": np.nan_to_num(hr, nan=0.0),
            "hierarchical_f1": np.nan_to_num(2 * hp * hr / (hp + hr), nan=0.0),
            "lineage_accuracy": g(stats.same_lineage).mean(1),
            "mistake_severity": np.where(mistakes > 0, g(stats.lca_height).sum(1) / np.maximum(mistakes, 1), np.nan),
        }
    for k, v in stats.hdist.items():
        out[f"hdist@{k}"] = g(v).mean(1)
    return {k: (v[0] if single else v) for k, v in out.items()}


def compute_metrics(hierarchy, y_true, y_pred, scores=None, score_classes=None, ks=(1, 5)) -> dict[str, float]:
    """All metrics for one set of predictions (node indices [n]); see the module docstring."""
    stats = SampleStats.compute(hierarchy, y_true, y_pred, scores, score_classes, ks)
    return {k: float(v) for k, v in reduce_metrics(stats).items()}


def hierarchical_distance_at_k(hierarchy, y_true, scores, score_classes, ks=(1, 5),
                               per_sample: bool = False):
    """Mean ``lca_height`` between the truth and each of the top-k scored classes.

    ``scores`` [n, C] with columns = node indices ``score_classes`` [C]; ties keep column order.
    Returns ``{k: value}`` (or ``{k: [n] per-sample values}`` with ``per_sample``).
    """
    scores = np.asarray(scores)
    score_classes = np.asarray(score_classes, dtype=np.int64)
    t = np.asarray(y_true, dtype=np.int64)
    if scores.ndim != 2 or scores.shape != (len(t), len(score_classes)):
        raise ValueError(f"scores must be [n={len(t)}, C={len(score_classes)}], got {scores.shape}")
    order = np.argsort(-scores, axis=1, kind="stable")
    heights = hierarchy.lca_height[t[:, None], score_classes[order]]  # [n, C], best first
    csum = np.cumsum(heights, axis=1, dtype=np.float64)
    out = {}
    for k in ks:
        kk = min(int(k), len(score_classes))
        if kk < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        v = csum[:, kk - 1] / kk
        out[int(k)] = v if per_sample else float(v.mean())
    return out


def mistake_distribution(hierarchy, y_true, y_pred) -> dict[int, int]:
    """Number of mistakes at each LCA height 1..(max possible): ``{height: count}``."""
    a = hierarchy.arrays
    h = a.lca_height[_as_nodes(y_true, len(a.depth), "y_true"), _as_nodes(y_pred, len(a.depth), "y_pred")]
    counts = np.bincount(h[h > 0], minlength=int(a.lca_height.max()) + 1)
    return {int(k): int(c) for k, c in enumerate(counts) if k > 0}


def centroid_spearman(hierarchy, X, y, min_count: int = 1) -> tuple[float, int]:
    """Spearman rho between tree distance and class-centroid Euclidean distance, and the pair count.

    ``X`` [n, D] embeddings (standardise first if wanted), ``y`` [n] node indices. Classes with
    fewer than ``min_count`` samples are left out. NaN when fewer than 3 classes (2 pairs) remain
    or either distance is constant.
    """
    X = np.asarray(X, dtype=np.float64)
    y = _as_nodes(y, len(hierarchy.depth), "y")
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    sums = np.zeros((len(classes), X.shape[1]))
    np.add.at(sums, inv, X)
    keep = counts >= min_count
    cent = sums[keep] / counts[keep, None]
    classes = classes[keep]
    iu = np.triu_indices(len(classes), k=1)
    if len(iu[0]) < 2:
        return float("nan"), int(len(iu[0]))
    sq = (cent ** 2).sum(1)
    d_emb = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * cent @ cent.T, 0))[iu]
    d_tree = hierarchy.tree_distance[np.ix_(classes, classes)][iu]
    if np.ptp(d_tree) == 0 or np.ptp(d_emb) == 0:
        return float("nan"), int(len(iu[0]))
    return float(spearmanr(d_tree, d_emb).statistic), int(len(iu[0]))
