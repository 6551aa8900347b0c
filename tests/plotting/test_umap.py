"""umap(): the UMAP is computed with scanpy and stored (or reused), copy=True leaves the input
alone, legends are in tree order with counts, points take their node's colour."""

import numpy as np
import pytest
from matplotlib.colors import to_hex

from hierwbc.plotting import compute_umap, node_colors, node_labels, umap


def _scatters(ax):
    return {c.get_gid(): c for c in ax.collections if str(c.get_gid()).startswith("category:")}


def test_reuses_a_stored_umap_and_colours_by_tree(adata, h):
    before = adata.obsm["X_umap"].copy()
    fig = umap(adata, color=["node", "lineage", "dataset"])
    np.testing.assert_array_equal(adata.obsm["X_umap"], before)  # params match: not recomputed
    node_ax, lineage_ax, dataset_ax = [ax for ax in fig.axes if ax.get_title()]
    nodes = sorted(set(adata.obs["node"]), key=h.node_index.get)
    legend = [t.get_text() for t in node_ax.get_legend().get_texts()]
    counts = adata.obs["node"].value_counts()
    assert legend == [f"{lab} ({counts[n]})" for n, lab in zip(nodes, node_labels(h, nodes))]
    colors = node_colors(h, nodes)
    for gid, sc in _scatters(node_ax).items():
        node = gid.split(":", 1)[1]
        assert to_hex(sc.get_facecolor()[0]) == colors[node]
        np.testing.assert_allclose(sc.get_offsets(), before[(adata.obs["node"] == node).to_numpy()])
    assert [t.get_text().split(" (")[0] for t in lineage_ax.get_legend().get_texts()] == \
        [h.label(x) for x in h.lineages if x in set(adata.obs["lineage"])]
    assert len(_scatters(dataset_ax)) == 1


def test_computes_with_scanpy_and_copy_leaves_input_untouched(adata):
    del adata.obsm["X_umap"], adata.uns["X_umap_params"]
    fig = umap(adata, color="node", copy=True, n_neighbors=5)
    assert "X_umap" not in adata.obsm and "neighbors" not in adata.uns
    assert fig.axes[0].get_title() == "node"
    compute_umap(adata, n_neighbors=5, key_added="X_umap_cls")
    assert adata.obsm["X_umap_cls"].shape == (adata.n_obs, 2)
    assert adata.uns["X_umap_cls_neighbors"]["params"]["use_rep"] == "X_cls"
    assert "X_umap_cls_neighbors_connectivities" in adata.obsp
    # same-lineage cells are closer in the UMAP than cells of different lineages
    xy, lin = adata.obsm["X_umap_cls"], adata.obs["lineage"].astype(str).to_numpy()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = lin[:, None] == lin[None]
    assert d[same & ~np.eye(len(xy), dtype=bool)].mean() < d[~same].mean()
    first = adata.obsm["X_umap_cls"].copy()
    compute_umap(adata, n_neighbors=5, key_added="X_umap_cls")
    np.testing.assert_array_equal(adata.obsm["X_umap_cls"], first)


def test_bad_keys_are_named(adata):
    with pytest.raises(KeyError, match="'colour_key'"):
        umap(adata, color="colour_key")
    with pytest.raises(KeyError, match="X_missing"):
        compute_umap(adata, use_rep="X_missing")
