"""The default WBC tree is exactly the one specified in shared/hierarchy.md."""

from pathlib import Path

import pytest

from hierwbc.hierarchy import default_hierarchy

SPEC = Path(__file__).resolve().parents[3] / "shared" / "hierarchy.md"


def test_tree_drawing_equals_the_specification():
    if not SPEC.exists():
        pytest.skip("shared/hierarchy.md not present")
    text = SPEC.read_text()
    block = text.split("```")[1].strip().splitlines()
    expected = [line.split("  (")[0].rstrip() for line in block]
    assert default_hierarchy().ascii().splitlines() == expected


def test_lineages_and_leaves_at_different_depths():
    h = default_hierarchy()
    assert h.lineages == ("lymphopoiesis", "monopoiesis", "granulopoiesis", "erythropoiesis",
                          "thrombopoiesis", "blast", "artefacts")
    assert h.lineage_of("blast") == "blast"
    assert h.lineage_of("myeloblast") == "granulopoiesis"
    assert h.lineage_of("lymphoblast") == "lymphopoiesis"
    depths = {h.depth[h.node_index[leaf]] for leaf in h.leaves}
    assert depths == {1, 2, 3, 4, 5}
    i = h.node_index
    assert h.lca[i["myeloblast"], i["lymphoblast"]] == i["wbc"]


def test_display_labels_repeat_but_names_are_unique():
    h = default_hierarchy()
    assert len(set(h.nodes)) == len(h.nodes)
    immature = [n for n in h.nodes if h.label(n) == "immature"]
    assert set(immature) >= {"granulocytic_immature", "lymphoid_immature", "monocytic_immature"}


@pytest.mark.parametrize("dataset", ["pbc", "aml_matek", "bmc", "mll23", "raabin", "lisc", "bccd",
                                     "segmentation_wbc"])
def test_every_label_map_points_at_existing_nodes(dataset):
    h = default_hierarchy()
    lm = h.label_map(dataset)
    assert len(lm) > 0
    for raw, node in lm.items():
        assert node is None or node in h, (dataset, raw, node)


def test_coarse_labels_map_to_internal_nodes():
    h = default_hierarchy()
    for dataset, raw, node in [("pbc", "IG", "immature_granulocyte"), ("pbc", "NEUTROPHIL", "neutrophil"),
                               ("bccd", "LYMPHOCYTE", "lymphoid_mature"), ("raabin", "Lymphocyte", "lymphoid_mature"),
                               ("segmentation_wbc", "2", "lymphoid_mature")]:
        mapped = h.map_labels(dataset, [raw]).nodes[0]
        assert mapped == node and not h.is_leaf[h.node_index[node]]
    assert h.map_labels("pbc", ["SNE"]).nodes[0] == "neutrophil_segmented"


def test_mll23_has_the_18_table_a1_names():
    assert len(default_hierarchy().label_map("mll23")) == 18


def test_bmc_excluded_entries():
    m = default_hierarchy().map_labels("bmc", ["NIF", "OTH", "BLA"])
    assert list(m.excluded) == [True, True, False]
    assert m.nodes[2] == "blast"


def test_each_call_returns_a_fresh_copy():
    a = default_hierarchy()
    a.rename_node("blast", "blast_undetermined")
    assert "blast" in default_hierarchy()
