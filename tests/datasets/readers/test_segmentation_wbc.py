"""segmentation_wbc reader: 300 BMPs, codes 1-5 with counts 176/53/48/22/1; missing files reported."""

import numpy as np
import pytest
from PIL import Image

from hierwbc.datasets import check_manifest, excluded_table, load_image, read_dataset, validate
from hierwbc.hierarchy import UnknownLabelError, default_hierarchy

README_COUNTS = {"1": 176, "2": 53, "3": 48, "4": 22, "5": 1}


@pytest.fixture(scope="module")
def seg(data_root):
    return read_dataset("segmentation_wbc", data_root)


@pytest.mark.realdata
def test_real_counts_and_mapping(seg):
    assert len(seg) == 300
    assert seg["raw_label"].value_counts().to_dict() == README_COUNTS
    h = default_hierarchy()
    check_manifest(seg, h)
    assert seg.groupby("raw_label")["node"].first().to_dict() == {
        "1": "neutrophil", "2": "lymphoid_mature", "3": "monocyte", "4": "eosinophil", "5": "basophil"}
    assert seg["image_id"].tolist() == list(range(1, 301))
    assert seg["path"].iloc[6].endswith("/segmentation_wbc/Dataset 1/007.bmp")
    assert excluded_table(seg).empty


@pytest.mark.realdata
def test_real_sample_decodes(seg):
    assert validate(seg.iloc[::30], progress=False).ok
    assert load_image(seg["path"].iloc[0]).shape == (120, 120, 3)


def _fake(tmp_path, rows, images):
    base = tmp_path / "seg"
    (base / "Dataset 1").mkdir(parents=True)
    (base / "Class Labels of Dataset 1.csv").write_text("image ID,class label\r\n" +
                                                        "".join(f"{i},{c}\r\n" for i, c in rows))
    for i in images:
        Image.fromarray(np.full((5, 5, 3), i, np.uint8)).save(base / "Dataset 1" / f"{i:03d}.bmp")
    return base


def test_fake_missing_and_unlabelled_reported(tmp_path):
    base = _fake(tmp_path, [(1, 2), (2, 1), (3, 4)], images=[1, 3, 4])
    with pytest.warns(UserWarning, match="2 image"):
        m = read_dataset("segmentation_wbc", base)
    assert m["image_id"].tolist() == [1, 3] and m["node"].tolist() == ["lymphoid_mature", "eosinophil"]
    assert load_image(m.path[1])[0, 0].tolist() == [3, 3, 3]
    t = excluded_table(m).set_index("reason")["path"].to_dict()
    assert t == {"no_image": str(base / "Dataset 1" / "002.bmp"), "no_label_row": str(base / "Dataset 1" / "004.bmp")}


def test_fake_unknown_code(tmp_path):
    base = _fake(tmp_path, [(1, 2), (2, 7), (3, 7)], images=[1, 2, 3])
    with pytest.raises(UnknownLabelError) as e:
        read_dataset("segmentation_wbc", base)
    assert e.value.counts == {"7": 2}
