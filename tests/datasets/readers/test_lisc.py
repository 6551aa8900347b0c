"""LISC reader: crops per folder, source groups, cells joined across groups, never split."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc.datasets import assign_folds, assign_splits, check_manifest, read_dataset
from hierwbc.datasets.readers.lisc import group_counts
from hierwbc.hierarchy import UnknownLabelError, default_hierarchy

# From shared/data/README.md: crops and source groups per folder.
CROPS = {"Baoso": 283, "eosi": 213, "lymp": 234, "mono": 306, "neut": 251}
SOURCE_GROUPS = {"Baoso": 60, "eosi": 36, "lymp": 71, "mono": 61, "neut": 70}


@pytest.fixture(scope="module")
def lisc(data_root):
    return read_dataset("lisc", data_root, progress=False)


@pytest.mark.realdata
def test_real_lisc_counts_and_labels(lisc):
    h = default_hierarchy()
    check_manifest(lisc, h)
    counts = group_counts(lisc).set_index("folder")
    assert counts["crops"].to_dict() == CROPS
    assert counts["source_groups"].to_dict() == SOURCE_GROUPS
    assert dict(zip(lisc["raw_label"], lisc["node"])) == {"Baoso": "basophil", "eosi": "eosinophil",
                                                          "lymp": "lymphoid_mature", "mono": "monocyte",
                                                          "neut": "neutrophil"}


@pytest.mark.realdata
def test_real_lisc_groups_join_source_groups_and_stay_in_one_fold(lisc):
    # a cell group is a union of whole source groups, within one folder
    per_source = lisc.groupby("source_group")["group"].nunique()
    assert (per_source == 1).all()
    assert (lisc.groupby("group")["folder"].nunique() == 1).all()
    counts = group_counts(lisc).set_index("folder")
    assert (counts["groups"] <= counts["source_groups"]).all() and counts["groups"].sum() < 298  # some joined
    folds = assign_folds(lisc, k=5, seed=0)
    splits = assign_splits(lisc, {"train": 0.8, "test": 0.2}, seed=3)
    assert (folds.groupby("group")["fold"].nunique() == 1).all()
    assert (splits.groupby("group")["split"].nunique() == 1).all()
    assert set(folds["fold"]) == set(range(5))


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))


def _tiny_lisc(root, folders=("neut", "mono"), rows=None):
    rng = np.random.default_rng(0)
    out = []
    for f in folders:
        (root / f).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / f / f"{k}.jpg")
            out.append((f"{f}/{k}.jpg", f, f"{f}_{k:03d}"))
    pd.DataFrame(rows or out, columns=["file", "label", "source_group"]).to_csv(root / "groups.csv", index=False)
    return root


def test_lisc_unknown_folder_is_a_named_error(tmp_path, tmp_cache):
    root = _tiny_lisc(tmp_path / "lisc", folders=("neut", "granulo"))
    with pytest.raises(UnknownLabelError, match="granulo"):
        read_dataset("lisc", root, progress=False)


def test_lisc_label_disagreeing_with_folder_names_the_file(tmp_path, tmp_cache):
    rows = [("neut/0.jpg", "mono", "g0"), ("neut/1.jpg", "neut", "g0"), ("mono/0.jpg", "mono", "g1"),
            ("mono/1.jpg", "mono", "g1")]
    root = _tiny_lisc(tmp_path / "lisc", rows=rows)
    with pytest.raises(ValueError, match="neut/0.jpg"):
        read_dataset("lisc", root, progress=False)


def test_lisc_image_without_row_is_recorded_not_dropped_silently(tmp_path, tmp_cache):
    root = _tiny_lisc(tmp_path / "lisc")
    Image.fromarray(np.zeros((40, 40, 3), np.uint8) + 90).save(root / "neut" / "extra.jpg")
    with pytest.warns(UserWarning, match="without a row"):
        m = read_dataset("lisc", root, progress=False)
    from hierwbc.datasets import excluded_table

    t = excluded_table(m)
    assert t.loc[t.reason == "no_group_row", "path"].str.endswith("neut/extra.jpg").tolist() == [True]
    assert len(m) == 4
