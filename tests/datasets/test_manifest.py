"""Manifest schema checks: each violation names the column and rows at fault."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import ManifestError, boxes, check_manifest, excluded_counts, excluded_table
from hierwbc.datasets.manifest import finish, resolve_label_map
from hierwbc.hierarchy import HierarchyError, default_hierarchy


def good():
    return pd.DataFrame({"path": ["/a.png", "/b.png"], "dataset": "t", "raw_label": ["SNE", "IG"],
                         "node": ["neutrophil_segmented", "immature_granulocyte"], "split": ["", "train"],
                         "fold": np.array([-1, 0], dtype=np.int64)})


def test_good_manifest_passes():
    df = good()
    assert check_manifest(df, default_hierarchy()) is df
    np.testing.assert_array_equal(boxes(df), np.full((2, 4), np.nan))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.drop(columns="fold"), r"lacks column\(s\) \['fold'\]"),
    (lambda d: d.assign(node=["x", None]), r"'node' must hold strings; rows \[1\]"),
    (lambda d: d.assign(dataset=["t", ""]), r"'dataset' is empty in rows \[1\]"),
    (lambda d: d.assign(path=["/a.png", "b.png"]), r"absolute; rows \[1\].*'b.png'"),
    (lambda d: d.assign(fold=[0.5, 1.0]), "'fold' must be integers"),
    (lambda d: d.assign(path=["/a.png", "/a.png"]), r"more than once: rows \[0, 1\]"),
    (lambda d: d.assign(box_xmin=1.0), "all four or none"),
    (lambda d: d.assign(box_xmin=[0.0, np.nan], box_ymin=0.0, box_xmax=5.0, box_ymax=5.0),
     r"partly missing in rows \[1\]"),
    (lambda d: d.assign(box_xmin=[0.0, 5.0], box_ymin=0.0, box_xmax=5.0, box_ymax=5.0), r"xmax <= xmin.*rows \[1\]"),
])
def test_violations_named(edit, message):
    with pytest.raises(ManifestError, match=message):
        check_manifest(edit(good()))


def test_unknown_nodes_counted():
    df = good().assign(node=["neutrophil_segmented", "neutrofil"])
    check_manifest(df)                                       # no hierarchy: not checked
    with pytest.raises(ManifestError, match=r"not in the hierarchy: \{'neutrofil': 1\}; "
                                            r"'neutrofil': did you mean neutrophil\?$"):
        check_manifest(df, default_hierarchy())


def test_label_map_to_a_misspelt_node_suggests_the_closest():
    with pytest.raises(HierarchyError, match=r"'MO' -> 'monocyt' \(did you mean monocyte\?\)"):
        resolve_label_map(default_hierarchy(), {"MO": "monocyt", "X": None}, "mine")


def test_same_image_two_boxes_is_fine():
    df = good().assign(path="/field.jpg", box_xmin=[0.0, 10.0], box_ymin=0.0, box_xmax=[5.0, 15.0], box_ymax=5.0)
    check_manifest(df)
    assert boxes(df).tolist() == [[0, 0, 5, 5], [10, 0, 15, 5]]


def test_finish_maps_excludes_and_reports():
    h = default_hierarchy()
    lm = resolve_label_map(h, {"a": "myelocyte", "b": None}, "mine")
    frame = pd.DataFrame({"path": ["/1", "/2", "/3"], "raw_label": ["A ", "b", "a"], "extra": [1, 2, 3]})
    m = finish(frame, dataset="mine", hierarchy=h, label_map=lm, unknown="error", source="here",
               excluded=[{"reason": "dot_file", "path": "/.x", "raw_label": "", "detail": "hidden"}])
    assert list(m.columns) == ["path", "dataset", "raw_label", "node", "split", "fold", "extra"]
    assert m["node"].tolist() == ["myelocyte", "myelocyte"] and m["extra"].tolist() == [1, 3]
    assert m.attrs["dataset"] == "mine" and m.attrs["source"] == "here"
    assert excluded_counts(m) == {"dot_file": 1, "excluded_label": 1}
    t = excluded_table(m)
    assert t.loc[t.reason == "excluded_label", "path"].tolist() == ["/2"]
    assert excluded_table(good()).empty
    with pytest.raises(ValueError, match="unknown must be one of"):
        finish(frame, dataset="mine", hierarchy=h, label_map=lm, unknown="keep", source="here")
