"""UMAP of embeddings, coloured by node, lineage, dataset or any obs column (paper Fig. 12).

``compute_umap`` is a scanpy-style tool: ``sc.pp.neighbors(use_rep=...)`` then ``sc.tl.umap``,
results stored in the AnnData (``obsm[key]``, ``uns[key + "_neighbors"]``,
``obsp[key + "_neighbors_connectivities" / "_distances"]``; with the default key ``X_umap``
the neighbour graph is scanpy's default ``neighbors``). It is skipped when ``obsm[key]`` holds
a UMAP of the same representation and parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy

from .colors import MISSING_COLOR, category_colors
from .common import figure, hierarchy_of, node_labels, tree_order

DEFAULT_KEY = "X_umap"


def _neighbors_key(key: str) -> str:
    return "neighbors" if key == DEFAULT_KEY else f"{key}_neighbors"


def compute_umap(adata, use_rep: str = "X_cls", key_added: str | None = None, n_neighbors: int = 15,
                 min_dist: float = 0.5, random_state: int = 0, copy: bool = False, force: bool = False):
    """UMAP coordinates of ``obsm[use_rep]`` into ``obsm[key_added or "X_umap"]``.

    Returns the AnnData copy when ``copy``, else None (scanpy's convention).
    """
    import scanpy as sc

    if use_rep not in adata.obsm:
        raise KeyError(f"no obsm[{use_rep!r}] to compute a UMAP from (has {list(adata.obsm.keys())})")
    adata = adata.copy() if copy else adata
    key = key_added or DEFAULT_KEY
    nkey = _neighbors_key(key)
    params = {"use_rep": use_rep, "n_neighbors": int(min(n_neighbors, max(adata.n_obs - 1, 2))),
              "min_dist": float(min_dist), "random_state": int(random_state)}
    stored = adata.uns.get(f"{key}_params")
    stored = {k: stored[k] for k in params if k in stored} if stored is not None else None
    if force or key not in adata.obsm or stored != params:
        if adata.n_obs < 4:
            raise ValueError(f"a UMAP needs at least 4 cells, got {adata.n_obs}")
        sc.pp.neighbors(adata, n_neighbors=params["n_neighbors"], use_rep=use_rep, random_state=random_state,
                        key_added=None if nkey == "neighbors" else nkey)
        sc.tl.umap(adata, min_dist=min_dist, random_state=random_state, neighbors_key=nkey,
                   key_added=None if key == DEFAULT_KEY else key)
        adata.uns[f"{key}_params"] = params
    return adata if copy else None


def obs_categories(obs: pd.DataFrame, key: str, hierarchy: Hierarchy) -> list:
    """Categories of ``obs[key]`` present in the data: tree order for node / lineage keys,
    the categorical order (or first appearance) otherwise."""
    values = obs[key]
    present = pd.unique(values.dropna().astype(object))
    if key in ("node", "lineage") or key.endswith("_lineage"):
        return tree_order(hierarchy, present)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if c in set(present)]
    return list(present)


def _legend_labels(key: str, cats: list, hierarchy: Hierarchy) -> list[str]:
    if key in ("node", "lineage") or key.endswith("_lineage"):
        return node_labels(hierarchy, cats)
    return [str(c) for c in cats]


def draw_embedding(ax, coords: np.ndarray, obs: pd.DataFrame, key: str, hierarchy: Hierarchy,
                   size: float | None = None, legend: bool = True, title: str | None = None) -> dict:
    """Scatter ``coords`` [n, 2] on ``ax`` coloured by ``obs[key]`` (``obs``: n rows); returns
    ``{category: colour}`` (categorical keys) or ``{}`` (numeric keys, drawn with a colour bar)."""
    size = size if size is not None else float(np.clip(12000 / max(len(coords), 1), 2, 40))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title if title is not None else key)
    values = obs[key]
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        sc_ = ax.scatter(coords[:, 0], coords[:, 1], c=values.to_numpy(dtype=float), s=size, cmap="viridis",
                         linewidths=0, rasterized=True)
        ax.figure.colorbar(sc_, ax=ax, shrink=0.6)
        return {}
    cats = obs_categories(obs, key, hierarchy)
    colors = category_colors(key, cats, hierarchy)
    text = values.astype(object).to_numpy()
    missing = pd.isna(values).to_numpy()
    if missing.any():
        ax.scatter(coords[missing, 0], coords[missing, 1], c=MISSING_COLOR, s=size, linewidths=0,
                   rasterized=True, label="(none)")
    for cat, label in zip(cats, _legend_labels(key, cats, hierarchy)):
        sel = (text == cat) & ~missing
        ax.scatter(coords[sel, 0], coords[sel, 1], c=colors[cat], s=size, linewidths=0, rasterized=True,
                   label=f"{label} ({int(sel.sum())})", gid=f"category:{cat}")
    if legend:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False,
                  markerscale=max(1.0, (30.0 / size) ** 0.5), title=key, title_fontsize=8)
    return colors


def umap(adata, color: str | Sequence[str] = "node", *, use_rep: str = "X_cls", key_added: str | None = None,
         copy: bool = False, hierarchy: Hierarchy | None = None, n_neighbors: int = 15, min_dist: float = 0.5,
         random_state: int = 0, size: float | None = None, title: str | None = None, legend: bool = True,
         panel_size: float = 4.2):
    """UMAP of ``obsm[use_rep]`` (computed by :func:`compute_umap` unless already stored),
    one panel per ``color`` key: ``node`` (shades of the lineage hues), ``lineage``,
    ``dataset``, or any obs column (categorical: palette; numeric: colour bar).

    Legend entries are in tree order for node / lineage, with their cell counts. ``copy``:
    compute on a copy, leaving ``adata`` untouched. Returns the Figure.
    """
    keys = [color] if isinstance(color, str) else list(color)
    missing = [k for k in keys if k not in adata.obs]
    if missing:
        raise KeyError(f"colour key(s) {missing} not in adata.obs (has {list(adata.obs.columns)})")
    h = hierarchy_of(adata, hierarchy)
    data = compute_umap(adata, use_rep, key_added, n_neighbors, min_dist, random_state, copy=True) if copy else adata
    if not copy:
        compute_umap(adata, use_rep, key_added, n_neighbors, min_dist, random_state)
    coords = np.asarray(data.obsm[key_added or DEFAULT_KEY])
    fig = figure(panel_size * len(keys) + (2.2 if legend else 0) * len(keys), panel_size)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        draw_embedding(ax, coords, data.obs, key, h, size=size, legend=legend,
                       title=key if title is None else f"{title}: {key}" if len(keys) > 1 else title)
    return fig
