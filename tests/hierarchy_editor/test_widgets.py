"""HierarchyEditor driven in Python: set widget values, click buttons, read what is shown."""

import pytest

from hierarchy_editor import HierarchyEditor
from hierarchy_editor.label_map_widget import EXCLUDED_OPTION
from hierwbc.hierarchy import Hierarchy, default_hierarchy


@pytest.fixture()
def editor(tmp_path):
    return HierarchyEditor(default_hierarchy(), path=tmp_path / "h.json", auto_draw=False)


def shown_names(ed):
    return [value for _, value in ed.tree.options]


def message(ed):
    return ed.message.value


def test_selecting_fills_the_node_panel(editor):
    editor.select("myelocyte")
    assert editor.new_name.value == "myelocyte" and editor.new_label.value == "myelocyte"
    assert editor.move_parent.value == "immature_granulocyte"
    assert "granulopoiesis" in editor.selected.value and "depth 4" in editor.selected.value
    assert "pbc: &#x27;MY&#x27; → myelocyte" in editor.delete_preview.value
    editor.select("wbc")
    assert editor.delete.disabled and editor.move.disabled


def test_rename(editor):
    editor.select("basophil")
    editor.new_name.value = "basophil_x"
    editor.rename.click()
    h = editor.hierarchy
    assert "basophil" not in h and h.parent_of("basophil_x") == "granulocytic_mature"
    assert h.label_map("pbc").lookup("BA") == "basophil_x"
    assert editor.node == "basophil_x"  # the selection follows the renamed node
    assert shown_names(editor) == list(h.nodes)
    text = {v: t for t, v in editor.tree.options}["basophil_x"]
    assert text == "│       └── basophil_x"
    assert "hierwbc-level-ok" in message(editor) and "basophil_x" in message(editor)
    assert not editor.undo.disabled


def test_set_label_add_move(editor):
    editor.select("neutrophil")
    editor.new_label.value = "neutrophil (any)"
    editor.set_label.click()
    assert editor.hierarchy.label("neutrophil") == "neutrophil (any)"
    editor.child_name.value = "neutrophil_hyperseg"
    editor.child_label.value = "hypersegmented neutrophil"
    editor.add_child.click()
    h = editor.hierarchy
    assert h.children("neutrophil") == ["neutrophil_band", "neutrophil_segmented", "neutrophil_hyperseg"]
    assert h.label("neutrophil_hyperseg") == "hypersegmented neutrophil"
    assert editor.node == "neutrophil_hyperseg" and editor.child_name.value == ""
    editor.select("basophil")
    editor.move_parent.value = "neutrophil"
    editor.move.click()
    assert editor.hierarchy.path_to_root("basophil") == [
        "basophil", "neutrophil", "granulocytic_mature", "granulopoiesis", "wbc"]
    assert editor.move_parent.value == "neutrophil"


def test_delete_both_modes(editor):
    n0 = len(editor.hierarchy.nodes)
    editor.select("lymphocyte_atypical")
    editor.delete_mode.value = "keep"
    assert "aml_matek: &#x27;LYA&#x27; → lymphocyte_atypical" in editor.delete_preview.value
    editor.delete.click()  # LYA -> lymphocyte_atypical would break: refused
    assert "lymphocyte_atypical" in editor.hierarchy
    assert "hierwbc-level-error" in message(editor) and "re-map to parent" in message(editor)
    editor.remap.value = True
    editor.delete.click()
    h = editor.hierarchy
    assert h.children("lymphoid_mature") == [
        "lymphocyte_typical", "lymphocyte_reactive", "lymphocyte_neoplastic",
        "lymphocyte_large_granular", "hairy_cell", "plasma_cell"]
    assert h.label_map("aml_matek").lookup("LYA") == "lymphoid_mature"
    assert editor.node == "lymphoid_mature" and editor.remap.value is False
    editor.select("monocytic_immature")  # subtree: monoblast is mapped by aml_matek/mll23
    editor.delete_mode.value = "subtree"
    editor.remap.value = True
    editor.delete.click()
    h = editor.hierarchy
    assert len(h.nodes) == n0 - 1 - 3 and h.children("monopoiesis") == ["monocytic_mature"]
    assert h.label_map("mll23").lookup("monoblast") == "monopoiesis"


def test_invalid_edits_show_message_not_traceback(editor):
    before = editor.hierarchy
    editor.select("eosinophil")
    editor.new_name.value = "basophil"
    editor.rename.click()
    assert "refused" in message(editor) and "&#x27;basophil&#x27; already exists" in message(editor)
    editor.select("granulopoiesis")
    editor.move_parent.value = "myelocyte"
    editor.move.click()
    assert "cycle" in message(editor)
    editor.select("basophil")
    editor.delete.click()
    assert "pbc: &#x27;BA&#x27; -&gt; &#x27;basophil&#x27;" in message(editor)
    assert "Traceback" not in message(editor)
    assert editor.hierarchy is before and editor.undo.disabled


