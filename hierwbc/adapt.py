"""``hierwbc adapt``: a classifier adapted to a user's lab from a few labelled cells of it.

    >>> path = adapt("my_labelled_cells/", model="hierwbc-tiny8-pbc-hierce", out="my_lab.safetensors")  # doctest: +SKIP
    >>> adata = hierwbc.predict("my_new_cells/", model="my_lab.safetensors")                            # doctest: +SKIP

The labelled cells (a folder of class folders, a manifest CSV: :mod:`hierwbc.reference`) are
embedded with ``model``; the adapted file holds the base model's tensors as they are, the
reference cells' features (``reference.X`` [n, D] float32) and node labels
(``reference.y`` [n] int64, indices in the tree stored with it), and metadata: ``adapted_from``
(the base model), ``adapt_method`` (the few-shot classifier predict fits on those features:
``logreg`` or ``knn``), ``reference_counts`` ({node: cells}) and ``colour_mean`` (the mean
colour statistics of the lab's images, :func:`hierwbc.datasets.stain.colour_features`).
Predicting with it equals predicting with the reference and the base model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .hierarchy import Hierarchy

METHODS = ("logreg", "knn")


def adapt(labelled, model=None, out: str | os.PathLike = "adapted.safetensors", label_map=None,
          method: str = "logreg", hierarchy: Hierarchy | None = None, progress: bool = True) -> Path:
    """Write the adapted classifier (module docstring) and return its path."""
    from .datasets.images import load_image
    from .datasets.manifest import boxes
    from .datasets.stain import colour_features
    from .models.shipped import read_weights, resolve_weights, save_weights
    from .predict import _model_hierarchy_or_default, default_model
    from .reference import embedded_reference, reference_manifest

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    model = default_model() if model is None else model
    h = hierarchy or _model_hierarchy_or_default(model)
    manifest = reference_manifest(labelled, h, label_map)
    emb = embedded_reference(model, manifest, h, progress=progress)
    tensors, meta = read_weights(resolve_weights(model))
    colours = np.mean([colour_features(load_image(p, b if not np.isnan(b).all() else None))
                       for p, b in zip(manifest["path"], boxes(manifest))], axis=0)
    tensors = {**tensors, "reference.X": torch.as_tensor(np.asarray(emb.obsm["X_cls"], np.float32)),
               "reference.y": torch.as_tensor(h.indices(emb.obs["node"].astype(str)), dtype=torch.int64)}
    counts = manifest["node"].value_counts().sort_index().to_dict()
    meta = {**meta, "adapted_from": str(model), "adapt_method": method, "reference_counts": counts,
            "reference_hierarchy": h.to_json(), "colour_mean": [round(float(c), 6) for c in colours]}
    return save_weights(tensors, out, meta, dtype=None)


def add_adapt_arguments(p) -> None:
    p.add_argument("labelled", help="labelled cells of your lab: a folder of class folders or a manifest CSV")
    p.add_argument("--model", default=None, help="base model (default: predict's default classifier)")
    p.add_argument("--out", required=True, help="the adapted classifier (.safetensors), for predict --model")
    p.add_argument("--label-map", default=None,
                   help="for folders not named after tree nodes: a label map of the hierarchy or a YAML / JSON file")
    p.add_argument("--method", choices=METHODS, default="logreg", help="few-shot classifier on the features")
    p.add_argument("--no-progress", action="store_true")


def adapt_main(args) -> Path:
    from .models.shipped import read_metadata

    path = adapt(args.labelled, args.model, args.out, args.label_map, args.method, progress=not args.no_progress)
    counts = json.loads(read_metadata(path)["reference_counts"])
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB): {sum(counts.values())} reference cells, {counts}")
    return path


__all__ = ["METHODS", "adapt"]
