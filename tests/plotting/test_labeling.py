"""LabelGallery: thumbnails with a type menu each; what is picked becomes a reference CSV that
adapt / predict --reference read back."""

import numpy as np
import pytest

from hierwbc.plotting.labeling import UNLABELED, LabelGallery
from hierwbc.reference import reference_manifest


def test_picked_types_become_a_reference_manifest(tmp_path, manifest, h):
    cells = manifest.head(30)
    g = LabelGallery(cells, hierarchy=h, page_size=12)
    assert g.n_pages == 3 and len(g._grid.children) == 12
    menus = [tile.children[1] for tile in g._grid.children]
    menus[0].value, menus[3].value = "monocyte", "eosinophil"  # as a click in the browser sets them
    g.show_page(2)
    assert len(g._grid.children) == 6  # the last page holds the rest
    g._grid.children[5].children[1].value = "neutrophil"
    g.show_page(0)
    assert g._grid.children[3].children[1].value == "eosinophil"  # a page keeps its labels when revisited
    table = g.labeled
    assert table["path"].tolist() == [cells["path"].iloc[i] for i in (0, 3, 29)]
    assert table["node"].tolist() == ["monocyte", "eosinophil", "neutrophil"]
    assert "monocyte: 1" in g._status.value and "neutrophil: 1" in g._status.value
    back = reference_manifest(g.write(tmp_path / "my_labels.csv"), h)
    assert back["path"].tolist() == table["path"].tolist() and back["node"].tolist() == table["node"].tolist()


def test_headless_labels_and_named_errors(tmp_path, manifest, h):
    cells = manifest.head(5)
    g = LabelGallery(cells, hierarchy=h)
    with pytest.raises(ValueError, match="no cell is labelled"):
        g.write(tmp_path / "x.csv")
    g.set_labels({cells["path"].iloc[1]: "basophil"})
    g.set_labels({cells["path"].iloc[2]: "monocyte"})  # a second call keeps the first's label
    assert g.labeled["node"].tolist() == ["basophil", "monocyte"]
    g.set_labels([UNLABELED, UNLABELED, UNLABELED, "neutrophil", UNLABELED])
    assert g.labeled["node"].tolist() == ["neutrophil"]
    with pytest.raises(ValueError, match="not among the choices"):
        g.set_labels(["blast"] * 5)
    with pytest.raises(KeyError, match="not among the gallery's cells"):
        g.set_labels({"/nowhere.png": "monocyte"})
    with pytest.raises(ValueError, match="not nodes of the tree"):
        LabelGallery(cells, choices=["monocyte", "monocite"], hierarchy=h)
    image = np.frombuffer(g._grid.children[0].children[0].value[:8], np.uint8)
    assert bytes(image) == b"\x89PNG\r\n\x1a\n"


def test_gallery_labels_join_a_labelled_folder(tmp_path, manifest, h):
    from hierwbc.workflow.adaptation import with_more_labels

    folder = tmp_path / "labelled"
    for node in ("monocyte", "eosinophil"):
        (folder / node).mkdir(parents=True)
    src = manifest[manifest["node"].isin(["monocyte", "eosinophil"])].groupby("node").head(2)
    for _, row in src.iterrows():
        (folder / row["node"] / f"{row['path'].split('/')[-1]}").symlink_to(row["path"])
    g = LabelGallery(manifest.head(10), hierarchy=h)
    g.set_labels({manifest["path"].iloc[0]: "basophil", manifest["path"].iloc[1]: "neutrophil"})
    out = with_more_labels(folder, g.labeled, tmp_path / "all.csv", h)
    both = reference_manifest(out, h)
    assert len(both) == len(src) + 2
    assert sorted(both["node"]) == sorted([*src["node"], "basophil", "neutrophil"])
