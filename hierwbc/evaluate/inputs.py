"""Normalise what :func:`~hierwbc.evaluate.evaluate` accepts into one record per model.

Accepted: an AnnData (from :func:`hierwbc.embed.embed`), a ``{model name: AnnData}`` mapping,
an embedding array [n, D], or a ``{model name: array}`` mapping (arrays need ``labels``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy, hierarchy_from_uns


@dataclass(frozen=True)
class ModelData:
    """One model's embeddings: ``X`` [n, D], node labels ``y`` [n], ``dataset`` [n] names,
    ``obs_names`` [n] sample ids, optional head ``node_proba`` [n, N] and ``split`` [n] (the
    obs column of fold ids or train/test values, when one is asked for), ``content`` (a frame
    of ``path`` and any crop-box columns from obs, when obs has ``path``: the k-fold split keeps
    byte-identical images together)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    dataset: np.ndarray
    obs_names: np.ndarray
    node_proba: np.ndarray | None = None
    split: np.ndarray | None = None
    content: pd.DataFrame | None = None


def _is_anndata(x) -> bool:
    return hasattr(x, "obsm") and hasattr(x, "obs") and hasattr(x, "uns")


def _node_indices(h: Hierarchy, values, where: str) -> np.ndarray:
    values = np.asarray(values, dtype=object)
    if values.size and all(isinstance(v, (int, np.integer)) for v in values):
        y = values.astype(np.int64)
        bad = (y < -1) | (y >= len(h.nodes))
        if bad.any():
            raise HierarchyError(f"{where}: node indices outside -1..{len(h.nodes) - 1}: {sorted(set(y[bad]))[:10]}")
        return y
    missing = pd.isna(pd.Series(values)).to_numpy()
    names = np.where(missing, None, values)
    try:
        return h.indices(names)
    except HierarchyError as e:
        raise HierarchyError(f"{where}: {e}") from None


def collect_inputs(data, hierarchy: Hierarchy | None = None, labels=None, datasets=None,
                   use_rep: str = "X_cls", label_key: str = "node", dataset_key: str = "dataset",
                   proba_key: str = "node_proba", split_column: str | None = None,
                   ) -> tuple[Hierarchy, list[ModelData]]:
    """The hierarchy and one :class:`ModelData` per model (see the module docstring).

    The hierarchy is ``hierarchy`` if given, else the one stored in the AnnDatas
    (``uns["hierarchy"]["json"]``, which must agree across models), else the default tree.
    """
    if _is_anndata(data) or not isinstance(data, Mapping):
        name = "model"
        if _is_anndata(data):
            name = str(dict(data.uns.get("provenance", {})).get("model", "model"))
        data = {name: data}
    if not data:
        raise ValueError("nothing to evaluate: no model given")
    if hierarchy is None:
        stored = [(n, hierarchy_from_uns(d.uns, f"model {n!r}: uns['hierarchy']"))
                  for n, d in data.items() if _is_anndata(d)]
        stored = [(n, h) for n, h in stored if h is not None]
        for n, h in stored[1:]:
            if h != stored[0][1]:
                raise HierarchyError(f"models {stored[0][0]!r} and {n!r} were embedded with different "
                                     "hierarchies; pass hierarchy= explicitly")
        hierarchy = stored[0][1] if stored else default_hierarchy()
    out = []
    for name, d in data.items():
        if _is_anndata(d):
            if use_rep == "X":
                X = d.X
            elif use_rep in d.obsm:
                X = d.obsm[use_rep]
            else:
                raise KeyError(f"model {name!r}: no obsm[{use_rep!r}] (has {list(d.obsm.keys())})")
            X = np.asarray(X.toarray() if hasattr(X, "toarray") else X)
            if label_key not in d.obs:
                raise KeyError(f"model {name!r}: no obs[{label_key!r}] column of node names")
            y = _node_indices(hierarchy, d.obs[label_key].to_numpy(), f"model {name!r}, obs[{label_key!r}]")
            ds = (d.obs[dataset_key].astype(str).to_numpy() if dataset_key in d.obs
                  else np.full(d.n_obs, "data", dtype=object))
            proba = np.asarray(d.obsm[proba_key]) if proba_key in d.obsm else None
            if proba is not None and proba.shape[1] != len(hierarchy.nodes):
                raise ValueError(f"model {name!r}: obsm[{proba_key!r}] has {proba.shape[1]} columns, "
                                 f"the hierarchy {len(hierarchy.nodes)} nodes")
            obs_names = np.asarray(d.obs_names, dtype=str)
            if split_column is not None and split_column not in d.obs:
                raise KeyError(f"model {name!r}: no obs[{split_column!r}] column for the split")
            split = None if split_column is None else d.obs[split_column].to_numpy()
            cols = [c for c in ("path", "box_xmin", "box_ymin", "box_xmax", "box_ymax", "group") if c in d.obs]
            content = (pd.DataFrame({c: d.obs[c].to_numpy() for c in cols}).astype({"path": str})
                       if "path" in cols else None)
        else:
            if split_column is not None:
                raise ValueError(f"model {name!r}: a split column ({split_column!r}) needs AnnData input")
            split, content = None, None
            X = np.asarray(d)
            if labels is None:
                raise ValueError(f"model {name!r}: embeddings given as an array need labels=")
            y = _node_indices(hierarchy, labels, f"model {name!r}, labels")
            ds = np.broadcast_to(np.asarray(datasets if datasets is not None else "data", dtype=object), (len(X),))
            proba, obs_names = None, np.arange(len(X)).astype(str)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"model {name!r}: embeddings {X.shape} do not match {len(y)} labels")
        if len(set(obs_names)) != len(obs_names):
            raise ValueError(f"model {name!r}: duplicate sample names (obs_names) cannot be paired")
        unl = y < 0
        if unl.any():
            per = pd.Series(ds[unl]).value_counts().to_dict()
            warnings.warn(f"model {name!r}: {int(unl.sum())} samples without a node label are not "
                          f"evaluated (per dataset: {per})", stacklevel=3)
        keep = ~unl
        out.append(ModelData(str(name), X[keep], y[keep], np.asarray(ds, dtype=object)[keep],
                             obs_names[keep], None if proba is None else proba[keep],
                             None if split is None else split[keep],
                             None if content is None else content.loc[keep].reset_index(drop=True)))
    return hierarchy, out
