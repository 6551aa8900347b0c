"""Hierarchy.pruned_to: a tree cut down to some nodes and their ancestors."""

import pytest

from hierwbc.hierarchy import Hierarchy
from hierwbc.hierarchy.errors import HierarchyError


def test_pruned_to_keeps_the_named_nodes_as_leaves_under_their_ancestors():
    h = Hierarchy.from_newick("((a,b)A,(c,(d,e)D)B,f)r;")
    p = h.pruned_to(["D", "a"])
    assert set(p.leaves) == {"a", "D"} and set(p.nodes) == {"r", "A", "a", "B", "D"}
    assert p.parent_of("D") == "B" and p.parent_of("a") == "A"  # single-child nodes kept
    assert p.depth[p.node_index["D"]] == h.depth[h.node_index["D"]]
    with pytest.raises(HierarchyError, match="did you mean"):
        h.pruned_to(["Dd"])
