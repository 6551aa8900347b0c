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

from ._blas import single_threaded_blas

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

    def take(self, idx) -> SampleStats:
        """The statistics of the samples at positions ``idx`` (same classes)."""
        kw = {f: getattr(self, f)[idx] for f in ("true", "pred", "true_class", "pred_class", "correct",
                                                  "shared", "true_depth", "pred_depth", "same_lineage",
                                                  "lca_height")}
        return SampleStats(classes=self.classes, hdist={k: v[idx] for k, v in self.hdist.items()}, **kw)

    @classmethod
    def compute(cls, hierarchy, y_true, y_pred, scores=None, score_classes=None,
                ks=(1, 5)) -> SampleStats:
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


def sample_weights(n: int, idx, weights) -> np.ndarray:
    """Sample multiplicities [R, n] from positions ``idx`` [R, m], explicit ``weights`` [R, n],
    or neither (all samples once)."""
    if weights is not None:
        w = np.asarray(weights)
        w = w if w.dtype in (np.float32, np.float64) else w.astype(np.float64)
        if w.ndim != 2 or w.shape[1] != n:
            raise ValueError(f"weights must be [R, {n}] sample multiplicities, got shape {w.shape}")
        return w
    if idx is None:
        return np.ones((1, n))
    idx = np.asarray(idx)
    if idx.ndim != 2:
        raise ValueError(f"idx must be [R, m] positions, got shape {idx.shape}")
    flat = (np.arange(len(idx))[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=len(idx) * n).reshape(len(idx), n).astype(np.float64)


def _columns(stats: SampleStats) -> np.ndarray:
    """[n, 3K + 8 + len(hdist)] per-sample columns whose weighted sums give every metric."""
    k = len(stats.classes)
    eye = np.eye(k)
    t1, p1 = eye[stats.true_class], eye[stats.pred_class]
    cols = [t1 * stats.correct[:, None], t1, p1,
            np.stack([stats.correct, stats.shared, stats.pred_depth, stats.true_depth, stats.same_lineage,
                      stats.lca_height, ~stats.correct, np.ones(len(stats))], 1)]
    cols += [v[:, None] for v in stats.hdist.values()]
    return np.concatenate(cols, 1).astype(np.float64)


def reduce_metrics(stats: SampleStats, idx: np.ndarray | None = None,
                   weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` (and ``hdist@k``) over a weighting of the samples.

    ``idx``: int positions [R, m] (one row per resample), or ``weights``: multiplicities [R, n]
    (a CV fold is an indicator row; a bootstrap resample the number of draws of each sample);
    neither: all samples once, and the values are 0-d arrays, else [R] arrays. float32 weights
    make the sums float32 (exact for integer columns up to 2^24). Every metric is
    a ratio of weighted sums, all obtained at once as ``weights @ columns`` (no loop over samples
    or resamples).
    """
    single = idx is None and weights is None
    if single:
        s = _columns(stats).sum(0, keepdims=True)  # [1, F]
    else:
        w = sample_weights(len(stats), idx, weights)
        with single_threaded_blas():  # a threaded GEMM of this shape can stall (see _blas)
            s = (w @ _columns(stats).astype(w.dtype)).astype(np.float64)  # [R, F] (in the weights' precision)
    k = len(stats.classes)
    tp, n_true, n_pred = s[:, :k], s[:, k:2 * k], s[:, 2 * k:3 * k]
    correct, shared, pred_depth, true_depth, same_lin, lca_h, mistakes, count = s[:, 3 * k:3 * k + 8].T
    present = n_true > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        hp, hr = shared / pred_depth, shared / true_depth
        out = {
            "accuracy": correct / count,
            "balanced_accuracy": np.where(present, tp / np.where(present, n_true, 1), 0).sum(1) / present.sum(1),
            "weighted_f1": (2 * tp * n_true / np.maximum(n_true + n_pred, 1)).sum(1) / count,
            "hierarchical_precision": np.nan_to_num(hp, nan=0.0),
            "hierarchical_recall": np.nan_to_num(hr, nan=0.0),
            "hierarchical_f1": np.nan_to_num(2 * hp * hr / (hp + hr), nan=0.0),
            "lineage_accuracy": same_lin / count,
            "mistake_severity": np.where(mistakes > 0, lca_h / np.maximum(mistakes, 1), np.nan),
        }
    for j, kk in enumerate(stats.hdist):
        out[f"hdist@{kk}"] = s[:, 3 * k + 8 + j] / count
    return {key: (v[0] if single else v) for key, v in out.items()}


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

    ``X`` [n, D] embeddings (standardize first if wanted), ``y`` [n] node indices. Classes with
    fewer than ``min_count`` samples are left out. NaN when fewer than 3 classes (2 pairs) remain
    or either distance is constant.
    """
    X = np.asarray(X, dtype=np.float64)
    y = _as_nodes(y, len(hierarchy.depth), "y")
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    order = np.argsort(inv, kind="stable")
    sums = np.add.reduceat(X[order], np.concatenate([[0], np.cumsum(counts)[:-1]]), axis=0)  # [K, D]
    keep = counts >= min_count
    cent = sums[keep] / counts[keep, None]
    classes = classes[keep]
    iu = np.triu_indices(len(classes), k=1)
    if len(iu[0]) < 2:
        return float("nan"), len(iu[0])
    sq = (cent ** 2).sum(1)
    d_emb = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * cent @ cent.T, 0))[iu]
    d_tree = hierarchy.tree_distance[np.ix_(classes, classes)][iu]
    if np.ptp(d_tree) == 0 or np.ptp(d_emb) == 0:
        return float("nan"), len(iu[0])
    return float(spearmanr(d_tree, d_emb).statistic), len(iu[0])
