"""Unknown names are reported with the closest known ones (one difflib helper for all)."""

import json

import numpy as np
import pytest

from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy
from hierwbc.hierarchy.errors import did_you_mean, unknown_node_error, with_hint


def test_did_you_mean():
    nodes = ["lymphocyte_typical", "monocyte", "neutrophil"]
    assert did_you_mean("lymphocyte_typicl", nodes) == "did you mean lymphocyte_typical?"
    assert did_you_mean("Monocyte", nodes) == "did you mean monocyte?"      # case is ignored
    assert did_you_mean("platelet", nodes) == ""                             # nothing close
    assert did_you_mean("neutrofil", ["neutrophil", "neutrophil_band"], n=2) == \
        "did you mean neutrophil or neutrophil_band?"
    assert did_you_mean(3.0, nodes) == "" and did_you_mean("x", []) == ""
    assert with_hint("'monocyt'", "monocyt", nodes) == "'monocyt' (did you mean monocyte?)"
    assert with_hint("'zzz'", "zzz", nodes) == "'zzz'"
    err = unknown_node_error("lymphocyte_typicl", nodes)
    assert isinstance(err, HierarchyError)
    assert str(err) == "no node named 'lymphocyte_typicl' in the hierarchy; did you mean lymphocyte_typical?"
    assert str(unknown_node_error("zzz", nodes)) == "no node named 'zzz' in the hierarchy"


@pytest.fixture(scope="module")
def h():
    return default_hierarchy()


def test_node_lookups_suggest(h):
    with pytest.raises(HierarchyError, match=r"no node named 'lymphocyte_typicl' in the hierarchy; "
                                             r"did you mean lymphocyte_typical\?$"):
        h.node("lymphocyte_typicl")
    with pytest.raises(HierarchyError, match=r"'neutrofil' in the hierarchy; did you mean neutrophil\?"):
        h.indices(["monocyte", None, "neutrofil"])
    with pytest.raises(HierarchyError, match=r"did you mean monocyte\?"):
        h.lineage_of("monocyt")
    with pytest.raises(HierarchyError, match=r"no label map for dataset 'pbcc'; did you mean pbc\? known: \["):
        h.label_map("pbcc")
    assert h.indices(["monocyte", None]).tolist() == [h.node_index["monocyte"], -1]
    assert np.all(h.indices([]) == [])


def test_label_maps_suggest(h):
    g = h.copy()
    with pytest.raises(HierarchyError, match=r"x: 'LY' -> 'lymphocyte_typicl' \(did you mean lymphocyte_typical\?\); "
                                             r"x: 'Q' -> 'qqqqqq'$"):
        g.set_label_map("x", {"LY": "lymphocyte_typicl", "MO": "monocyte", "Q": "qqqqqq"})
    assert "x" not in g.label_maps
    with pytest.raises(HierarchyError, match=r"did you mean monocyte\?"):
        g.set_mapping("x", "MO", "monocyt")
    with pytest.raises(HierarchyError, match=r"display labels given for nodes not in the tree: "
                                             r"'monocyt' \(did you mean monocyte\?\)"):
        Hierarchy(g.copy().tree, labels={"monocyt": "a monocyte"})


def test_file_with_a_misspelt_label_map_node(tmp_path, h):
    d = h.to_dict()
    d["label_maps"]["pbc"]["LY"] = "lymphocyte_typicl"
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(d))
    with pytest.raises(HierarchyError) as e:
        Hierarchy.read(path)
    assert str(e.value).startswith(f"{path}: label-map entries point at nodes not in the tree: ")
    assert "pbc: 'LY' -> 'lymphocyte_typicl' (did you mean lymphocyte_typical?)" in str(e.value)
