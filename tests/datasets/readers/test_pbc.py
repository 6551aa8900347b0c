"""PBC reader: the real copy (exact counts of shared/data/README.md) and a fake original release."""

import warnings

import numpy as np
import pytest
from PIL import Image

from hierwbc.datasets import (
    check_manifest,
    excluded_counts,
    excluded_table,
    load_image,
    read_dataset,
    validate,
)
from hierwbc.hierarchy import UnknownLabelError, default_hierarchy

# shared/data/README.md, "pbc: layout and labels"
README_COUNTS = {"BA": 1218, "EO": 3117, "ERB": 1551, "PMY": 592, "MY": 1137, "MMY": 1015, "IG": 151,
                 "LY": 1214, "MO": 1420, "SNE": 1646, "BNE": 1633, "NEUTROPHIL": 50, "PLATELET": 2348}
FOLDER_OF = {"BA": "basophil", "EO": "eosinophil", "ERB": "erythroblast", "PMY": "ig", "MY": "ig", "MMY": "ig",
             "IG": "ig", "LY": "lymphocyte", "MO": "monocyte", "SNE": "neutrophil", "BNE": "neutrophil",
             "NEUTROPHIL": "neutrophil", "PLATELET": "platelet"}


@pytest.fixture(scope="module")
def pbc(data_root):
    return read_dataset("pbc", data_root)


@pytest.mark.realdata
def test_real_pbc_counts(pbc):
    assert len(pbc) == 17_092 == sum(README_COUNTS.values())
    assert pbc["raw_label"].value_counts().to_dict() == README_COUNTS
    assert (pbc["dataset"] == "pbc").all() and (pbc["split"] == "").all() and (pbc["fold"] == -1).all()
    # the prefix belongs to the folder the release puts it in
    assert (pbc["folder"] == pbc["raw_label"].map(FOLDER_OF)).all()
    assert excluded_counts(pbc) == {}
    assert pbc["path"].str.startswith("/").all() and pbc["path"].is_unique


@pytest.mark.realdata
def test_real_pbc_every_label_maps_and_coarse_labels_are_internal(pbc):
    h = default_hierarchy()
    check_manifest(pbc, h)
    lm = h.label_map("pbc")
    assert (pbc["node"] == pbc["raw_label"].map(lm.lookup)).all()
    idx = h.indices(pbc["node"])
    coarse = pbc["raw_label"].isin(["IG", "NEUTROPHIL"]).to_numpy()
    assert not h.is_leaf[idx[coarse]].any() and h.is_leaf[idx[~coarse]].all()
    assert set(pbc.loc[pbc.raw_label == "IG", "node"]) == {"immature_granulocyte"}
    assert set(pbc.loc[pbc.raw_label == "NEUTROPHIL", "node"]) == {"neutrophil"}
    assert h.ancestors[h.node_index["neutrophil_band"], h.node_index["neutrophil"]]


@pytest.mark.realdata
@pytest.mark.parametrize("sub", ["", "pbc", "pbc/PBC_dataset_normal_DIB"])
def test_real_pbc_root_may_point_at_the_dataset(data_root, pbc, sub):
    m = read_dataset("pbc", data_root / sub if sub else data_root)
    assert m["path"].tolist() == pbc["path"].tolist()


@pytest.mark.realdata
def test_real_pbc_sample_decodes(pbc):
    sample = pbc.groupby("raw_label").head(3)
    assert validate(sample, progress=False).ok
    img = load_image(sample["path"].iloc[0])
    assert img.dtype == np.uint8 and img.shape == (224, 224, 3)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_pbc_all_images_decode(pbc):
    report = validate(pbc, progress=False)
    assert report.ok and report.n_checked == 17_092


def _release(tmp_path, files, size=(360, 363), nested=False):
    """A fake original release: PBC_dataset_normal_DIB/<folder>/<file> with 360x363 JPEGs."""
    top = tmp_path / "download" / "PBC_dataset_normal_DIB"
    base = top / "PBC_dataset_normal_DIB" if nested else top
    for rel in files:
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".jpg"):
            Image.new("RGB", size, (200, 150, 180)).save(p)
        else:
            p.write_bytes(b"\x00\x01")
    return tmp_path / "download", base


ORIGINAL = ["basophil/BA_100102.jpg", "ig/IG_1.jpg", "ig/MMY_2.jpg", "neutrophil/SNE_3.jpg",
            "neutrophil/NEUTROPHIL_4.jpg", "neutrophil/.DS_Store", "ig/._MMY_2.jpg", ".DS_Store"]


@pytest.mark.parametrize("nested", [False, True])
def test_original_release_layout(tmp_path, nested):
    root, base = _release(tmp_path, ORIGINAL, nested=nested)
    m = read_dataset("pbc", root)
    assert sorted(m["raw_label"]) == ["BA", "IG", "MMY", "NEUTROPHIL", "SNE"]
    assert dict(zip(m.raw_label, m.node))["IG"] == "immature_granulocyte"
    assert all(p.startswith(str(base)) for p in m["path"])
    assert load_image(m["path"].iloc[0]).shape == (363, 360, 3)
    skipped = excluded_table(m)
    assert sorted(skipped["reason"]) == ["dot_file"] * 3
    assert {p.rsplit("/", 1)[-1] for p in skipped["path"]} == {".DS_Store", "._MMY_2.jpg"}


def test_unknown_prefix_is_an_error_listing_counts(tmp_path):
    root, _ = _release(tmp_path, ["basophil/BA_1.jpg", "basophil/XX_1.jpg", "basophil/XX_2.jpg",
                                  "eosinophil/EOS_3.jpg"], size=(4, 4))
    with pytest.raises(UnknownLabelError) as e:
        read_dataset("pbc", root)
    assert e.value.counts == {"XX": 2, "EOS": 1}
    assert "'XX' (2)" in str(e.value) and "'EOS' (1)" in str(e.value)


def test_unknown_drop_reports(tmp_path):
    root, base = _release(tmp_path, ["basophil/BA_1.jpg", "basophil/XX_1.jpg", "basophil/XX_2.jpg"], size=(4, 4))
    with pytest.warns(UserWarning, match=r"dropped 2 row\(s\).*'XX': 2"):
        m = read_dataset("pbc", root, unknown="drop")
    assert m["raw_label"].tolist() == ["BA"]
    t = excluded_table(m)
    assert t["reason"].tolist() == ["unknown_label"] * 2 and t["raw_label"].tolist() == ["XX", "XX"]
    assert sorted(t["path"]) == [str(base / "basophil" / "XX_1.jpg"), str(base / "basophil" / "XX_2.jpg")]


def test_excluded_label_reported_not_warned(tmp_path):
    root, _ = _release(tmp_path, ["basophil/BA_1.jpg", "platelet/PLATELET_1.jpg"], size=(4, 4))
    h = default_hierarchy()
    h.set_mapping("pbc", "PLATELET", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = read_dataset("pbc", root, hierarchy=h)
    assert m["raw_label"].tolist() == ["BA"]
    assert excluded_counts(m) == {"excluded_label": 1}
    assert excluded_table(m)["raw_label"].tolist() == ["PLATELET"]


def test_non_image_files_recorded(tmp_path):
    root, _ = _release(tmp_path, ["basophil/BA_1.jpg", "basophil/Thumbs.db", "README.txt"], size=(4, 4))
    m = read_dataset("pbc", root)
    assert len(m) == 1
    assert sorted(excluded_table(m)["reason"]) == ["not_image_file", "not_in_class_folder"]
