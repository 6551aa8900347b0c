"""Label matching: trimmed and case-folded; unknown values listed with their counts."""

import pytest

from hierwbc.hierarchy import UnknownLabelError, default_hierarchy


def test_matching_is_trimmed_and_casefolded():
    h = default_hierarchy()
    m = h.map_labels("pbc", [" sne", "Bne ", "IG"])
    assert m.nodes.tolist() == ["neutrophil_segmented", "neutrophil_band", "immature_granulocyte"]


def test_unknown_labels_listed_with_counts():
    h = default_hierarchy()
    with pytest.raises(UnknownLabelError) as e:
        h.map_labels("pbc", ["SNE", "XYZ", "XYZ", "ABC", "S NE"], source="somefile.csv")
    err = e.value
    assert err.counts == {"XYZ": 2, "ABC": 1, "S NE": 1}
    assert "'XYZ' (2)" in str(err) and "somefile.csv" in str(err) and "'pbc'" in str(err)


def test_keep_mode_flags_unknown_and_excluded():
    h = default_hierarchy()
    m = h.map_labels("bmc", ["NIF", "zzz", "BLA", "zzz"], unknown="keep")
    assert m.unknown.tolist() == [False, True, False, True]
    assert m.excluded.tolist() == [True, False, False, False]
    assert m.unknown_counts == {"zzz": 2} and m.excluded_counts == {"NIF": 1}
    assert m.nodes.tolist() == [None, None, "blast", None]


def test_indices_vector():
    h = default_hierarchy()
    idx = h.indices(["wbc", None, "blast"])
    assert idx.tolist() == [0, -1, h.node_index["blast"]]
