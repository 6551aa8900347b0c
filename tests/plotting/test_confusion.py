"""confusion_by_lineage: counts vs a loop, tree order, one box per lineage block, cross-lineage
cells in the red layer, annotations, selection errors."""

import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from hierwbc.plotting import confusion_by_lineage, confusion_table, lineage_blocks, node_labels


def test_confusion_table_counts_like_a_loop(predictions, h):
    t = confusion_table(predictions, h, model="hierce", dataset="pbc", probe="1nn")
    sub = predictions[(predictions.model == "hierce") & (predictions.probe == "1nn")]
    expected = {}
    for a, b in zip(sub["true"].astype(str), sub["pred"].astype(str)):
        expected[(a, b)] = expected.get((a, b), 0) + 1
    for (a, b), n in expected.items():
        assert t.loc[a, b] == n
    assert t.to_numpy().sum() == len(sub)
    order = [h.node_index[n] for n in t.index]
    assert order == sorted(order) and list(t.index) == list(t.columns)
    assert set(t.index) == set(sub["true"].astype(str)) | set(sub["pred"].astype(str))


def test_lineage_blocks_are_contiguous_runs(h):
    nodes = ["lymphocyte_typical", "monocyte", "myelocyte", "neutrophil_band", "eosinophil", "platelet"]
    assert lineage_blocks(h, nodes) == [("lymphopoiesis", 0, 1), ("monopoiesis", 1, 2),
                                        ("granulopoiesis", 2, 5), ("thrombopoiesis", 5, 6)]


def test_figure_is_ordered_by_tree_with_one_box_per_lineage(predictions, h):
    fig = confusion_by_lineage(predictions, h, model=["unsup", "hierce"], dataset="pbc", probe="logreg")
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 2
    nodes = confusion_table(predictions, h, "unsup", "pbc", "logreg",
                            nodes=sorted(set(predictions["true"].astype(str)) | set(predictions["pred"].astype(str)),
                                         key=h.node_index.get)).index.tolist()
    for ax in panels:
        assert [t.get_text() for t in ax.get_xticklabels()] == node_labels(h, nodes)
        assert [t.get_text() for t in ax.get_yticklabels()] == node_labels(h, nodes)
        boxes = [p for p in ax.patches if isinstance(p, Rectangle) and str(p.get_gid()).startswith("lineage-box")]
        blocks = lineage_blocks(h, nodes)
        assert len(boxes) == len(blocks) == len({h.lineage_of(n) for n in nodes})
        for box, (lin, a, b) in zip(boxes, blocks):
            assert box.get_gid() == f"lineage-box:{lin}"
            assert box.get_xy() == (a - 0.5, a - 0.5) and box.get_width() == box.get_height() == b - a


def test_cross_lineage_cells_are_in_the_red_layer_and_rates_are_row_normalised(predictions, h):
    fig = confusion_by_lineage(predictions, h, model="hierce", dataset="pbc", probe="1nn")
    ax = next(a for a in fig.axes if a.get_images())
    within, cross = [im for im in ax.get_children() if isinstance(im, AxesImage)]
    assert within.get_cmap().name == "Blues" and cross.get_cmap().name == "Reds"
    t = confusion_table(predictions, h, "hierce", "pbc", "1nn")
    m = t.to_numpy()
    lin = np.array([h.lineage_of(n) for n in t.index])
    same = lin[:, None] == lin[None, :]
    rate = m / m.sum(1, keepdims=True)
    w, c = within.get_array(), cross.get_array()
    np.testing.assert_array_equal(~np.ma.getmaskarray(c), (m > 0) & ~same)
    np.testing.assert_array_equal(~np.ma.getmaskarray(w), (m > 0) & same)
    np.testing.assert_allclose(c.compressed(), rate[(m > 0) & ~same])
    texts = {(round(tx.get_position()[1]), round(tx.get_position()[0])): tx.get_text() for tx in ax.texts}
    i, j = np.argwhere(m > 0)[0]
    assert texts[(i, j)] == f"{m[i, j]}\n{100 * rate[i, j]:.0f}%"
    assert f"{int(m[~same].sum())} cross-lineage" in ax.get_title()


def test_counts_mode_and_selection_errors(predictions, h):
    fig = confusion_by_lineage(predictions, h, model="unsup", dataset="pbc", probe="1nn", normalize=None)
    ax = next(a for a in fig.axes if a.get_images())
    m = confusion_table(predictions, h, "unsup", "pbc", "1nn").to_numpy()
    assert ax.get_images()[0].get_clim() == (0, m.max())
    with pytest.raises(ValueError, match="several probes"):
        confusion_by_lineage(predictions, h, model="unsup", dataset="pbc")
    with pytest.raises(KeyError, match="'nope'"):
        confusion_by_lineage(predictions, h, model="nope", dataset="pbc", probe="1nn")
    with pytest.raises(ValueError, match="normalize"):
        confusion_by_lineage(predictions, h, model="unsup", probe="1nn", normalize="column")
