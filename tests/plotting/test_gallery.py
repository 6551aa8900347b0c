"""cell_gallery / umap_thumbnails / cell_figure show the real images of the right cells."""

import numpy as np
import pytest
from matplotlib.offsetbox import AnnotationBbox

from hierwbc.plotting import cell_figure, cell_gallery, node_labels, thumbnail, umap_thumbnails


def test_gallery_rows_follow_the_tree_and_show_the_sampled_images(manifest, h):
    fig = cell_gallery(manifest, by="node", n=3, hierarchy=h, size=24)
    nodes = sorted(set(manifest["node"]), key=h.node_index.get)
    axes = np.array(fig.axes).reshape(len(nodes), 3)
    counts = manifest["node"].value_counts()
    labels = [ax.get_ylabel() for ax in axes[:, 0]]
    assert labels == [f"{lab}\n({counts[n]})" for n, lab in zip(nodes, node_labels(h, nodes))]
    shown = {tuple(np.asarray(im.get_array()).ravel()[:50]) for ax in axes.ravel() for im in ax.get_images()}
    for node, ax_row in zip(nodes, axes):
        n_images = sum(len(ax.get_images()) for ax in ax_row)
        assert n_images == min(3, counts[node])
    thumbs = {tuple(thumbnail(r, 24).ravel()[:50]) for _, r in manifest.iterrows()}
    assert shown <= thumbs  # every image shown is a real cell of the manifest
    by_dataset = cell_gallery(manifest, by="dataset", n=2)
    assert len(by_dataset.axes) == 2
    with pytest.raises(KeyError, match="'fold_x'"):
        cell_gallery(manifest, by="fold_x")


def test_umap_thumbnails_frames_sampled_cells(adata):
    fig = umap_thumbnails(adata, n=8, size=16)
    ax = fig.axes[0]
    boxes = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    n_classes = adata.obs["node"].nunique()
    assert len(boxes) == min(8, n_classes * int(np.ceil(8 / n_classes)))
    coords = {tuple(np.round(adata.obsm["X_umap"][i], 6)) for i in range(adata.n_obs)}
    assert all(tuple(np.round(b.xy, 6)) in coords for b in boxes)


def test_cell_figure_shows_the_image_and_labels(manifest, h):
    row = manifest.iloc[3]
    fig = cell_figure(row, h, size=40, extra={"predicted": "monocyte"})
    img_ax, txt_ax = fig.axes
    np.testing.assert_array_equal(img_ax.get_images()[0].get_array(), thumbnail(row, 40))
    text = txt_ax.texts[0].get_text()
    assert h.label(row["node"]) in text and "predicted: monocyte" in text