def test_undo_button(editor):
    editor.select("platelet")
    editor.new_name.value = "thrombocyte"
    editor.rename.click()
    editor.select("artefacts")
    editor.child_name.value = "debris"
    editor.add_child.click()
    editor.undo.click()
    assert "debris" not in editor.hierarchy and "thrombocyte" in editor.hierarchy
    assert "undid: add &#x27;debris&#x27;" in message(editor)
    editor.undo.click()
    assert editor.hierarchy == default_hierarchy() and editor.undo.disabled
    assert shown_names(editor) == list(default_hierarchy().nodes)


def test_label_map_table(editor):
    table = editor.label_maps
    assert list(table.dataset.options) == list(default_hierarchy().label_maps)
    table.dataset.value = "bmc"
    assert list(table.row_widgets) == list(default_hierarchy().label_map("bmc").as_dict())
    assert table.row_widgets["NIF"][0].value == EXCLUDED_OPTION
    table.row_widgets["OTH"][0].value = "artefact"  # re-map a row
    assert editor.hierarchy.label_map("bmc").lookup("OTH") == "artefact"
    table.row_widgets["ART"][0].value = EXCLUDED_OPTION
    assert editor.hierarchy.label_map("bmc").lookup("ART") is None
    table.row_widgets["BLA"][1].click()  # remove a row
    assert "BLA" not in editor.hierarchy.label_map("bmc") and "BLA" not in table.row_widgets
    table.new_raw.value = "MOB"
    table.new_node.value = "monoblast"
    table.add.click()
    assert editor.hierarchy.label_map("bmc").lookup("MOB") == "monoblast"
    assert list(table.row_widgets)[-1] == "MOB" and table.new_raw.value == ""
    assert table.dataset.value == "bmc"  # the table stays on the dataset being edited
    table.new_dataset.value = "my_lab"
    table.add_dataset.click()
    assert table.dataset.value == "my_lab" and len(editor.hierarchy.label_map("my_lab")) == 0
    table.new_raw.value = ""
    table.add.click()
    assert "empty raw label" in message(editor)
    for _ in range(6):
        editor.undo.click()
    assert editor.hierarchy == default_hierarchy()


def test_label_map_rows_follow_renames(editor):
    editor.select("monocyte")
    editor.new_name.value = "monocyte_classical"
    editor.rename.click()
    editor.label_maps.dataset.value = "pbc"
    assert editor.label_maps.row_widgets["MO"][0].value == "monocyte_classical"


def test_save_load_round_trip(editor, tmp_path):
    editor.select("blast")
    editor.new_label.value = "blast, lineage unknown"
    editor.set_label.click()
    editor.save.click()
    expected = editor.hierarchy.to_json()
    assert (tmp_path / "h.json").read_text() == expected
    assert (tmp_path / "h.nwk").read_text() == editor.hierarchy.to_newick() + "\n"
    assert "saved" in message(editor)
    other = HierarchyEditor(auto_draw=False)
    other.path.value = str(tmp_path / "h.json")
    other.load.click()
    assert other.hierarchy == editor.hierarchy
    assert other.hierarchy.label("blast") == "blast, lineage unknown"
    other.path.value = str(tmp_path / "again.json")
    other.save.click()
    assert (tmp_path / "again.json").read_text() == expected
    other.path.value = str(tmp_path / "nope.json")
    other.load.click()
    assert "hierwbc-level-error" in message(other) and "nope.json" in message(other)
    assert Hierarchy.read(tmp_path / "again.json") == editor.hierarchy


def test_drawing_updates_after_edits():
    ed = HierarchyEditor(default_hierarchy(), auto_draw=True, draw_engine="matplotlib")
    first = bytes(ed.drawing.value)
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    ed.select("blast")
    ed.new_label.value = "a much longer display label for blasts"
    ed.set_label.click()
    second = bytes(ed.drawing.value)
    assert second.startswith(b"\x89PNG") and second != first


def test_repr_mimebundle_is_the_widget(editor):
    bundle = editor._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == editor.widget.model_id
    assert bundle["text/plain"].startswith("HierarchyEditor(Hierarchy(root='wbc', nodes=49")


def test_drawing_only_redrawn_when_the_tree_changed(tmp_path, monkeypatch):
    ed = HierarchyEditor(default_hierarchy(), path=tmp_path / "h.json", draw_engine="matplotlib")
    calls = []
    monkeypatch.setattr("hierarchy_editor.widgets.render_tree_png", lambda h, engine: calls.append(h) or b"png")
    ed.save.click()  # saving changes nothing to draw
    ed.select("blast")
    ed.new_name.value = "myeloblast"
    ed.rename.click()  # refused: nothing to draw
    assert calls == []
    ed.new_name.value = "blast_x"
    ed.rename.click()
    assert len(calls) == 1 and "blast_x" in calls[0]
    ed.undo.click()
    assert len(calls) == 2 and "blast" in calls[1]
    ed.auto_draw.value = False
    ed.new_name.value = "blast_y"
    ed.rename.click()
    assert len(calls) == 2
    ed.draw.click()
    assert len(calls) == 3 and "blast_y" in calls[2]
