"""``hierwbc adapt``: a classifier adapted to a user's lab from a few labelled cells of it.

    >>> path = adapt("my_labelled_cells/", model="hierwbc-tiny8-pbc-hierce", out="my_lab.safetensors")  # doctest: +SKIP
    >>> adata = hierwbc.predict("my_new_cells/", model="my_lab.safetensors")                            # doctest: +SKIP

The labelled cells (a folder of class folders, a manifest CSV: :mod:`hierwbc.reference`) are
embedded with ``model``; the adapted file holds the base model's tensors as they are, the
reference cells' features (``reference.X`` [n, D] float32) and node labels
(``reference.y`` [n] int64, indices in the tree stored with it), and metadata: ``adapted_from``
(the base model), ``adapt_method`` (the few-shot classifier predict fits on those features:
``logreg`` or ``knn``), ``reference_counts`` ({node: cells}), ``colour_mean`` (the mean
colour statistics of the lab's images, :func:`hierwbc.datasets.stain.color_features`) and
``reference_estimate`` (:func:`reference_estimate`: how well the adapted classifier, and the
base model as it is, call the labelled cells, cross-validated). Predicting with it equals
predicting with the reference and the base model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .callable_module import make_callable
from .deprecation import renamed_keywords
from .hierarchy import Hierarchy

METHODS = ("logreg", "knn")


def _right(h: Hierarchy, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``[n]`` bool: each predicted node (index, -1: none) lies at or under the true node."""
    return (pred >= 0) & h.ancestors[np.maximum(pred, 0), true]


def _balanced(right: np.ndarray, true: np.ndarray) -> float:
    """Mean over the true classes of the share of their cells called right."""
    _, cls = np.unique(true, return_inverse=True)
    return float((np.bincount(cls, weights=right) / np.bincount(cls)).mean())


def reference_estimate(X, y, h: Hierarchy, method: str = "logreg", node_proba=None, head_hierarchy=None,
                       n_splits: int = 5, seed: int = 0) -> dict | None:
    """How well the labelled cells themselves are called, before any new cell is:

    - ``balanced_accuracy``: stratified ``min(n_splits, smallest class)``-fold cross-validation of
      the classifier predict fits (``logreg``, or ``knn`` with predict's k) on ``X [n, D]`` with
      node labels ``y [n]`` (indices in ``h``), trained on the other folds;
    - ``base_balanced_accuracy``: the base model's own leaf call (argmax of the leaves of
      ``node_proba [n, N]``, columns of ``head_hierarchy``), no labels used; None without a head.

    A call is right when the predicted node lies at or under the cell's label; both are the mean
    over the labelled classes of the share right. None when a class has a single cell (no fold
    can both train and test it). Each labelled image counts as a cell of its own: several crops
    of one cell among them make the adapted figure optimistic.
    """
    from .evaluate.folds import stratified_folds
    from .evaluate.probes import run_probes
    from .predict.reference_transfer import REFERENCE_K

    y = np.asarray(y, np.int64)
    smallest = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
    if smallest < 2 or len(np.unique(y)) < 2:
        return None
    folds = min(n_splits, smallest)
    probe = "logreg" if method == "logreg" else f"{min(REFERENCE_K, len(y) - len(y) // folds)}nn"
    res = run_probes(np.asarray(X, np.float32), y, stratified_folds(y, folds, seed), probes=(probe,))[probe]
    out = {"method": method, "folds": folds, "cells": len(y),
           "balanced_accuracy": round(_balanced(_right(h, res.pred, y), y), 4), "base_balanced_accuracy": None}
    if node_proba is not None and head_hierarchy is not None:
        leaves = head_hierarchy.indices(head_hierarchy.leaves)
        called = np.asarray(head_hierarchy.leaves)[np.asarray(node_proba)[:, leaves].argmax(1)]
        pred = np.array([h.node_index.get(str(leaf), -1) for leaf in called], np.int64)
        out["base_balanced_accuracy"] = round(_balanced(_right(h, pred, y), y), 4)
    return out


@renamed_keywords(labelled="labeled")
def adapt(labeled, model=None, out: str | os.PathLike = "adapted.safetensors", label_map=None,
          method: str = "logreg", hierarchy: Hierarchy | None = None, progress: bool = True) -> Path:
    """Write the adapted classifier (module docstring) and return its path."""
    from .datasets.images import load_image
    from .datasets.manifest import boxes
    from .datasets.stain import color_features
    from .hierarchy import default_hierarchy
    from .models.registry import create_model, default_classifier
    from .models.shipped import read_weights, resolve_weights, save_weights
    from .reference import embedded_reference, reference_manifest

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    model = default_classifier() if model is None else model
    base = create_model(model)
    h = hierarchy or base.head_hierarchy or default_hierarchy()
    manifest = reference_manifest(labeled, h, label_map)
    emb = embedded_reference(base, manifest, h, progress=progress)
    y = h.indices(emb.obs["node"].astype(str))
    estimate = reference_estimate(emb.obsm["X_cls"], y, h, method, emb.obsm.get("node_proba"), base.head_hierarchy)
    tensors, meta = read_weights(resolve_weights(model))
    colors = np.mean([color_features(load_image(p, b if not np.isnan(b).all() else None))
                       for p, b in zip(manifest["path"], boxes(manifest))], axis=0)
    tensors = {**tensors, "reference.X": torch.as_tensor(np.asarray(emb.obsm["X_cls"], np.float32)),
               "reference.y": torch.as_tensor(y, dtype=torch.int64)}
    counts = manifest["node"].value_counts().sort_index().to_dict()
    meta = {**meta, "adapted_from": str(model), "adapt_method": method, "reference_counts": counts,
            "reference_hierarchy": h.to_json(), "colour_mean": [round(float(c), 6) for c in colors],
            "reference_estimate": estimate}
    return save_weights(tensors, out, meta, dtype=None)


def estimate_of(adapted) -> dict | None:
    """The ``reference_estimate`` stored in an adapted file (None: none could be made)."""
    from .models.shipped import read_metadata

    return json.loads(read_metadata(adapted).get("reference_estimate", "null"))


def estimate_line(estimate: dict | None) -> str:
    """What the cross-validated estimate (:func:`reference_estimate`) says, in a line."""
    if estimate is None:
        return "no estimate: a class has a single labelled cell (label two or more per class to get one)"
    line = (f"on your labelled cells ({estimate['folds']}-fold cross-validation): adapted "
            f"{100 * estimate['balanced_accuracy']:.1f} % balanced accuracy")
    base = estimate.get("base_balanced_accuracy")
    if base is None:
        return line
    line += f"; the base model as it is, no labels used: {100 * base:.1f} %"
    if base > estimate["balanced_accuracy"]:
        line += (". The base model calls these cells better than the adapted one: predict without it, or label "
                 "more cells per class")
    return line


__all__ = ["METHODS", "adapt", "estimate_line", "estimate_of", "reference_estimate"]

make_callable(__name__, adapt)
