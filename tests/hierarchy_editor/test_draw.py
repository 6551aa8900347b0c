"""Tree drawings: dendrogram layout, one text per node, lineage colours, PNG rendering."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from hierarchy_editor.draw import (
    draw_tree,
    ete3_available,
    node_colors,
    render_tree_png,
    tree_layout,
)
from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.plotting.colors import lineage_colors

PNG = b"\x89PNG\r\n\x1a\n"


def test_layout_hand_worked():
    h = Hierarchy.from_newick("((A,B)E,((F)D,G)C)root;")
    x, y = tree_layout(h)
    # nodes: root E A B C D F G; leaves A B F G at ranks 0..3
    assert x.tolist() == [0, 1, 2, 2, 1, 2, 3, 2]
    assert y.tolist() == [1.5, 0.5, 0, 1, 2.5, 2, 2, 3]


def test_layout_matches_naive_reference():
    h = default_hierarchy()
    x, y = tree_layout(h)
    for i, name in enumerate(h.nodes):
        ranks = [h.leaf_index[leaf] for leaf in h.leaves_under(name)]
        assert y[i] == (min(ranks) + max(ranks)) / 2
        assert x[i] == len(h.path_to_root(name)) - 1


def test_colours_by_lineage():
    h = default_hierarchy()
    colors = dict(zip(h.nodes, node_colors(h)))
    for name in h.nodes[1:]:
        assert colors[name] == colors[h.lineage_of(name)]
    assert len({colors[lin] for lin in h.lineages}) == len(h.lineages)
    assert colors["wbc"] not in {colors[lin] for lin in h.lineages}
    assert {lin: colors[lin] for lin in h.lineages} == lineage_colors(h)  # as in every figure


def test_draw_tree_one_text_per_node():
    h = default_hierarchy()
    h.set_display_label("blast", "blast ?")
    fig = draw_tree(h)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(h.labels.values()) and len(texts) == len(h.nodes)
    assert "blast ?" in texts
    x, y = tree_layout(h)
    pos = {t.get_text(): t.get_position() for t in ax.texts}
    # leaves sit right of their tip at their rank
    k = h.node_index["faggot_cell"]
    assert pos["faggot cell"][1] == y[k] and pos["faggot cell"][0] > x[k]
    # one elbow (3 points) per edge, from the parent's x to the child's (x, y)
    (edges,) = ax.collections[:1]
    segs = edges.get_segments()
    assert len(segs) == len(h.nodes) - 1
    child = np.nonzero(h.parent >= 0)[0]
    assert np.allclose([s[-1] for s in segs], np.stack([x[child], y[child]], 1))
    assert np.allclose([s[0][0] for s in segs], x[h.parent[child]])
    named = draw_tree(h, show_names=True).axes[0]
    assert "myelocyte [myelocyte]" in [t.get_text() for t in named.texts]


def test_render_png_matplotlib():
    data = render_tree_png(default_hierarchy(), engine="matplotlib")
    assert data.startswith(PNG)
    with pytest.raises(ValueError, match="engine"):
        render_tree_png(default_hierarchy(), engine="svg")


@pytest.mark.skipif(not ete3_available(), reason="PyQt5 not installed (pip install hierwbc[render])")
def test_render_png_ete3():
    h = default_hierarchy()
    assert render_tree_png(h, engine="ete3").startswith(PNG)
    assert render_tree_png(h, engine="auto").startswith(PNG)
