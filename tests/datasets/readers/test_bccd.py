"""BCCD reader: single-WBC crops; fields with zero/several labels or WBC boxes excluded with reasons."""

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

# Measured on shared/data/bccd (labels.csv has 411 rows for 364 fields): 341 crops, 70 fields out.
CROPS = {"NEUTROPHIL": 202, "EOSINOPHIL": 84, "LYMPHOCYTE": 33, "MONOCYTE": 20, "BASOPHIL": 2}
README_APPROX = {"NEUTROPHIL": (200, 10), "EOSINOPHIL": (85, 5), "LYMPHOCYTE": (33, 2), "MONOCYTE": (20, 2),
                 "BASOPHIL": (2.5, 0.5)}
EXCLUDED = {"empty_category": 44, "several_labels": 15, "no_image": 4, "no_wbc_box": 6, "several_wbc_boxes": 1}


@pytest.fixture(scope="module")
def bccd(data_root):
    return read_dataset("bccd", data_root)


@pytest.mark.realdata
def test_real_bccd_crop_counts(bccd):
    assert len(bccd) == 341 == sum(CROPS.values())
    counts = bccd["raw_label"].value_counts().to_dict()
    assert counts == CROPS
    for label, (approx, tol) in README_APPROX.items():
        assert abs(counts[label] - approx) <= tol, label
    assert bccd["field"].is_unique and (bccd["path"] == bccd["source_image"]).all()


@pytest.mark.realdata
def test_real_bccd_excluded_fields_by_reason(bccd):
    assert excluded_counts(bccd) == EXCLUDED
    t = excluded_table(bccd)
    assert len(t) + len(bccd) == 411                       # every labels.csv row accounted for
    assert t["field"].is_unique and not set(t["field"]) & set(bccd["field"])
    empty = t[t.reason == "empty_category"]
    assert (empty["category"] == "").all() and (empty["n_labels"] == 0).all()
    several = t[t.reason == "several_labels"]
    assert (several["n_labels"] == 2).all() and several["category"].str.contains(",").all()
    assert (t.loc[t.reason == "no_wbc_box", "n_wbc_boxes"] == 0).all()
    assert (t.loc[t.reason == "several_wbc_boxes", "n_wbc_boxes"] >= 2).all()
    assert (t.loc[t.reason == "no_image", "n_labels"] == 1).all()
    # 43 of the empty categories also have no image: both reasons are listed
    assert (empty["all_reasons"] == "empty_category; no_image").sum() == 43


@pytest.mark.realdata
def test_real_bccd_every_label_maps(bccd):
    h = default_hierarchy()
    check_manifest(bccd, h)
    assert (bccd["node"] == bccd["raw_label"].map(h.label_map("bccd").lookup)).all()
    assert set(bccd["node"]) == {"neutrophil", "eosinophil", "lymphoid_mature", "monocyte", "basophil"}


@pytest.mark.realdata
def test_real_bccd_boxes_inside_fields_and_crops_decode(bccd):
    b = bccd[["box_xmin", "box_ymin", "box_xmax", "box_ymax"]].to_numpy()
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= 640).all() and (b[:, 3] <= 480).all()
    assert ((b[:, 2] == 640) | (b[:, 3] == 480) | (b[:, 0] == 0) | (b[:, 1] == 0)).any()  # some touch the border
    assert validate(bccd, progress=False).ok
    r = bccd.iloc[0]
    crop = load_image(r.path, (r.box_xmin, r.box_ymin, r.box_xmax, r.box_ymax))
    assert crop.shape == (int(r.box_ymax - r.box_ymin), int(r.box_xmax - r.box_xmin), 3)


def _voc(boxes):
    objs = "".join(f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
                   f"<ymax>{b[3]}</ymax></bndbox></object>" for n, b in boxes)
    return f"<annotation><size><width>40</width><height>30</height></size>{objs}</annotation>"


def _fake(tmp_path, labels, fields, annotations):
    base = tmp_path / "bccd"
    (base / "BCCD" / "JPEGImages").mkdir(parents=True)
    (base / "BCCD" / "Annotations").mkdir(parents=True)
    (base / "labels.csv").write_text(",Image,Category\n" + "".join(f",{n},{c}\n" for n, c in labels))
    a = np.arange(30 * 40 * 3, dtype=np.uint8).reshape(30, 40, 3)
    for n in fields:
        Image.fromarray(a).save(base / "BCCD" / "JPEGImages" / f"BloodImage_{n:05d}.png", format="PNG")
        (base / "BCCD" / "JPEGImages" / f"BloodImage_{n:05d}.png").rename(
            base / "BCCD" / "JPEGImages" / f"BloodImage_{n:05d}.jpg")
    for n, text in annotations.items():
        (base / "BCCD" / "Annotations" / f"BloodImage_{n:05d}.xml").write_text(text)
    return base, a


def test_fake_bccd_each_reason(tmp_path):
    wbc = ("WBC", (11, 6, 30, 30))                # VOC 1-based inclusive; touches the bottom border
    labels = [(0, "NEUTROPHIL"), (1, ""), (2, '"NEUTROPHIL, EOSINOPHIL"'), (3, "MONOCYTE"), (4, "MONOCYTE"),
              (5, "LYMPHOCYTE"), (6, "EOSINOPHIL"), (7, "BASOPHIL"), (9, "EOSINOPHIL"), (9, "EOSINOPHIL")]
    ann = {0: _voc([wbc, ("RBC", (1, 1, 5, 5))]), 1: _voc([wbc]), 2: _voc([wbc, wbc]), 4: _voc([("RBC", (1, 1, 5, 5))]),
           5: _voc([wbc, wbc]), 6: "<annotation><object>", 7: _voc([("WBC", (20, 5, 10, 9))]), 8: _voc([wbc]),
           9: _voc([wbc])}
    base, a = _fake(tmp_path, labels, fields=[0, 1, 2, 4, 5, 6, 7, 8, 9], annotations=ann)
    m = read_dataset("bccd", base)
    assert m["field"].tolist() == [0] and m["node"].tolist() == ["neutrophil"]
    assert m[["box_xmin", "box_ymin", "box_xmax", "box_ymax"]].iloc[0].tolist() == [10, 5, 30, 30]
    np.testing.assert_array_equal(load_image(m.path[0], (10, 5, 30, 30)), a[5:30, 10:30])
    reasons = dict(zip(excluded_table(m)["field"], excluded_table(m)["reason"]))
    assert reasons == {1: "empty_category", 2: "several_labels", 3: "no_image", 4: "no_wbc_box",
                       5: "several_wbc_boxes", 6: "bad_annotation", 7: "invalid_wbc_box", 8: "no_label_row",
                       9: "several_label_rows"}


def test_fake_bccd_unknown_category(tmp_path):
    wbc = ("WBC", (2, 2, 20, 20))
    base, _ = _fake(tmp_path, [(0, "NEUTROPHIL"), (1, "BAND"), (2, "BAND")], [0, 1, 2],
                    {i: _voc([wbc]) for i in range(3)})
    with pytest.raises(UnknownLabelError) as e:
        read_dataset("bccd", base)
    assert e.value.counts == {"BAND": 2}
    with pytest.warns(UserWarning, match="BAND"):
        m = read_dataset("bccd", base, unknown="drop")
    assert m["field"].tolist() == [0] and excluded_counts(m) == {"unknown_label": 2}
