"""Derived arrays checked by hand on a small tree whose leaves sit at different depths.

    root
    ├── E
    │   ├── A
    │   └── B
    └── C
        ├── D
        │   └── F
        └── G
"""

import numpy as np
import pytest

from hierwbc.hierarchy import Hierarchy

NEWICK = "((A,B)E,((F)D,G)C)root;"


@pytest.fixture()
def h():
    return Hierarchy.from_newick(NEWICK)


def test_order_and_leaves(h):
    assert h.nodes == ("root", "E", "A", "B", "C", "D", "F", "G")
    assert h.leaves == ("A", "B", "F", "G")
    assert h.node_index["D"] == 5
    assert list(h.leaf_nodes) == [2, 3, 6, 7]
    assert h.leaf_index == {"A": 0, "B": 1, "F": 2, "G": 3}


def test_depth_parent_height(h):
    assert list(h.depth) == [0, 1, 2, 2, 1, 2, 3, 2]
    assert list(h.parent) == [-1, 0, 1, 1, 0, 4, 5, 4]
    assert list(h.height) == [3, 1, 0, 0, 2, 1, 0, 0]
    assert h.max_depth == 3


def test_membership(h):
    expected = np.array([
        # A  B  F  G
        [1, 1, 1, 1],  # root
        [1, 1, 0, 0],  # E
        [1, 0, 0, 0],  # A
        [0, 1, 0, 0],  # B
        [0, 0, 1, 1],  # C
        [0, 0, 1, 0],  # D
        [0, 0, 1, 0],  # F
        [0, 0, 0, 1],  # G
    ], dtype=bool)
    np.testing.assert_array_equal(h.membership, expected)


def test_ancestors_and_ancestor_at_depth(h):
    i = h.node_index
    assert set(np.nonzero(h.ancestors[i["F"]])[0]) == {i["F"], i["D"], i["C"], i["root"]}
    assert set(np.nonzero(h.ancestors[i["root"]])[0]) == {i["root"]}
    assert list(h.ancestor_at_depth[i["F"]]) == [i["root"], i["C"], i["D"], i["F"]]
    assert list(h.ancestor_at_depth[i["A"]]) == [i["root"], i["E"], i["A"], -1]


def test_lca_and_heights(h):
    i = h.node_index

    def lca(a, b):
        return h.nodes[h.lca[i[a], i[b]]]

    def height(a, b):
        return int(h.lca_height[i[a], i[b]])

    assert lca("A", "B") == "E" and height("A", "B") == 1
    assert lca("A", "F") == "root" and height("A", "F") == 3
    assert lca("F", "G") == "C" and height("F", "G") == 2
    assert lca("A", "E") == "E" and height("A", "E") == 1
    assert lca("F", "F") == "F" and height("F", "F") == 0
    assert int(h.tree_distance[i["F"], i["G"]]) == 3
    assert int(h.tree_distance[i["A"], i["F"]]) == 5
    np.testing.assert_array_equal(h.lca_height, h.lca_height.T)
    assert np.all(np.diag(h.lca_height) == 0)


def test_lineage(h):
    assert list(h.lineage) == [-1, 1, 1, 1, 4, 4, 4, 4]
    assert h.lineages == ("E", "C")
    assert h.lineage_of("F") == "C" and h.lineage_of("root") is None


def test_arrays_are_read_only_and_cached(h):
    with pytest.raises(ValueError):
        h.depth[0] = 5
    assert h.membership is h.membership


def test_arrays_match_a_naive_reference_on_random_trees():
    rng = np.random.default_rng(0)
    for _ in range(20):
        hh = Hierarchy.from_newick("(n1)root;")
        for k in range(2, 30):
            hh.add_node(f"n{k}", hh.nodes[rng.integers(len(hh.nodes))])
        idx = hh.node_index
        for a in hh.nodes:
            pa = hh.path_to_root(a)
            for b in hh.nodes:
                pb = hh.path_to_root(b)
                common = next(x for x in pa if x in pb)  # first common node walking up = LCA
                assert hh.nodes[hh.lca[idx[a], idx[b]]] == common
                d_lca = len(hh.path_to_root(common)) - 1
                assert hh.lca_height[idx[a], idx[b]] == max(len(pa), len(pb)) - 1 - d_lca
            leaves_under = {n for n in hh.descendants(a, include_self=True) if not hh.children(n)}
            assert {hh.leaves[j] for j in np.nonzero(hh.membership[idx[a]])[0]} == leaves_under


def test_arrays_follow_edits(h):
    h.add_node("H", "G")
    assert "G" not in h.leaves and "H" in h.leaves
    assert h.depth[h.node_index["H"]] == 3


def test_supported_leaves_by_hand(h):
    # leaves A B F G; a leaf label supports itself; a coarse label only the leaves under it when
    # none of them is a label
    assert h.supported_leaves(["A"]).tolist() == [True, False, False, False]
    assert h.supported_leaves(["E"]).tolist() == [True, True, False, False]        # E: no leaf label below
    assert h.supported_leaves(["E", "B"]).tolist() == [False, True, False, False]  # B takes E's mass
    assert h.supported_leaves(["C", "A", "A"]).tolist() == [True, False, True, True]
    assert h.supported_leaves(["D", "G", "root"]).tolist() == [False, False, True, True]  # root covered by G
    with pytest.raises(Exception, match="nope"):
        h.supported_leaves(["nope"])


def test_leaf_mask(h):
    assert h.leaf_mask(["G", "A"]).tolist() == [True, False, False, True]
    with pytest.raises(Exception, match="E"):
        h.leaf_mask(["A", "E"])  # E is no leaf


def test_leaf_names_inverts_leaf_mask(h):
    assert h.leaf_names([True, False, False, True]) == ["A", "G"]  # leaves order, whatever the names' order
    assert h.leaf_names(h.leaf_mask(["G", "A"])) == ["A", "G"] and h.leaf_names([False] * 4) == []
    with pytest.raises(ValueError, match="one entry per leaf"):
        h.leaf_names([True, False])
