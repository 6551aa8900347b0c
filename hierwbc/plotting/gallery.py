"""Real cells on screen: a gallery grid per class, a UMAP with image thumbnails, one cell.

Images are decoded with :func:`hierwbc.datasets.load_image` (crop boxes applied) and shown as
square thumbnails (:func:`hierwbc.datasets.images.square_resize`: shorter side resized, centre crop).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.offsetbox import AnnotationBbox, OffsetImage

from hierwbc.datasets import load_image, square_resize
from hierwbc.datasets.manifest import BOX_COLUMNS
from hierwbc.hierarchy import Hierarchy

from .colors import category_colors, text_colors
from .common import figure, hierarchy_of, node_labels, tree_order
from .umap_plot import DEFAULT_KEY, compute_umap, draw_embedding, obs_categories


def thumbnail(row: pd.Series | dict, size: int = 64) -> np.ndarray:
    """uint8 [size, size, 3] of one manifest / obs row (``path`` + optional crop box)."""
    box = None
    if all(c in row for c in BOX_COLUMNS):
        box = np.array([row[c] for c in BOX_COLUMNS], dtype=float)
        box = None if np.isnan(box).all() else box
    return square_resize(load_image(str(row["path"]), box), size)


def sample_per_group(table: pd.DataFrame, by: str, n: int, seed: int = 0,
                     groups: Sequence | None = None) -> pd.DataFrame:
    """At most ``n`` rows of each ``by`` group (seeded, without replacement), groups in the
    order ``groups`` (default: first appearance); column ``_group`` holds the group."""
    rng = np.random.default_rng(seed)
    values = table[by].astype(object).to_numpy()
    groups = list(pd.unique(values[~pd.isna(values)])) if groups is None else list(groups)
    picks = []
    for g in groups:
        idx = np.flatnonzero(values == g)
        picks.append(table.iloc[np.sort(rng.choice(idx, min(n, len(idx)), replace=False))].assign(_group=g))
    return pd.concat(picks) if picks else table.iloc[:0].assign(_group=None)


def cell_gallery(manifest: pd.DataFrame, by: str = "node", n: int = 6, *, hierarchy: Hierarchy | None = None,
                 groups: Sequence | None = None, size: int = 64, seed: int = 0, title: str | None = None):
    """A grid of real cell images: one row per ``by`` group (tree order for ``node`` /
    ``lineage``; ``groups`` picks and orders them), ``n`` seeded random cells each; the row
    label gives the group (display label) and its image count. Returns the Figure."""
    if by not in manifest:
        raise KeyError(f"manifest has no column {by!r} (has {list(manifest.columns)})")
    if manifest.empty:
        raise ValueError("the manifest is empty: no cells to show")
    h = hierarchy_of(None, hierarchy)
    tree_key = by in ("node", "lineage")
    if groups is None:
        groups = tree_order(h, manifest[by]) if tree_key else list(pd.unique(manifest[by].astype(object)))
    sample = sample_per_group(manifest, by, n, seed, groups)
    counts = manifest[by].astype(object).value_counts()
    labels = node_labels(h, groups) if tree_key else [str(g) for g in groups]
    colors = text_colors(h, groups) if tree_key else category_colors(by, groups, h)
    fig = figure(1.0 * n + 2.2, 1.0 * len(groups) + 0.5)
    axes = fig.subplots(len(groups), n, squeeze=False)
    for r, (g, label) in enumerate(zip(groups, labels)):
        cells = sample[sample["_group"] == g]
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(cells):
                ax.imshow(thumbnail(cells.iloc[c], size), interpolation="lanczos")
        axes[r, 0].set_ylabel(f"{label}\n({int(counts.get(g, 0)):,})", rotation=0, ha="right", va="center",
                              fontsize=8, color=colors[g])
    fig.suptitle(title or f"Cells per {by}", fontsize=10)
    return fig


def umap_thumbnails(adata, color: str = "node", n: int = 40, *, use_rep: str = "X_cls", key_added: str | None = None,
                    hierarchy: Hierarchy | None = None, size: int = 48, zoom: float = 0.55, seed: int = 0,
                    title: str | None = None):
    """UMAP (computed and stored as in :func:`hierwbc.plotting.umap`) with image thumbnails of
    about ``n`` cells, sampled evenly over the ``color`` categories, each framed in its
    category's colour. Returns the Figure."""
    h = hierarchy_of(adata, hierarchy)
    if "path" not in adata.obs:
        raise KeyError("adata.obs has no 'path' column: no images to show")
    compute_umap(adata, use_rep, key_added)
    coords = np.asarray(adata.obsm[key_added or DEFAULT_KEY])
    fig = figure(9.5, 7.5)
    ax = fig.subplots()
    colors = draw_embedding(ax, coords, adata.obs, color, h, legend=True, title=title or f"UMAP · {color}")
    cats = obs_categories(adata.obs, color, h) if colors else [None]
    obs = adata.obs.reset_index(drop=True).assign(_i=np.arange(adata.n_obs))
    per = max(1, int(np.ceil(n / max(len(cats), 1))))
    sample = (sample_per_group(obs, color, per, seed, cats) if colors
              else obs.sample(min(n, len(obs)), random_state=seed))
    for _, row in sample.head(n).iterrows():
        box = AnnotationBbox(OffsetImage(thumbnail(row, size), zoom=zoom), coords[int(row["_i"])], frameon=True,
                             pad=0.15, bboxprops={"edgecolor": colors.get(row.get("_group"), "#333333"), "lw": 1.5})
        box.set_gid("thumbnail")
        ax.add_artist(box)
    return fig


