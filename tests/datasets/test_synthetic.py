"""Synthetic cells: any hierarchy, labelled synthetic, styles follow the tree, readable back."""

import numpy as np
import pytest

from hierwbc.datasets import check_manifest, load_image, read_dataset
from hierwbc.datasets.synthetic import draw_cells, make_synthetic, node_styles
from hierwbc.hierarchy import Hierarchy, default_hierarchy


def small_tree():
    return Hierarchy.from_newick("((a1,a2)A,((b11,b12)b1,b2)B)root;")


def test_default_tree(tmp_path):
    h = default_hierarchy()
    m = make_synthetic(tmp_path / "syn", h, n_per_leaf=2, size=32, seed=0, progress=False)
    check_manifest(m, h)
    assert len(m) == 2 * len(h.leaves) and set(m["dataset"]) == {"synthetic"}
    assert m["node"].value_counts().to_dict() == {leaf: 2 for leaf in h.leaves}
    assert "SYNTHETIC DATA - NOT REAL CELLS" in (tmp_path / "syn" / "README.txt").read_text()
    img = load_image(m["path"].iloc[0])
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and img.std() > 5


def test_small_custom_tree_with_coarse_labels(tmp_path):
    h = small_tree()
    m = make_synthetic(tmp_path, h, n_per_leaf=10, size=24, seed=3, coarse_fraction=0.3, progress=False)
    assert len(m) == 50 and (m["node"] != m["leaf"]).sum() == 15          # round(0.3 * 50)
    coarse = m[m.node != m.leaf]
    assert all(h.parent_of(leaf) == node for leaf, node in zip(coarse.leaf, coarse.node))
    assert "root" not in set(m["node"])
    back = read_dataset("csv", tmp_path / "manifest.csv", hierarchy=h)
    assert back["path"].tolist() == m["path"].tolist() and back["node"].tolist() == m["node"].tolist()


def test_reproducible_and_seeded():
    h = small_tree()
    a = draw_cells(h, ["a1", "b2", "b11"], size=24, rng=0)
    np.testing.assert_array_equal(a, draw_cells(h, ["a1", "b2", "b11"], size=24, rng=0))
    assert not np.array_equal(a, draw_cells(h, ["a1", "b2", "b11"], size=24, rng=1))


def test_styles_follow_the_tree():
    h = default_hierarchy()
    st = node_styles(h)
    i = h.node_index
    cyto = st["cytoplasm"]
    # same lineage: close cytoplasm colours; different lineages: far apart
    same = np.abs(cyto[i["neutrophil_band"]] - cyto[i["neutrophil_segmented"]]).sum()
    other = np.abs(cyto[i["neutrophil_band"]] - cyto[i["lymphocyte_typical"]]).sum()
    assert same < other
    assert st["lobes"].min() >= 1 and st["lobes"].max() <= 4


def test_class_means_differ_more_across_lineages(tmp_path):
    h = small_tree()
    imgs = draw_cells(h, ["a1"] * 40 + ["a2"] * 40 + ["b2"] * 40, size=24, rng=0).reshape(3, 40, -1).astype(float)
    mean = imgs.mean(1)
    assert np.abs(mean[0] - mean[1]).mean() < np.abs(mean[0] - mean[2]).mean()


def test_unknown_leaf(tmp_path):
    with pytest.raises(ValueError, match="nodes not in the hierarchy"):
        make_synthetic(tmp_path, small_tree(), leaves=["zz"], progress=False)
