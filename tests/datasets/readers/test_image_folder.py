"""image_folder reader: class sub-folders + a label map (a hierarchy dataset name or a dict)."""

import pytest
from PIL import Image

from hierwbc.datasets import excluded_counts, excluded_table, read_dataset
from hierwbc.hierarchy import HierarchyError, UnknownLabelError


def _tree(tmp_path, files):
    for rel in files:
        p = tmp_path / "ds" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".png"):
            Image.new("RGB", (3, 3)).save(p)
        else:
            p.write_text("x")
    return tmp_path / "ds"


def test_named_label_map(tmp_path):
    root = _tree(tmp_path, ["Neutrophil/a.png", "Neutrophil/sub/b.png", "Lymphocyte/c.png", "Lymphocyte/.hidden.png"])
    m = read_dataset("image_folder", root, label_map="raabin")
    assert m["dataset"].unique().tolist() == ["raabin"]
    got = sorted(zip([p.rsplit("/", 1)[-1] for p in m.path], m.raw_label, m.node))
    assert got == [("a.png", "Neutrophil", "neutrophil"), ("b.png", "Neutrophil", "neutrophil"),
                   ("c.png", "Lymphocyte", "lymphoid_mature")]
    assert excluded_counts(m) == {"dot_file": 1}


def test_dict_label_map_with_exclusion(tmp_path):
    root = _tree(tmp_path, ["seg/a.png", "band/b.png", "junk/c.png", "notes.txt"])
    m = read_dataset("image_folder", root, label_map={"seg": "neutrophil_segmented", "band": "neutrophil_band",
                                                       "junk": None}, dataset="mine")
    assert sorted(m["node"]) == ["neutrophil_band", "neutrophil_segmented"] and set(m["dataset"]) == {"mine"}
    assert excluded_counts(m) == {"excluded_label": 1, "not_in_class_folder": 1}
    assert "junk" in excluded_table(m).query("reason == 'excluded_label'")["raw_label"].tolist()


def test_dict_pointing_at_missing_node(tmp_path):
    root = _tree(tmp_path, ["seg/a.png"])
    with pytest.raises(HierarchyError, match="'seg' -> 'no_such_node'"):
        read_dataset("image_folder", root, label_map={"seg": "no_such_node"})


def test_unknown_folder(tmp_path):
    root = _tree(tmp_path, ["Neutrophil/a.png", "Blob/a.png", "Blob/b.png"])
    with pytest.raises(UnknownLabelError) as e:
        read_dataset("image_folder", root, label_map="raabin")
    assert e.value.counts == {"Blob": 2}
