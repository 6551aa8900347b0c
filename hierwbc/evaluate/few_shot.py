"""Few-shot adaptation curves: label ``k`` cells per type of a new lab, classify the rest.

For a set of embedded cells ``X [n, D]`` with their five-type index ``t [n]``
(:func:`~hierwbc.evaluate.five_types.five_type_index`) and optional cell groups (LISC's crops
of one cell), one *draw* picks, per type, ``min(k, floor(cells of the type / 2))`` whole cells
at random (a group's crops all go with it: no crop of a reference cell is ever scored), fits the
few-shot classifier on them and scores the five-type balanced accuracy of every other cell
(types with at least ``min_cells`` scored cells weigh equally). Classifiers:

- ``logreg``: multinomial logistic regression on features standardised on the reference
  (:func:`~hierwbc.evaluate.logreg.fit_predict_logreg`, DinoBloom's C);
- ``knn``: ``min(k_neighbors, reference size)`` nearest reference cells vote
  (:func:`~hierwbc.evaluate.knn.knn_predict`, the evaluate probe);
- ``prototype``: nearest class mean after standardising each side by its own statistics (the
  reference by the reference's mean and sd, the new cells by theirs: the new lab's feature
  statistics re-centre it; a user has those, never their labels);
- ``hierce``: a linear head on the standardised features trained with HierCE (Bertinetto et
  al. 2020, the package's :class:`~hierwbc.losses.HierCELoss`) over the tree cut down to the
  five types (:meth:`~hierwbc.hierarchy.Hierarchy.pruned_to`: neutrophil, eosinophil and
  basophil meet at ``granulocytic_mature``), edge weights ``exp(-alpha (depth - 1))`` (alpha
  0.5: the first edge below the root at cross-entropy's scale, deeper ones less), L2 as the
  logreg's (``||W||^2 / (2 C n)``, DinoBloom's C), L-BFGS; types absent from the reference are
  never called;
- ``prior`` (a classifier's features only): the model's own five-type probabilities as a fixed
  offset of a logistic regression on the features (:func:`prior_head_predict`): the zero-shot
  call, corrected by the labelled cells (transfer with the classifier as the prior).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..deprecation import renamed_keywords
from .five_types import FIVE_TYPES, MIN_CELLS

METHODS = ("logreg", "knn", "prototype", "hierce", "prior")
HIERCE_ALPHA = 0.5
ABSENT = -1e6  # the logit of a type the reference lacks (finite: a ring of absent types stays defined)
COLUMNS = ["set", "model", "method", "k", "draw", "balanced_accuracy", "accuracy", "n_reference", "n_scored"]


def draw_reference(types: np.ndarray, k: int, rng: np.random.Generator, groups=None) -> np.ndarray:
    """Boolean ``[n]``: the reference rows of one draw (module docstring); rows with type -1
    are never drawn."""
    types = np.asarray(types)
    cell = (np.arange(len(types)) if groups is None
            else pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str))[0])
    chosen = np.zeros(len(types), bool)
    for t in np.unique(types[types >= 0]):  # one pass per type (5), vectorised over cells
        cells = np.unique(cell[types == t])
        take = min(k, len(cells) // 2)
        if take:
            chosen |= np.isin(cell, rng.choice(cells, take, replace=False))
    return chosen & (types >= 0)  # a row of no type is never a reference, even in a drawn group


def _standardize(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (x - ref.mean(0)) / (ref.std(0) + 1e-6)


def five_type_tree(hierarchy=None):
    """The tree cut down to :data:`FIVE_TYPES` (the default tree when ``None``)."""
    from ..hierarchy import default_hierarchy

    return (hierarchy or default_hierarchy()).pruned_to(FIVE_TYPES)


def _fit_linear(zr: torch.Tensor, loss_of_logits, n_out: int, n_classes: int, offset_ref=None,
                max_iter: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W [D, n_out], b [n_out])`` minimising ``loss_of_logits(zr W + b (+ offset)) + ||W||^2 / (2 C n)``
    (the logreg's L2, DinoBloom's C for ``n_classes``; unpenalised bias) with L-BFGS, float64."""
    from .logreg import default_C

    lam = 1.0 / (2 * default_C(zr.shape[1], n_classes) * len(zr))
    W = torch.zeros(zr.shape[1], n_out, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_out, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, tolerance_grad=1e-7, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = zr @ W + b
        loss = loss_of_logits(logits if offset_ref is None else logits + offset_ref) + lam * (W ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def hierce_head_predict(ref: np.ndarray, y: np.ndarray, new: np.ndarray, tree, alpha: float = HIERCE_ALPHA,
                        max_iter: int = 200) -> np.ndarray:
    """Type index ``[m]`` of ``new`` from a linear HierCE head fitted on ``ref [r, D]`` with type
    indices ``y [r]`` (see the module docstring); ``tree`` from :func:`five_type_tree`."""
    from ..losses import HierCELoss

    zr = torch.as_tensor(_standardize(ref, ref), dtype=torch.float64)
    zn = torch.as_tensor(_standardize(new, ref), dtype=torch.float64)
    leaf_of_type = np.array([tree.leaf_index[t] for t in FIVE_TYPES])  # type index -> leaf column
    present = np.zeros(len(tree.leaves), bool)
    present[leaf_of_type[np.unique(y)]] = True
    mask = torch.as_tensor(~present)
    loss_fn = HierCELoss(tree, alpha=alpha, normalize=False).double()
    targets = torch.as_tensor(tree.indices(FIVE_TYPES)[y])
    W, b = _fit_linear(zr, lambda z: np.exp(alpha) * loss_fn(z.masked_fill(mask, ABSENT), targets),
                       len(tree.leaves), int(present.sum()), max_iter=max_iter)
    leaf = (zn @ W + b).masked_fill(mask, ABSENT).argmax(1).numpy()
    type_of_leaf = np.full(len(tree.leaves), -1)
    type_of_leaf[leaf_of_type] = np.arange(len(FIVE_TYPES))
    return type_of_leaf[leaf]


def prior_head_predict(ref: np.ndarray, y: np.ndarray, new: np.ndarray, prior_ref: np.ndarray,
                       prior_new: np.ndarray, max_iter: int = 200) -> np.ndarray:
    """Type index ``[m]`` of ``new``: the model's own five-type call corrected by the labelled
    cells. Logits ``log p0 + z V + c`` (``p0 [., 5]``: the model's probabilities of the five types,
    renormalised; ``z``: features standardised on the reference) with ``V``, ``c`` fitted by
    cross-entropy on the reference and the logreg's L2 on ``V``: no labelled cell gives the
    zero-shot call, many give a logistic regression that starts from it."""
    def log_prior(p):
        p = np.clip(np.asarray(p, np.float64), 1e-6, None)
        return torch.as_tensor(np.log(p / p.sum(1, keepdims=True)))

    zr = torch.as_tensor(_standardize(ref, ref), dtype=torch.float64)
    zn = torch.as_tensor(_standardize(new, ref), dtype=torch.float64)
    targets = torch.as_tensor(np.asarray(y))
    W, b = _fit_linear(zr, lambda z: torch.nn.functional.cross_entropy(z, targets), len(FIVE_TYPES),
                       len(np.unique(y)), offset_ref=log_prior(prior_ref), max_iter=max_iter)
    return (log_prior(prior_new) + zn @ W + b).argmax(1).numpy()


@renamed_keywords(k_neighbours="k_neighbors")
def few_shot_predict(X: np.ndarray, types: np.ndarray, reference: np.ndarray, method: str,
                     k_neighbors: int = 5, tree=None, prior: np.ndarray | None = None) -> np.ndarray:
    """Predicted type index of the rows outside ``reference`` ``[m]`` (``tree``: for ``hierce``,
    :func:`five_type_tree` of the default tree when ``None``; ``prior [n, 5]``: for ``prior``, the
    model's own probabilities of the five types for every row)."""
    from .knn import knn_predict
    from .logreg import fit_predict_logreg

    X = np.asarray(X, np.float32)
    ref, new = X[reference], X[~reference]
    y = types[reference]
    classes = np.unique(y)
    if len(classes) == 1:
        return np.full(len(new), classes[0])
    if method == "logreg":
        fold = np.r_[np.full(len(ref), -1), np.zeros(len(new), np.int64)]
        out = fit_predict_logreg(np.concatenate([ref, new]), np.r_[y, np.full(len(new), classes[0])], fold)
        return out.classes[out.proba[len(ref):].argmax(1)]
    if method == "knn":
        k = min(k_neighbors, len(ref))
        zr, zn = _standardize(ref, ref), _standardize(new, ref)
        res = knn_predict(torch.as_tensor(zr), y, torch.as_tensor(zn), ks=(k,))
        return res.pred[k]
    if method == "prototype":
        zr, zn = _standardize(ref, ref), _standardize(new, new)
        means = np.stack([zr[y == c].mean(0) for c in classes])
        d = ((zn[:, None, :] - means[None]) ** 2).sum(-1)
        return classes[d.argmin(1)]
    if method == "hierce":
        return hierce_head_predict(ref, y, new, tree if tree is not None else five_type_tree())
    if method == "prior":
        if prior is None:
            raise ValueError("method 'prior' needs the model's five-type probabilities (prior=)")
        return prior_head_predict(ref, y, new, prior[reference], prior[~reference])
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def adaptation_curve(X: np.ndarray, types: np.ndarray, ks=(1, 3, 5, 10, 20, 50), draws: int = 10,
                     methods=None, groups=None, seed: int = 0, set_name: str = "", model: str = "",
                     min_cells: int = MIN_CELLS, prior: np.ndarray | None = None,
                     custom: dict | None = None) -> pd.DataFrame:
    """One row per (method, k, draw): five-type balanced accuracy and accuracy of the scored
    cells (each cell once: group-weighted), and the numbers of reference and scored cells.
    ``methods`` default: every one of :data:`METHODS` the inputs allow (``prior`` needs ``prior``).
    ``custom``: ``{name: predict(reference [n] bool) -> type index [m] of the other rows}``,
    methods that need more than features (a fine-tune of the network), scored on the same draws;
    their rows are those of ``types >= 0``, in order."""
    if methods is None:
        methods = [m for m in METHODS if m != "prior" or prior is not None]
    types = np.asarray(types)
    keep = types >= 0
    X, types = np.asarray(X)[keep], types[keep]
    prior = None if prior is None else np.asarray(prior)[keep]
    groups = None if groups is None else np.asarray(groups, dtype=object)[keep]
    cell = (np.arange(len(types)) if groups is None
            else pd.factorize(pd.Series(groups).astype(str))[0])
    weight = 1.0 / np.bincount(cell)[cell]
    rows = []
    tree = five_type_tree() if "hierce" in methods else None
    for k in ks:
        for d in range(draws):
            ref = draw_reference(types, k, np.random.default_rng([seed, k, d]), groups)
            truth, w = types[~ref], weight[~ref]
            for method in [*methods, *(custom or {})]:
                pred = (custom[method](ref) if method in (custom or {}) else
                        few_shot_predict(X, types, ref, method, tree=tree, prior=prior))
                right = pred == truth
                mass = np.bincount(truth, weights=w, minlength=len(FIVE_TYPES))
                hits = np.bincount(truth, weights=w * right, minlength=len(FIVE_TYPES))
                weighed = mass >= min_cells
                rows.append({"set": set_name, "model": model, "method": method, "k": k, "draw": d,
                             "balanced_accuracy": float((hits[weighed] / mass[weighed]).mean()),
                             "accuracy": float(hits.sum() / mass.sum()),
                             "n_reference": len(np.unique(cell[ref])), "n_scored": round(float(mass.sum()))})
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["COLUMNS", "METHODS", "adaptation_curve", "draw_reference", "few_shot_predict", "five_type_tree",
           "hierce_head_predict", "prior_head_predict"]
