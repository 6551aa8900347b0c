"""Newick and JSON I/O: exact round trips and broken files named by line, column or node."""

import json

import pytest

from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy


def test_json_round_trip_is_exact(tmp_path):
    h = default_hierarchy()
    h.set_mapping("pbc", "XX", None)
    p = h.write(tmp_path / "h.json")
    back = Hierarchy.read(p)
    assert back == h
    assert back.labels == h.labels
    assert back.label_maps["pbc"].as_dict() == h.label_maps["pbc"].as_dict()
    assert back.to_json() == p.read_text()  # writing again gives the same bytes


def test_newick_round_trip_keeps_topology_and_order(tmp_path):
    h = default_hierarchy()
    p = h.write(tmp_path / "h.nwk")
    back = Hierarchy.read(p)
    assert back.to_newick() == h.to_newick()
    assert back.nodes == h.nodes
    assert p.read_text().strip().endswith(")wbc;")  # root named


def test_newick_with_lengths_comments_and_quotes():
    h = Hierarchy.from_newick("((A:0.1,'B.2':2e-1)E:1[comment],C)root:0;\n")
    assert h.nodes == ("root", "E", "A", "B.2", "C")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    h = default_hierarchy()
    h.write(tmp_path / "h.json")
    h.write(tmp_path / "h.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.json"]


@pytest.mark.parametrize("text, fragment", [
    ("((A,B)E,C)root", "1:15: expected ';'"),
    ("((A,B)E,C;", "1:10: expected ',' or ')'"),
    ("((A,B)E,C)root;\nx", "2:1: text after the final ';'"),
    ("((A,)E,C)root;", "1:5: a leaf has no name"),
    ("((A,B),C)root;", "1:7: an internal node has no name"),
    ("((A,B)E,C);", "1:11: an internal node has no name"),
    ("((A,B)E,\n  C:x)root;", "2:5: expected a branch length"),
    ("", "empty Newick text"),
])
def test_broken_newick_names_line_and_column(tmp_path, text, fragment):
    p = tmp_path / "bad.nwk"
    p.write_text(text)
    with pytest.raises(HierarchyError) as e:
        Hierarchy.read(p)
    assert str(p) in str(e.value) and fragment in str(e.value)


def test_duplicate_node_names_are_named():
    with pytest.raises(HierarchyError, match="duplicate node name 'A'"):
        Hierarchy.from_newick("((A,B)E,(A)C)root;")


def test_invalid_node_name_is_named():
    with pytest.raises(HierarchyError, match="invalid node name 'band neutrophil'"):
        Hierarchy.from_newick("(('band neutrophil')E)root;")


def test_broken_json_names_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "hierwbc.hierarchy",\n "version": 1,\n "tree": {"name": "r",}\n}')
    with pytest.raises(HierarchyError, match=r"bad\.json:3:\d+: invalid JSON"):
        Hierarchy.read(p)


def _doc(tree, maps=None):
    return json.dumps({"format": "hierwbc.hierarchy", "version": 1, "tree": tree, "label_maps": maps or {}})


@pytest.mark.parametrize("tree, maps, fragment", [
    ({"name": "r", "children": [{"label": "x"}]}, None, "tree ('r').children[0]: missing or non-string 'name'"),
    ({"name": "r", "children": [{"name": "a", "kids": []}]}, None, "unknown key(s) ['kids']"),
    ({"name": "r", "children": {"name": "a"}}, None, "'children' must be a list"),
    ({"name": "r", "children": [{"name": "a"}, {"name": "a"}]}, None, "duplicate node name 'a'"),
    ({"name": "r", "children": [{"name": "a"}]}, {"pbc": {"BA": "basophil"}},
     "pbc: 'BA' -> 'basophil'"),
    ({"name": "r", "children": [{"name": "a"}]}, {"pbc": {"BA": 3}}, "label_maps.pbc.BA"),
])
def test_broken_json_structure_names_the_node_or_entry(tmp_path, tree, maps, fragment):
    p = tmp_path / "bad.json"
    p.write_text(_doc(tree, maps))
    with pytest.raises(HierarchyError) as e:
        Hierarchy.read(p)
    assert fragment in str(e.value) and str(p) in str(e.value)


def test_not_a_hierarchy_file(tmp_path):
    p = tmp_path / "other.json"
    p.write_text('{"a": 1}')
    with pytest.raises(HierarchyError, match="not a hierwbc hierarchy"):
        Hierarchy.read(p)
    with pytest.raises(HierarchyError, match="no such hierarchy file"):
        Hierarchy.read(tmp_path / "missing.nwk")
    b = tmp_path / "binary.nwk"
    b.write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(HierarchyError, match="not a UTF-8 text file"):
        Hierarchy.read(b)
