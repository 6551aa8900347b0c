"""Label transfer from a labelled reference of the same model's embeddings: kNN votes (the
evaluate ``<k>nn`` probe with the reference as training fold) or a logistic regression, both
turned into node probabilities over the tree (classes may be internal nodes)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch

from ..datasets.manifest import BOX_COLUMNS, ManifestError
from ..evaluate.backoff import class_to_node_proba
from ..evaluate.knn import knn_predict
from ..evaluate.probes import standardize
from ..hierarchy import Hierarchy, default_hierarchy, hierarchy_from_uns
from .calls import class_leaf_score

REFERENCE_METHODS = ("knn", "logreg")
REFERENCE_K = 20  # neighbours of the reference k-NN vote


def reference_features(reference, use_rep: str, hierarchy: Hierarchy | None):
    name = "the reference AnnData" if isinstance(reference, ad.AnnData) else f"reference {str(reference)!r}"
    if isinstance(reference, ad.AnnData):
        ref = reference
    elif not Path(reference).is_file():
        raise FileNotFoundError(f"{name}: no such file (an .h5ad of labelled embeddings)")
    else:
        try:
            ref = ad.read_h5ad(reference)
        except (OSError, ValueError, KeyError) as e:
            raise ManifestError(f"{name}: not a readable .h5ad file ({type(e).__name__}: {e})") from e
    if use_rep not in ref.obsm or "node" not in ref.obs:
        raise ManifestError(f"{name} needs obsm[{use_rep!r}] and obs['node'] (has obsm {list(ref.obsm)}, "
                            f"obs {list(ref.obs.columns)})")
    h = hierarchy if hierarchy is not None else hierarchy_from_uns(ref.uns, "reference: uns['hierarchy']")
    h = h if h is not None else default_hierarchy()
    nodes = ref.obs["node"].astype(object).to_numpy()
    keep = pd.notna(nodes) & (nodes != "")
    if not keep.any():
        raise ManifestError(f"{name}: none of its {len(nodes)} cells has a label (obs['node'])")
    X = np.asarray(ref.obsm[use_rep])[keep]
    images = ref.obs.loc[keep, [c for c in ["path", *BOX_COLUMNS] if c in ref.obs]]
    return X, h.indices(nodes[keep]), h, dict(ref.uns.get("provenance", {})), images


def knn_node_proba(X_ref, y_ref, X, hierarchy: Hierarchy, k: int = REFERENCE_K, metric: str = "euclidean",
                   dtype: torch.dtype = torch.float32) -> tuple[np.ndarray, np.ndarray]:
    """``(node_proba [m, N], leaf_score [m, L])`` of cells ``X`` from the labelled reference
    (``y_ref`` node indices), as the evaluate ``<k>nn`` probe with the reference as training
    fold; ``leaf_score`` orders the leaves as the probe orders its classes (votes, then the
    nearest member), -1 for leaves that are no reference class."""
    xt = torch.as_tensor(np.concatenate([np.asarray(X_ref), np.asarray(X)]), dtype=dtype)
    train = torch.zeros(len(xt), dtype=torch.bool)
    train[:len(X_ref)] = True
    z = standardize(xt, train)
    res = knn_predict(z[train], y_ref, z[~train], ks=(k,), metric=metric, dtype=dtype)
    node_p = class_to_node_proba(hierarchy, res.proba[k], res.classes)
    return node_p, class_leaf_score(hierarchy, res.rank[k], res.classes)


def reference_logreg_proba(X_ref, y_ref, X, hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    """``(node_proba [m, N], leaf_score [m, L])`` of cells ``X`` from a logistic regression fitted
    on the reference (``y_ref`` node indices, any precision; :func:`~hierwbc.evaluate.logreg.fit_predict_logreg`
    with the reference as the training part): class probabilities spread to each class node and
    its ancestors (:func:`~hierwbc.evaluate.backoff.class_to_node_proba`); leaves ordered by
    :func:`class_leaf_score`."""
    from ..evaluate.logreg import fit_predict_logreg

    X_ref, X = np.asarray(X_ref, np.float32), np.asarray(X, np.float32)
    classes = np.unique(y_ref)
    if len(classes) < 2:
        proba = np.ones((len(X), 1))
    else:
        fold = np.r_[np.full(len(X_ref), -1), np.zeros(len(X), np.int64)]
        out = fit_predict_logreg(np.concatenate([X_ref, X]), np.r_[y_ref, np.full(len(X), classes[0])], fold)
        proba, classes = out.proba[len(X_ref):], out.classes
    return class_to_node_proba(hierarchy, proba, classes), class_leaf_score(hierarchy, proba, classes)
