"""Raabin reader: YOLO boxes to pixel crops, root-labelled WBCs, named errors for bad files."""

import numpy as np
import pytest
from PIL import Image

from hierwbc.datasets import assign_folds, check_manifest, excluded_counts, load_image, read_dataset
from hierwbc.datasets.readers.boxes import BoxError
from hierwbc.hierarchy import default_hierarchy


@pytest.fixture(scope="module")
def raabin(data_root):
    return read_dataset("raabin", data_root)


@pytest.mark.realdata
def test_real_raabin_counts(raabin):
    check_manifest(raabin, default_hierarchy())
    # shared/data/README.md: 500 fields; 467 with one WBC box, 25 with two, 8 with none
    assert len(raabin) == 517 and (raabin["node"] == "wbc").all()
    per_field = raabin["field"].value_counts()
    assert (per_field == 1).sum() == 467 and (per_field == 2).sum() == 25
    assert excluded_counts(raabin)["no_wbc_box"] == 8
    folds = assign_folds(raabin, k=5)
    assert (folds.groupby("field")["fold"].nunique() == 1).all()  # two cells of one field stay together


@pytest.mark.realdata
def test_real_raabin_box_matches_hand_computed_crop(raabin, data_root):
    row = raabin.iloc[0]
    line = next(x for x in (data_root / "raabin" / "labels" / f"{row.field}.txt").read_text().splitlines()
                if x.split()[0] == "0")
    xc, yc, w, h = (float(v) for v in line.split()[1:])
    x0, y0, x1, y1 = (xc - w / 2) * 575, (yc - h / 2) * 575, (xc + w / 2) * 575, (yc + h / 2) * 575
    assert np.allclose([row.box_xmin, row.box_ymin, row.box_xmax, row.box_ymax], [x0, y0, x1, y1])
    field = np.asarray(Image.open(row.path).convert("RGB"))
    expected = field[int(np.floor(y0)):int(np.ceil(y1)), int(np.floor(x0)):int(np.ceil(x1))]
    assert np.array_equal(load_image(row.path, (x0, y0, x1, y1)), expected)


def _field(root, name, lines):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    (root / "classes.txt").write_text("WBC\nRBC\nPlatelet\n")
    Image.fromarray(np.zeros((100, 80, 3), np.uint8)).save(root / "images" / f"{name}.jpg")
    if lines is not None:
        (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")


def test_raabin_constructed_boxes_in_pixels(tmp_path):
    _field(tmp_path, "a", ["0 0.5 0.5 0.25 0.5", "1 0.1 0.1 0.1 0.1"])
    m = read_dataset("raabin", tmp_path)
    assert len(m) == 1 and excluded_counts(m) == {"excluded_label": 1}
    # width 80, height 100: x 0.375..0.625 -> 30..50, y 0.25..0.75 -> 25..75
    assert m[["box_xmin", "box_ymin", "box_xmax", "box_ymax"]].to_numpy().tolist() == [[30, 25, 50, 75]]


@pytest.mark.parametrize("line, match", [("0 0.5 0.5 1.5 0.2", "outside the image"),
                                         ("0 0.5 0.5 0 0.2", "empty"),
                                         ("0 0.5 0.5 0.2", "4 fields"),
                                         ("7 0.5 0.5 0.2 0.2", "class index 7"),
                                         ("0 x 0.5 0.2 0.2", "not five numbers")])
def test_raabin_bad_box_names_file_and_line(tmp_path, line, match):
    _field(tmp_path, "bad", ["0 0.5 0.5 0.2 0.2", line])
    with pytest.raises(BoxError, match=match) as err:
        read_dataset("raabin", tmp_path)
    assert "bad.txt" in str(err.value)


def test_raabin_missing_label_file_names_it(tmp_path):
    _field(tmp_path, "lost", None)
    with pytest.raises(FileNotFoundError, match="lost.txt"):
        read_dataset("raabin", tmp_path)
