"""Aslan reader: fractional boxes to pixels, RGBA tiles to RGB, WBCs of overlapping tiles joined."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc.datasets import assign_folds, check_manifest, excluded_counts, load_image, read_dataset
from hierwbc.datasets.readers.boxes import BoxError
from hierwbc.hierarchy import default_hierarchy


@pytest.fixture(scope="module")
def aslan(data_root):
    return read_dataset("aslan", data_root, progress=False)


@pytest.mark.realdata
def test_real_aslan_counts_and_groups(aslan):
    check_manifest(aslan, default_hierarchy())
    assert len(aslan) == 103 and (aslan["node"] == "wbc").all()
    assert excluded_counts(aslan)["excluded_label"] == 2236  # the rbc boxes
    # overlapping tiles: some WBCs are joined across tiles (fewer groups than tiles with a WBC)
    assert aslan["group"].nunique() < aslan["image_id"].nunique()
    assert (aslan.groupby("image_id")["group"].nunique() == 1).all()
    folds = assign_folds(aslan, k=5)
    assert (folds.groupby("group")["fold"].nunique() == 1).all()


@pytest.mark.realdata
def test_real_aslan_alpha_dropped_and_box_in_pixels(aslan):
    row = aslan.iloc[0]
    rgba = np.asarray(Image.open(row.path))
    assert rgba.shape[2] == 4 and (rgba[..., 3] == 255).all()
    table = pd.read_csv(row.path.rsplit("/images/", 1)[0] + "/annotations.csv")
    hit = table[(table["image"] == row.path.rsplit("/", 1)[1]) & (table["label"] == "wbc")].iloc[0]
    h, w = rgba.shape[:2]
    expected_box = [hit.xmin * w, hit.ymin * h, hit.xmax * w, hit.ymax * h]
    assert np.allclose([row.box_xmin, row.box_ymin, row.box_xmax, row.box_ymax], expected_box)
    x0, y0, x1, y1 = expected_box
    crop = rgba[int(np.floor(y0)):int(np.ceil(y1)), int(np.floor(x0)):int(np.ceil(x1)), :3]
    assert np.array_equal(load_image(row.path, expected_box), crop)


def _tiles(root, rows):
    (root / "images").mkdir(parents=True)
    for name in {r[1] for r in rows}:
        Image.fromarray(np.full((64, 64, 4), 200, np.uint8)).save(root / "images" / name)
    pd.DataFrame(rows, columns=["image_id", "image", "xmin", "ymin", "xmax", "ymax", "label"]).to_csv(
        root / "annotations.csv", index=False)


@pytest.mark.parametrize("box, match", [((0.2, 0.2, 1.4, 0.5), "outside the image"),
                                        ((0.5, 0.2, 0.4, 0.5), "empty"),
                                        (("x", 0.2, 0.4, 0.5), "not a number")])
def test_aslan_bad_box_names_file_and_line(tmp_path, monkeypatch, box, match):
    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))
    _tiles(tmp_path, [(1, "image-1.png", 0.1, 0.1, 0.3, 0.3, "wbc"), (1, "image-1.png", *box, "wbc")])
    with pytest.raises(BoxError, match=match) as err:
        read_dataset("aslan", tmp_path, progress=False)
    assert "line 3" in str(err.value) and "image-1.png" in str(err.value)


def test_aslan_row_naming_a_missing_tile_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))
    _tiles(tmp_path, [(1, "image-1.png", 0.1, 0.1, 0.3, 0.3, "wbc")])
    (tmp_path / "annotations.csv").write_text((tmp_path / "annotations.csv").read_text()
                                              + "2,image-2.png,0.1,0.1,0.2,0.2,wbc\n")
    with pytest.raises(FileNotFoundError, match="image-2.png"):
        read_dataset("aslan", tmp_path, progress=False)
