"""``hierwbc adapt``: a classifier adapted to a user's lab from a few labelled cells of it.

    >>> path = adapt("my_labelled_cells/", model="hierwbc-tiny8-pbc-hierce", out="my_lab.safetensors")  # doctest: +SKIP
    >>> adata = hierwbc.predict("my_new_cells/", model="my_lab.safetensors")                            # doctest: +SKIP

The labelled cells (a folder of class folders, a manifest CSV: :mod:`hierwbc.reference`) are
embedded with ``model``; the adapted file holds the base model's tensors as they are, the
reference cells' features (``reference.X`` [n, D] float32) and node labels
(``reference.y`` [n] int64, indices in the tree stored with it), and metadata: ``adapted_from``
(the base model), ``adapt_method`` (the few-shot classifier predict fits on those features:
``logreg`` or ``knn``), ``reference_counts`` ({node: cells}) and ``colour_mean`` (the mean
colour statistics of the lab's images, :func:`hierwbc.datasets.stain.color_features`).
Predicting with it equals predicting with the reference and the base model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .callable_module import make_callable
from .deprecation import renamed_keywords
from .hierarchy import Hierarchy

METHODS = ("logreg", "knn")


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
    h = hierarchy or create_model(model).head_hierarchy or default_hierarchy()
    manifest = reference_manifest(labeled, h, label_map)
    emb = embedded_reference(model, manifest, h, progress=progress)
    tensors, meta = read_weights(resolve_weights(model))
    colors = np.mean([color_features(load_image(p, b if not np.isnan(b).all() else None))
                       for p, b in zip(manifest["path"], boxes(manifest))], axis=0)
    tensors = {**tensors, "reference.X": torch.as_tensor(np.asarray(emb.obsm["X_cls"], np.float32)),
               "reference.y": torch.as_tensor(h.indices(emb.obs["node"].astype(str)), dtype=torch.int64)}
    counts = manifest["node"].value_counts().sort_index().to_dict()
    meta = {**meta, "adapted_from": str(model), "adapt_method": method, "reference_counts": counts,
            "reference_hierarchy": h.to_json(), "colour_mean": [round(float(c), 6) for c in colors]}
    return save_weights(tensors, out, meta, dtype=None)


__all__ = ["METHODS", "adapt"]

make_callable(__name__, adapt)
