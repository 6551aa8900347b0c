"""EditorState: validated edits on copies, undo stack, messages, save/load (no widgets)."""

import pytest

from hierarchy_editor.state import EditorState, save_hierarchy, tree_rows
from hierwbc.hierarchy import Hierarchy, default_hierarchy


@pytest.fixture()
def small():
    #        root
    #       /    \
    #      E      C
    #     / \    / \
    #    A   B  D   G
    #           |
    #           F
    h = Hierarchy.from_newick("((A,B)E,((F)D,G)C)root;")
    h.set_label_map("ds", {"a": "A", "f": "F", "d": "D", "skip": None})
    h.set_display_label("E", "the E group")
    return h


def test_editor_works_on_a_copy(small):
    before = small.copy()
    s = EditorState(small)
    assert s.rename("A", "A2")
    assert small == before  # the caller's object is untouched
    assert "A2" in s.hierarchy and "A" not in s.hierarchy


def test_rename_follows_label_maps(small):
    s = EditorState(small)
    assert s.rename("F", "F_new")
    h = s.hierarchy
    assert h.nodes == ("root", "E", "A", "B", "C", "D", "F_new", "G")
    assert h.label_map("ds").as_dict() == {"a": "A", "f": "F_new", "d": "D", "skip": None}
    assert h.label("F_new") == "F new"  # default label follows the name
    assert s.message.level == "ok" and "'F'" in s.message.text and "'F_new'" in s.message.text


def test_set_label_and_add_child(small):
    s = EditorState(small)
    assert s.set_label("G", "gee")
    assert s.add_child("C", "H", "an H")
    assert s.add_child("H", "I", "")  # empty label -> default label
    h = s.hierarchy
    assert h.children("C") == ["D", "G", "H"] and h.children("H") == ["I"]
    assert h.label("G") == "gee" and h.label("H") == "an H" and h.label("I") == "I"
    assert h.depth[h.node_index["I"]] == 3 and not h.is_leaf[h.node_index["H"]]


def test_move_subtree(small):
    s = EditorState(small)
    assert s.move("C", "A")
    h = s.hierarchy
    assert h.path_to_root("F") == ["F", "D", "C", "A", "E", "root"]
    assert h.children("C") == ["D", "G"]  # the subtree came along unchanged
    assert h.lineage_of("G") == "E"


def test_delete_with_subtree_refused_then_remapped(small):
    s = EditorState(small)
    before = s.hierarchy
    # C's subtree holds D and F, both mapped
    assert s.affected_mappings("C") == [("ds", "f", "F"), ("ds", "d", "D")]
    assert not s.delete("C")
    assert s.message.level == "error"
    assert "ds: 'f' -> 'F'" in s.message.text and "ds: 'd' -> 'D'" in s.message.text
    assert "re-map to parent" in s.message.text and "'root'" in s.message.text
    assert s.hierarchy is before and not s.can_undo
    assert s.delete("C", remap_to_parent=True)
    h = s.hierarchy
    assert h.nodes == ("root", "E", "A", "B")
    assert h.label_map("ds").as_dict() == {"a": "A", "f": "root", "d": "root", "skip": None}


def test_delete_keep_children(small):
    s = EditorState(small)
    assert s.affected_mappings("D", keep_children=True) == [("ds", "d", "D")]
    assert not s.delete("D", keep_children=True)
    assert s.delete("D", keep_children=True, remap_to_parent=True)
    h = s.hierarchy
    assert h.children("C") == ["F", "G"]  # F takes D's place
    assert h.label_map("ds").as_dict()["d"] == "C" and h.label_map("ds").as_dict()["f"] == "F"
    # an unmapped node goes without any remapping
    assert s.affected_mappings("E", keep_children=True) == []
    assert s.delete("E", keep_children=True)
    assert s.hierarchy.children("root") == ["A", "B", "C"]


def test_delete_default_with_remap_matches_naive_reference():
    h0 = default_hierarchy()
    removed = {"promyelocytes", "promyelocyte", "promyelocyte_bilobed", "promyelocyte_atypical",
               "faggot_cell"}
    expected = {ds: {raw: ("immature_granulocyte" if node in removed else node) for raw, node in lm.items()}
                for ds, lm in h0.label_maps.items()}
    s = EditorState(h0)
    assert not s.delete("promyelocytes")
    assert s.delete("promyelocytes", remap_to_parent=True)
    h = s.hierarchy
    assert len(h.nodes) == len(h0.nodes) - 5 and not removed & set(h.nodes)
    assert {ds: lm.as_dict() for ds, lm in h.label_maps.items()} == expected
    assert expected["pbc"]["PMY"] == "immature_granulocyte"  # the reference really remapped


