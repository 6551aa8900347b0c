"""A user's labelled cells as a reference for ``predict`` and ``adapt``: read, embedded with the
model that will label the new cells, and cached.

A reference is

- a **folder** with one sub-folder per class (images at any depth below it). Sub-folder names
  that are tree nodes (``neutrophil``, ``lymphoid_mature``, ``granulocytic_mature`` ...) need no
  label map; other names need ``label_map`` (a label map of the hierarchy, e.g. ``"bccd"``, a
  dict, or a YAML / JSON file ``{folder name: node}``). Labels at any precision count: a cell
  known only as ``granulocytic_mature`` is a reference cell of that node.
- a **manifest CSV** (``path`` and ``node``, or ``raw_label`` with ``label_map``);
- an **AnnData / .h5ad** already embedded with the same model (obs ``node``, obsm ``X_cls``).

Errors name what is at fault: a sub-folder name that is no node (with the closest node names),
an empty class folder, an unreadable image; nothing is skipped silently.

An adapted classifier (:mod:`hierwbc.adapt`) carries its reference inside
(:func:`adapted_reference`).

Embedding a folder or CSV is cached under :func:`~hierwbc.datasets.location.cache_root`
``/references/``, keyed by the model file's SHA-256, the cells' files (paths, sizes, times,
boxes), the input size, the re-framing and the tree: the same reference is embedded once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from .datasets.cache import cache_key
from .datasets.images import validate
from .datasets.location import cache_root
from .datasets.manifest import ManifestError
from .datasets.read import read_dataset
from .datasets.readers.common import class_folders, scan_images
from .hierarchy import Hierarchy, hierarchy_to_uns
from .hierarchy.errors import did_you_mean


def _label_map(label_map) -> str | Mapping | None:
    if label_map is None or isinstance(label_map, Mapping):
        return label_map
    path = Path(str(label_map)).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
        with open(path) as f:
            values = yaml.safe_load(f)
        if not isinstance(values, dict):
            raise ManifestError(f"{path}: a label map file is a mapping {{folder name: node}}")
        return {str(k): v for k, v in values.items()}
    return str(label_map)


def reference_manifest(source, hierarchy: Hierarchy, label_map=None) -> pd.DataFrame:
    """The labelled cells of a reference folder or manifest CSV (module docstring), checked:
    every image decodes, no class folder is empty, every label is a node."""
    source = Path(source).expanduser().absolute()
    lm = _label_map(label_map)
    if source.is_dir():
        folders, _ = class_folders(source)
        if not folders:
            raise ManifestError(f"reference folder {str(source)!r} has no class sub-folders")
        for folder in folders:
            if not scan_images(folder, recursive=True)[0]:
                raise ManifestError(f"reference class folder {str(folder)!r} holds no image")
        if lm is None:
            unknown = [f.name for f in folders if f.name not in hierarchy]
            if unknown:
                hints = [f"{n!r}" + (f" ({hint})" if (hint := did_you_mean(n, hierarchy.nodes)) else "")
                         for n in unknown]
                raise ManifestError(f"reference folder {str(source)!r}: sub-folder(s) {', '.join(hints)} are not "
                                    "nodes of the tree; name the folders after nodes or give a label map "
                                    "(--reference-label-map)")
            lm = {f.name: f.name for f in folders}
        m = read_dataset("image_folder", source, hierarchy=hierarchy, label_map=lm, dataset="reference")
    elif source.is_file() and source.suffix.lower() == ".csv":
        m = read_dataset("csv", source, hierarchy=hierarchy, **({"label_map": lm} if lm is not None else {}))
    else:
        raise FileNotFoundError(f"reference {str(source)!r}: not a folder of class folders, a manifest CSV or an .h5ad")
    if m.empty:
        raise ManifestError(f"reference {str(source)!r}: no labelled cells")
    validate(m, progress=False, errors="raise", duplicates=False)
    return m.reset_index(drop=True)


def embedded_reference(model, manifest: pd.DataFrame, hierarchy: Hierarchy, img_size: int | None = None,
                       reframe: str | None = None, batch_size: int = 64, progress: bool = True,
                       cache_dir: str | os.PathLike | None = None) -> ad.AnnData:
    """``manifest`` embedded by ``model`` (obs ``node``, obsm ``X_cls``), from the cache when the
    same model, cells, size, re-framing and tree were embedded before."""
    from .embed import embed, write_h5ad
    from .models.registry import create_model

    model = create_model(model, img_size=img_size)  # loaded once; its file's SHA-256 keys the cache
    if not model.provenance.get("sha256"):
        raise TypeError(f"a reference is embedded by a model file or shipped name, not {model.source!r}")
    key = hashlib.sha256(json.dumps([model.provenance["sha256"], cache_key(manifest, img_size or 0), reframe or "",
                                     hierarchy.to_json()]).encode()).hexdigest()[:20]
    path = Path(cache_dir or cache_root()) / "references" / f"{key}.h5ad"
    if path.is_file():
        return ad.read_h5ad(path)
    adata = embed(model, manifest, hierarchy=hierarchy, img_size=img_size, batch_size=batch_size,
                  progress=progress, reframe=reframe, name="reference")
    write_h5ad(adata, path)
    return adata


def load_reference(reference, model, hierarchy: Hierarchy, label_map=None, img_size: int | None = None,
                   reframe: str | None = None, progress: bool = True):
    """An AnnData as given, an .h5ad file read, or a folder / CSV read and embedded by ``model``."""
    if isinstance(reference, ad.AnnData):
        return reference
    path = Path(str(reference)).expanduser()
    if not path.is_dir() and path.suffix.lower() != ".csv":
        return str(path)  # an .h5ad: read by predict, which says when it is missing or unreadable
    manifest = reference_manifest(path, hierarchy, label_map)
    return embedded_reference(model, manifest, hierarchy, img_size, reframe, progress=progress)


def adapted_reference(model) -> tuple[ad.AnnData, str] | None:
    """``(reference AnnData, method)`` stored in an adapted file, else None."""
    from .models.shipped import is_safetensors, read_metadata, read_weights, resolve_weights

    try:
        path = resolve_weights(model)
    except (FileNotFoundError, TypeError):
        return None
    if not is_safetensors(path) or "adapted_from" not in read_metadata(path):
        return None
    tensors, meta = read_weights(path)
    h = Hierarchy.from_json(meta["reference_hierarchy"], source=f"{path}: reference_hierarchy")
    nodes = np.asarray(h.nodes, dtype=object)[tensors["reference.y"].numpy()]
    ref = ad.AnnData(obs=pd.DataFrame({"node": nodes}, index=[str(i) for i in range(len(nodes))]))
    ref.obsm["X_cls"] = tensors["reference.X"].float().numpy()
    ref.uns["hierarchy"] = hierarchy_to_uns(h)
    return ref, meta["adapt_method"]


__all__ = ["adapted_reference", "embedded_reference", "load_reference", "reference_manifest"]
