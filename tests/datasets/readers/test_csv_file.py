"""csv reader: a manifest file with path + raw_label or node; relative paths; round trip."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import ManifestError, excluded_counts, read_dataset, write_manifest
from hierwbc.hierarchy import UnknownLabelError


def test_raw_labels_mapped_by_dataset_column(tmp_path):
    (tmp_path / "m.csv").write_text("path,dataset,raw_label\nimg/a.jpg,pbc,SNE\n/abs/b.jpg,pbc,IG\n"
                                    "c.bmp,segmentation_wbc,3\n")
    m = read_dataset("csv", tmp_path / "m.csv")
    assert m["path"].tolist() == [str(tmp_path / "img" / "a.jpg"), "/abs/b.jpg", str(tmp_path / "c.bmp")]
    assert m["node"].tolist() == ["neutrophil_segmented", "immature_granulocyte", "monocyte"]
    assert m["dataset"].tolist() == ["pbc", "pbc", "segmentation_wbc"]
    assert m["fold"].dtype == np.int64 and (m["fold"] == -1).all()


def test_nodes_given(tmp_path):
    (tmp_path / "m.csv").write_text("path,node,split,fold\na.png,myelocyte,train,2\nb.png,wbc,test,-1\n")
    m = read_dataset("csv", tmp_path / "m.csv", base="/data")
    assert m["path"].tolist() == ["/data/a.png", "/data/b.png"]
    assert m["raw_label"].tolist() == ["myelocyte", "wbc"] and m["dataset"].tolist() == ["m", "m"]
    assert m["split"].tolist() == ["train", "test"] and m["fold"].tolist() == [2, -1]


def test_unknown_nodes_listed_or_dropped(tmp_path):
    (tmp_path / "m.csv").write_text("path,raw_label,node\na,x,myelocyte\nb,y,nonsense\nc,z,nonsense\n")
    with pytest.raises(UnknownLabelError) as e:
        read_dataset("csv", tmp_path / "m.csv")
    assert e.value.counts == {"nonsense": 2}
    with pytest.warns(UserWarning, match="nonsense"):
        m = read_dataset("csv", tmp_path / "m.csv", unknown="drop")
    assert m["raw_label"].tolist() == ["x"] and excluded_counts(m) == {"unknown_label": 2}


def test_label_map_argument(tmp_path):
    (tmp_path / "m.csv").write_text("path,raw_label\na,Neutrophil\nb,Monocyte\n")
    m = read_dataset("csv", tmp_path / "m.csv", label_map="lisc")
    assert m["node"].tolist() == ["neutrophil", "monocyte"]


def test_missing_columns(tmp_path):
    (tmp_path / "m.csv").write_text("file,label\na,b\n")
    with pytest.raises(ManifestError, match="'path' and 'raw_label' or 'node'"):
        read_dataset("csv", tmp_path / "m.csv")


def test_round_trip_with_boxes(tmp_path):
    df = pd.DataFrame({"path": [str(tmp_path / "a.jpg"), str(tmp_path / "a.jpg")], "dataset": "bccd",
                       "raw_label": ["NEUTROPHIL", "MONOCYTE"], "node": ["neutrophil", "monocyte"],
                       "split": ["train", ""], "fold": [0, -1], "box_xmin": [1.0, 5.0], "box_ymin": [2.0, 6.0],
                       "box_xmax": [3.0, 7.0], "box_ymax": [4.0, 8.0], "field": [7, 7]})
    write_manifest(df, tmp_path / "out" / "m.csv", relative=True)
    assert "../a.jpg" in (tmp_path / "out" / "m.csv").read_text()
    back = read_dataset("csv", tmp_path / "out" / "m.csv")
    pd.testing.assert_frame_equal(back[df.columns], df, check_dtype=False)
    assert back["fold"].dtype == np.int64
