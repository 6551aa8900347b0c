import anndata as ad
import numpy as np
import pytest

from hierwbc.hierarchy import (
    HierarchyError,
    default_hierarchy,
    hierarchy_from_uns,
    hierarchy_to_uns,
)


def test_round_trip_through_an_h5ad_file(tmp_path):
    h = default_hierarchy()
    a = ad.AnnData(np.zeros((2, 3), np.float32))
    a.uns["hierarchy"] = hierarchy_to_uns(h)
    a.write_h5ad(tmp_path / "a.h5ad")
    back = hierarchy_from_uns(ad.read_h5ad(tmp_path / "a.h5ad").uns)
    assert back == h
    assert back.label_maps.keys() == h.label_maps.keys()
    assert hierarchy_to_uns(h)["newick"] == h.to_newick()


def test_none_when_absent_and_the_bare_json_text_accepted():
    h = default_hierarchy()
    assert hierarchy_from_uns({}) is None
    assert hierarchy_from_uns(None) is None
    assert hierarchy_from_uns({"hierarchy": h.to_json()}) == h


def test_a_malformed_record_names_its_source():
    with pytest.raises(HierarchyError, match="model 'x'"):
        hierarchy_from_uns({"hierarchy": {"json": "{"}}, source="model 'x'")