def cell_figure(obs_row: pd.Series, hierarchy: Hierarchy | None = None, size: int = 160,
                extra: dict | None = None):
    """One cell: its image and its labels (node, lineage, dataset, path, ``extra``). Returns the Figure."""
    h = hierarchy_of(None, hierarchy)
    fig = figure(4.6, 2.6)
    ax_img, ax_txt = fig.subplots(1, 2, width_ratios=[1, 1.1])
    ax_img.imshow(thumbnail(obs_row, size))
    ax_img.set_axis_off()
    ax_txt.set_axis_off()
    node = obs_row.get("node")
    lines = [f"{k}: {obs_row[k]}" for k in ("dataset", "raw_label") if k in obs_row]
    if isinstance(node, str) and node in h:
        lines.insert(0, f"{h.label(node)}  [{h.lineage_of(node) or h.root}]")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    lines.append(str(obs_row.get("path", "")).rsplit("/", 1)[-1])
    ax_txt.text(0, 1, "\n".join(lines), va="top", fontsize=8, family="monospace", wrap=True)
    return fig


def cell_grid(table: pd.DataFrame, n_cols: int = 6, *, caption: str | None = None, color: str | None = None,
              hierarchy: Hierarchy | None = None, size: int = 64, title: str | None = None):
    """The cells of ``table`` (manifest / obs rows: ``path`` + optional crop box) in the order
    given, ``n_cols`` per row; ``caption`` names a column written under each image, ``color``
    a column whose categories frame the images (tree colours for node / lineage columns).
    Returns the Figure."""
    if table.empty:
        raise ValueError("no cells to show")
    h = hierarchy_of(None, hierarchy)
    n_cols = max(1, min(int(n_cols), len(table)))
    n_rows = int(np.ceil(len(table) / n_cols))
    colors = {}
    if color is not None:
        cats = list(pd.unique(table[color].astype(object)))
        colors = category_colors("node" if color in ("node", "pred_leaf", "backoff_node") else color, cats, h)
    lines = 1 + (max(str(c).count("\n") for c in table[caption]) if caption else 0)
    fig = figure(1.25 * n_cols + 0.3, (1.25 + 0.14 * lines) * n_rows + 0.5)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(table):
            ax.set_axis_off()
            continue
        row = table.iloc[k]
        ax.imshow(thumbnail(row, size), interpolation="lanczos")
        for spine in ax.spines.values():
            spine.set_edgecolor(colors.get(row[color], "#333333") if color else "none")
            spine.set_linewidth(2.0)
        if caption:
            ax.set_xlabel(str(row[caption]), fontsize=6.5, linespacing=1.1)
    fig.suptitle(title or f"{len(table)} cells", fontsize=10)
    return fig