@pytest.mark.parametrize("op, args, fragment", [
    ("rename", ("A", "B"), "'B' already exists"),
    ("rename", ("A", "has space"), "invalid node name"),
    ("add_child", ("C", "G"), "'G' already exists"),
    ("add_child", ("nope", "Z"), "no node named 'nope'"),
    ("move", ("C", "F"), "cycle"),
    ("move", ("root", "A"), "cannot move the root"),
    ("delete", ("root",), "cannot remove the root"),
    ("set_label", ("A", "   "), "non-empty"),
    ("set_mapping", ("ds", "x", "nope"), "no node named 'nope'"),
    ("remove_mapping", ("ds", "zzz"), "no entry 'zzz'"),
    ("add_label_map", ("ds",), "already has a label map"),
    ("add_label_map", ("",), "non-empty"),
])
def test_invalid_edits_refused_with_message(small, op, args, fragment):
    s = EditorState(small)
    before = s.hierarchy.copy()
    assert getattr(s, op)(*args) is False
    assert s.message.level == "error" and fragment in s.message.text
    assert s.message.text.startswith("refused: ")
    assert s.hierarchy == before and not s.can_undo
    assert "None" not in s.message.text


def test_label_map_edits(small):
    s = EditorState(small)
    assert s.set_mapping("ds", "a", None)
    assert s.message.text == "map ds: 'a' -> excluded"
    assert s.set_mapping("ds", "new", "G")
    assert s.remove_mapping("ds", "skip")
    assert s.add_label_map("other")
    assert s.set_mapping("other", "x", "E")
    h = s.hierarchy
    assert h.label_map("ds").as_dict() == {"a": None, "f": "F", "d": "D", "new": "G"}
    assert h.map_labels("other", ["x"]).nodes.tolist() == ["E"]


def test_undo_steps_back_through_each_version(small):
    s = EditorState(small)
    versions = [s.hierarchy.copy()]
    for op, args in [("rename", ("A", "A2")), ("add_child", ("A2", "K")), ("move", ("G", "E")),
                     ("delete", ("B",)), ("set_mapping", ("ds", "a", None))]:
        assert getattr(s, op)(*args), s.message
        versions.append(s.hierarchy.copy())
    assert len(s.history) == 5 and s.history[0] == "rename 'A' to 'A2'"
    for expected in reversed(versions[:-1]):
        assert s.undo()
        assert s.hierarchy == expected
    assert s.hierarchy == small
    assert not s.undo() and s.message.level == "warning"


def test_undo_stack_is_bounded(small):
    s = EditorState(small, max_undo=3)
    for k in range(5):
        assert s.add_child("root", f"N{k}")
    assert len(s.history) == 3
    while s.undo():
        pass
    assert s.hierarchy.children("root") == ["E", "C", "N0", "N1"]


def test_save_load_round_trip(tmp_path, small):
    s = EditorState(small, path=tmp_path / "h.json")
    s.rename("G", "G2")
    written = s.save()
    assert written == [tmp_path / "h.json", tmp_path / "h.nwk"]
    assert (tmp_path / "h.json").read_text() == s.hierarchy.to_json()
    assert (tmp_path / "h.nwk").read_text() == "((A,B)E,((F)D,G2)C)root;\n"
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporaries
    t = EditorState(default_hierarchy())
    assert t.load(tmp_path / "h.json")
    assert t.hierarchy == s.hierarchy and t.hierarchy.label("E") == "the E group"
    assert t.undo() and t.hierarchy == default_hierarchy()  # loading is undoable


def test_newick_save_and_load_warn(tmp_path, small):
    s = EditorState(small)
    assert s.save(tmp_path / "h.nwk") == [tmp_path / "h.nwk"]
    assert s.message.level == "warning" and "topology only" in s.message.text
    assert s.load(tmp_path / "h.nwk")
    assert s.message.level == "warning" and s.hierarchy.label_maps == {}
    assert s.hierarchy.nodes == small.nodes


def test_save_and_load_errors_are_messages(tmp_path, small):
    s = EditorState(small)
    assert s.save() == [] and "no file given" in s.message.text
    assert s.save(tmp_path / "h.csv") == [] and "unknown hierarchy file type" in s.message.text
    assert not s.load(tmp_path / "missing.json")
    assert s.message.level == "error" and "missing.json" in s.message.text
    (tmp_path / "bad.json").write_text('{"format": "hierwbc.hierarchy", "version": 1, "tree": {}}')
    assert not s.load(tmp_path / "bad.json") and "bad.json" in s.message.text
    assert s.hierarchy == small


def test_constructor_reads_existing_path(tmp_path, small):
    save_hierarchy(small, tmp_path / "h.json")
    assert EditorState(path=tmp_path / "h.json").hierarchy == small
    assert EditorState(path=tmp_path / "new.json").hierarchy == default_hierarchy()
    with pytest.raises(TypeError, match="Hierarchy"):
        EditorState("not a hierarchy")


def test_tree_rows_indent_by_depth():
    h = default_hierarchy()
    rows = tree_rows(h)
    assert [name for _, name in rows] == list(h.nodes)
    for (text, name), depth in zip(rows, h.depth):
        label = h.label(name)
        shown = name if label == name.replace("_", " ") else f"{name} · {label}"
        assert text.endswith(shown)
        assert len(text) - len(shown) == 4 * depth  # "├── " / "│   " per level
    assert rows[h.node_index["granulocytic_immature"]][0] == "│   ├── granulocytic_immature · immature"
