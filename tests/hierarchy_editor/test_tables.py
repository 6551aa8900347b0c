"""Label maps as pandas tables."""

import pytest

from hierarchy_editor.tables import label_map_frame, label_map_summary
from hierwbc.hierarchy import HierarchyError, default_hierarchy


def test_label_map_frame():
    h = default_hierarchy()
    frame = label_map_frame(h)
    assert len(frame) == sum(len(lm) for lm in h.label_maps.values())
    row = frame[(frame["dataset"] == "pbc") & (frame["raw label"] == "IG")].iloc[0]
    assert (row["node"], row["display label"], row["lineage"]) == (
        "immature_granulocyte", "immature granulocyte (IG)", "granulopoiesis")
    bmc = label_map_frame(h, "bmc").set_index("raw label")
    assert bmc.loc["NIF", "node"] is None and bmc.loc["NIF", "display label"] == "(excluded)"
    assert list(bmc.index) == list(h.label_map("bmc").as_dict())
    with pytest.raises(HierarchyError, match="no label map for dataset 'zzz'"):
        label_map_frame(h, "zzz")


def test_label_map_summary():
    h = default_hierarchy()
    s = label_map_summary(h)
    assert list(s.index) == list(h.label_maps)
    assert s.loc["pbc", "entries"] == 13 and s.loc["pbc", "excluded"] == 0
    assert s.loc["bmc", "entries"] == 21 and s.loc["bmc", "excluded"] == 2
    # bccd: neutrophil, lymphoid_mature, monocyte, eosinophil, basophil
    assert s.loc["bccd", "nodes"] == 5
    assert s.loc["bccd", "lineages"] == "lymphopoiesis, monopoiesis, granulopoiesis"
