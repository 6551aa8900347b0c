"""k-nearest-neighbour probe: one chunked distance matrix serves every k.

Distance: Euclidean on the features as given (the caller standardises on the training part;
:mod:`.probes`), as DinoBloom's evaluation (Koch et al. 2024, sklearn ``KNeighborsClassifier``
defaults: Minkowski p=2, uniform votes), or cosine (``metric="cosine"``: rows L2-normalised
first, so the Euclidean order is the cosine order). Votes are uniform; a tie in votes goes to
the tied class whose nearest training member is closest (sklearn gives it to the smallest
label), so 1-NN and k-NN agree with sklearn wherever no tie occurs.

Class scores: ``proba`` = vote fractions [m, C] (sum to 1; used for back-off), ``rank`` =
votes + a tie-break in [0, 0.5] that decreases with the distance to the class's nearest training
member [m, C] (orders every class, so ``hdist@k`` is defined even for 1-NN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class KnnOutput:
    """Per k: ``pred`` [m] node indices, ``proba`` [m, C], ``rank`` [m, C]; columns = ``classes``."""

    classes: np.ndarray
    pred: dict[int, np.ndarray]
    proba: dict[int, np.ndarray]
    rank: dict[int, np.ndarray]


def knn_predict(X_train, y_train, X_test, ks=(1, 20), metric: str = "euclidean",
                chunk: int = 1024, dtype: torch.dtype = torch.float32) -> KnnOutput:
    """Predict ``X_test`` [m, D] from ``X_train`` [n, D] with node labels ``y_train`` [n].

    The squared distances of a chunk of ``chunk`` test rows to all training rows are one matrix
    product; the ``max(ks)`` nearest are taken once and each k votes on a prefix of them.
    """
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine', not {metric!r}")
    y_train = np.asarray(y_train, dtype=np.int64)
    classes, ycls = np.unique(y_train, return_inverse=True)
    n_cls = len(classes)
    xtr = torch.as_tensor(np.asarray(X_train), dtype=dtype)
    xte = torch.as_tensor(np.asarray(X_test), dtype=dtype)
    if xtr.ndim != 2 or xte.ndim != 2 or xtr.shape[1] != xte.shape[1] or len(xtr) != len(y_train):
        raise ValueError(f"shapes do not fit: X_train {tuple(xtr.shape)}, y_train {y_train.shape}, "
                         f"X_test {tuple(xte.shape)}")
    if len(xtr) == 0:
        raise ValueError("kNN needs at least one training sample")
    if metric == "cosine":
        xtr = torch.nn.functional.normalize(xtr, dim=1)
        xte = torch.nn.functional.normalize(xte, dim=1)
    ks = tuple(int(k) for k in ks)
    kmax = min(max(ks), len(xtr))
    order = np.argsort(ycls, kind="stable")  # training rows grouped by class: per-class minima
    xtr = xtr[torch.as_tensor(order)]         # become contiguous segment reductions
    ycls_t = torch.as_tensor(ycls[order])
    starts = np.searchsorted(ycls[order], np.arange(n_cls))
    sq_tr = (xtr * xtr).sum(1)
    m = len(xte)
    pred = {k: np.empty(m, np.int64) for k in ks}
    proba = {k: np.empty((m, n_cls), np.float32) for k in ks}
    rank = {k: np.empty((m, n_cls), np.float32) for k in ks}
    with torch.no_grad():
        for s in range(0, m, chunk):
            q = xte[s:s + chunk]
            # squared distance up to the per-row constant |q|^2 (changes no order within a row)
            d2 = torch.addmm(sq_tr[None], q, xtr.T, alpha=-2)
            labels = ycls_t[d2.topk(kmax, dim=1, largest=False, sorted=True).indices]
            near = torch.from_numpy(np.minimum.reduceat(d2.numpy(), starts, axis=1))  # [c, C]
            lo, hi = near.amin(1, keepdim=True), near.amax(1, keepdim=True)
            tiebreak = 0.5 * (1 - (near - lo) / (hi - lo + 1e-12))  # in [0, 0.5]: larger for closer classes
            for k in ks:
                kk = min(k, kmax)
                votes = torch.zeros(len(q), n_cls, dtype=dtype).scatter_add_(
                    1, labels[:, :kk], torch.ones(len(q), kk, dtype=dtype))
                r = votes + tiebreak
                pred[k][s:s + len(q)] = classes[r.argmax(1).numpy()]
                proba[k][s:s + len(q)] = (votes / kk).numpy()
                rank[k][s:s + len(q)] = r.numpy()
    return KnnOutput(classes=classes, pred=pred, proba=proba, rank=rank)
