"""Validated edits: each applied edit, and each refused edit leaving the hierarchy unchanged."""

import pytest

from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy


@pytest.fixture()
def h():
    h = Hierarchy.from_newick("((A,B)E,((F)D,G)C)root;")
    h.set_label_map("ds", {"a": "A", "e": "E", "f": "F", "d": "D", "skip": None})
    return h


def test_add(h):
    h.add_node("H", "E", label="an H", position=0)
    assert h.children("E") == ["H", "A", "B"]
    assert h.label("H") == "an H" and h.is_leaf[h.node_index["H"]]
    with pytest.raises(HierarchyError, match="'A' already exists"):
        h.add_node("A", "C")
    with pytest.raises(HierarchyError, match="no node named 'Z'"):
        h.add_node("Y", "Z")
    with pytest.raises(HierarchyError, match="invalid node name"):
        h.add_node("has space", "C")


def test_rename_carries_label_maps_and_default_label(h):
    h.set_display_label("E", "the E group")
    h.rename_node("A", "A2")
    h.rename_node("E", "E2")
    assert h.map_labels("ds", ["a", "e"]).nodes.tolist() == ["A2", "E2"]
    assert h.label("A2") == "A2" and h.label("E2") == "the E group"
    with pytest.raises(HierarchyError, match="'B' already exists"):
        h.rename_node("A2", "B")


def test_move(h):
    h.move_node("E", "G")
    assert h.parent_of("E") == "G" and h.depth[h.node_index["A"]] == 4
    with pytest.raises(HierarchyError, match="cycle"):
        h.move_node("C", "A")
    with pytest.raises(HierarchyError, match="cannot move the root"):
        h.move_node("root", "A")
    assert h.parent_of("C") == "root"


def test_remove_subtree_refused_when_it_breaks_maps(h):
    before = h.copy()
    with pytest.raises(HierarchyError) as e:
        h.remove_node("C")
    msg = str(e.value)
    assert "ds: 'f' -> 'F'" in msg and "ds: 'd' -> 'D'" in msg and "2 label-map entries" in msg
    assert h == before


def test_remove_subtree_with_remap(h):
    removed = h.remove_node("C", remap_to_parent=True)
    assert set(removed) == {"C", "D", "F", "G"}
    assert h.nodes == ("root", "E", "A", "B")
    assert h.map_labels("ds", ["f", "d"]).nodes.tolist() == ["root", "root"]


def test_remove_keeping_children(h):
    h.remove_node("G")
    assert h.children("C") == ["D"]
    with pytest.raises(HierarchyError, match="ds: 'd' -> 'D'"):
        h.remove_node("D", keep_children=True)
    h.set_mapping("ds", "d", "C")
    h.remove_node("D", keep_children=True)
    assert h.children("C") == ["F"] and h.depth[h.node_index["F"]] == 2


def test_remove_root_refused(h):
    with pytest.raises(HierarchyError, match="cannot remove the root"):
        h.remove_node("root")


def test_label_map_edits_only_point_at_existing_nodes(h):
    with pytest.raises(HierarchyError, match="no node named 'nope'"):
        h.set_mapping("ds", "x", "nope")
    with pytest.raises(HierarchyError, match="ds2: 'x' -> 'nope'"):
        h.set_label_map("ds2", {"x": "nope"})
    h.set_mapping("ds", " X ", "B")
    assert h.map_labels("ds", ["x"]).nodes[0] == "B"
    h.remove_mapping("ds", "x")
    assert "x" not in h.label_map("ds")


def test_copy_is_independent():
    a = default_hierarchy()
    b = a.copy()
    b.add_node("new_cell", "blast")
    assert "new_cell" not in a and a != b
