"""The paper's probes on frozen embeddings: k-NN (``"1nn"``, ``"20nn"``, any ``"<k>nn"``) and
logistic regression (``"logreg"``), out-of-fold over a split (:mod:`.folds`).

Features are standardised with the mean and standard deviation of each fold's training part
(as sklearn's ``StandardScaler`` fitted on it). Classes are the node indices occurring in the
labels (a dataset's own precision: internal nodes are classes like any other). Every probe
returns, for each tested sample, a predicted node, class probabilities (``proba``) and class
ranking scores (``rank``, for ``hdist@k``); see :mod:`.knn` and :mod:`.logreg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from ..deprecation import renamed_attributes
from .knn import knn_predict
from .logreg import fit_predict_logreg

#: The paper's probes (Sec. 2.4.2, 3.1).
PROBES = ("1nn", "20nn", "logreg")
_KNN = re.compile(r"(\d+)nn")


@dataclass(frozen=True)
class ProbeResult:
    """Out-of-fold output of one probe over n samples and C classes (node indices ``classes``).

    ``pred`` [n] node index (-1 for train-only samples), ``proba`` [n, C] and ``rank`` [n, C]
    (NaN rows for train-only samples).
    """

    probe: str
    classes: np.ndarray
    pred: np.ndarray
    proba: np.ndarray
    rank: np.ndarray


def parse_probe(name: str) -> int | None:
    """k of a ``"<k>nn"`` probe, None for ``"logreg"``; anything else raises."""
    m = _KNN.fullmatch(name)
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    if name == "logreg":
        return None
    raise ValueError(f"unknown probe {name!r}: use '<k>nn' (e.g. '1nn', '20nn') or 'logreg'")


def standardize(X: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """``(X - mean) / std`` with the statistics of the rows ``train`` (bool [n]); constant
    features keep scale 1 (as ``StandardScaler``)."""
    var, mu = torch.var_mean(X[train], dim=0, correction=0)
    sd = var.sqrt()
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    return (X - mu) / sd


def run_probes(X, y, fold, probes=PROBES, knn_metric: str = "euclidean", C: float | None = None,
               chunk: int = 1024, dtype: torch.dtype = torch.float32) -> dict[str, ProbeResult]:
    """Run ``probes`` on embeddings ``X`` [n, D] with node labels ``y`` [n] over fold ids ``fold`` [n].

    k-NN: one distance matrix per fold serves every k. Logistic regression: every fold in one
    optimisation (:func:`~hierwbc.evaluate.logreg.fit_predict_logreg`, inverse penalty ``C``).
    """
    y = np.asarray(y, dtype=np.int64)
    fold = np.asarray(fold, dtype=np.int64)
    X = np.asarray(X)
    if X.ndim != 2 or len(X) != len(y) or len(fold) != len(y):
        raise ValueError(f"X {X.shape}, y {y.shape} and fold {fold.shape} must describe the same samples")
    if not np.isfinite(X).all():
        raise ValueError(f"embeddings hold {int((~np.isfinite(X)).any(1).sum())} rows with NaN/inf")
    parsed = {p: parse_probe(p) for p in probes}
    classes = np.unique(y)
    n, n_cls = len(y), len(classes)
    out: dict[str, ProbeResult] = {}
    ks = sorted({k for k in parsed.values() if k is not None})
    if ks:
        pred = {k: np.full(n, -1, np.int64) for k in ks}
        proba = {k: np.full((n, n_cls), np.nan, np.float32) for k in ks}
        rank = {k: np.full((n, n_cls), np.nan, np.float32) for k in ks}
        xt = torch.as_tensor(X, dtype=dtype)
        for f in np.unique(fold[fold >= 0]):  # a handful of folds, not samples
            test = fold == f
            z = standardize(xt, torch.as_tensor(~test))
            res = knn_predict(z[torch.as_tensor(~test)], y[~test], z[torch.as_tensor(test)], ks=ks,
                              metric=knn_metric, chunk=chunk, dtype=dtype)
            cols = np.searchsorted(classes, res.classes)  # fold's training classes -> global columns
            for k in ks:
                pred[k][test] = res.pred[k]
                proba[k][np.ix_(test, cols)] = res.proba[k]
                rank[k][np.ix_(test, cols)] = res.rank[k]
                missing = np.setdiff1d(np.arange(n_cls), cols)  # classes the fold never saw
                proba[k][np.ix_(test, missing)] = 0.0
                rank[k][np.ix_(test, missing)] = -1.0
        for p, k in parsed.items():
            if k is not None:
                out[p] = ProbeResult(p, classes, pred[k], proba[k], rank[k])
    if "logreg" in parsed:
        lr = fit_predict_logreg(X, y, fold, C=C, dtype=dtype)
        tested = fold >= 0
        pred = np.full(n, -1, np.int64)
        pred[tested] = lr.classes[np.argmax(lr.proba[tested], axis=1)]
        out["logreg"] = ProbeResult("logreg", lr.classes, pred, lr.proba, lr.proba)
    return {p: out[p] for p in probes}

__getattr__ = renamed_attributes(__name__, {"standardise": "standardize"})
