"""Byte-identical images: found by validate, kept in one split and fold ("first member wins"),
in the dataset splits and in the evaluation folds; the 17 pairs of PBC."""

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import assign_folds, assign_splits, read_dataset, validate
from hierwbc.datasets.duplicates import content_groups, duplicate_table, file_digests, first_member
from hierwbc.evaluate import stratified_folds


def test_first_member_by_hand():
    keys = ["a", "b", "a", None, "c", "b", "a", np.nan]
    assert first_member(keys).tolist() == [0, 1, 0, 3, 4, 1, 0, 7]
    assert first_member([]).tolist() == []


def _files(tmp_path, contents):
    paths = []
    for i, c in enumerate(contents):
        p = tmp_path / f"f{i:03d}.jpg"
        p.write_bytes(c)
        paths.append(str(p))
    return paths


def _manifest(paths, nodes):
    return pd.DataFrame({"path": paths, "dataset": "t", "raw_label": nodes, "node": nodes, "split": "",
                         "fold": -1})


def test_digests_are_sha256_and_missing_files_are_none(tmp_path):
    paths = _files(tmp_path, [b"x" * 5000, b"y", b"x" * 5000])
    got = file_digests(paths + [str(tmp_path / "missing.jpg"), str(tmp_path)])
    assert got[:3].tolist() == [hashlib.sha256(b"x" * 5000).hexdigest(), hashlib.sha256(b"y").hexdigest(),
                                hashlib.sha256(b"x" * 5000).hexdigest()]
    assert got[3] is None and got[4] is None


def test_digest_cache_sees_a_changed_file(tmp_path):
    (p,) = _files(tmp_path, [b"one"])
    assert file_digests([p])[0] == hashlib.sha256(b"one").hexdigest()
    time.sleep(0.01)
    (tmp_path / "f000.jpg").write_bytes(b"other")
    assert file_digests([p])[0] == hashlib.sha256(b"other").hexdigest()


def test_crops_of_one_file_are_different_cells(tmp_path):
    a, b = _files(tmp_path, [b"same", b"same"])
    df = pd.DataFrame({"path": [a, a, b, b], "box_xmin": [0.0, 5, 0, 5], "box_ymin": 0.0, "box_xmax": 4.0 + 6,
                       "box_ymax": 10.0})
    assert content_groups(df).tolist() == [0, 1, 0, 1]


def _synthetic(tmp_path):
    """60 distinct files in 3 classes, then copies: rows 60.. duplicate rows 3, 10, 10, 25, 47."""
    nodes = ["monocyte", "basophil", "eosinophil"] * 20
    paths = _files(tmp_path, [f"cell {i}".encode() * 100 for i in range(60)])
    src = [3, 10, 10, 25, 47]
    copies = []
    for j, s in enumerate(src):
        p = tmp_path / f"copy{j}.jpg"
        p.write_bytes(Path(paths[s]).read_bytes())
        copies.append(str(p))
    # copy labels may disagree with the original (as one PBC pair does)
    return _manifest(paths + copies, nodes + ["platelet", "basophil", "monocyte", "basophil", "eosinophil"]), src


@pytest.mark.filterwarnings("ignore:1 stratum")
def test_first_member_wins_in_splits_and_folds(tmp_path):
    df, src = _synthetic(tmp_path)
    plain = assign_splits(df, {"train": 0.5, "test": 0.5}, seed=1, group_duplicates=False)
    got = assign_splits(df, {"train": 0.5, "test": 0.5}, seed=1)
    # expected, written out: each copy takes its original's split, nothing else moves
    want = plain["split"].to_numpy().copy()
    for j, s in enumerate(src):
        want[60 + j] = want[s]
    assert got["split"].tolist() == want.tolist()
    assert (plain["split"] != got["split"]).sum() <= len(src)
    # a copy listed first: the original follows the copy
    rev = df.iloc[::-1].reset_index(drop=True)
    plain_rev = assign_splits(rev, {"train": 0.5, "test": 0.5}, seed=1, group_duplicates=False)
    got_rev = assign_splits(rev, {"train": 0.5, "test": 0.5}, seed=1)
    pos = {p: i for i, p in enumerate(rev["path"])}
    for j, s in enumerate(src):
        first = min(pos[df.path[s]], *(pos[df.path[60 + k]] for k in range(len(src)) if src[k] == s))
        assert got_rev.split[pos[df.path[s]]] == plain_rev.split[first]
        assert got_rev.split[pos[df.path[60 + j]]] == plain_rev.split[first]

    train = got["split"] == "train"
    plain_f = assign_folds(got, k=3, seed=2, subset=train, group_duplicates=False)["fold"].to_numpy()
    folds = assign_folds(got, k=3, seed=2, subset=train)["fold"].to_numpy()
    want = plain_f.copy()
    for j, s in enumerate(src):
        if train[s]:
            want[60 + j] = want[s]
    assert folds.tolist() == want.tolist()
    assert (folds[~train.to_numpy()] == -1).all()


def test_validate_reports_the_groups(tmp_path):
    df, _ = _synthetic(tmp_path)
    df["path"] = df["path"].astype(str)
    (tmp_path / "bad.jpg").write_text("not an image")
    df = pd.concat([df, _manifest([str(tmp_path / "bad.jpg")], ["monocyte"])], ignore_index=True)
    rep = validate(df, progress=False, errors="report")
    assert str(tmp_path / "bad.jpg") in rep.failures["path"].tolist()  # (these bytes are no images)
    assert rep.n_duplicate_groups == 4
    d = rep.duplicates
    assert d.groupby("group")["row"].apply(list).tolist() == [[3, 60], [10, 61, 62], [25, 63], [47, 64]]
    assert "4 group(s) of byte-identical images" in str(rep)


def test_stratified_folds_groups_keep_duplicates_together():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    groups = np.array([f"g{i}" for i in range(200)], dtype=object)
    groups[[150, 170, 199]] = "g5"
    groups[[120]] = "g7"
    groups[[10, 11]] = None
    plain = stratified_folds(y, 5, seed=3)
    got = stratified_folds(y, 5, seed=3, groups=groups)
    want = plain.copy()
    want[[150, 170, 199]] = plain[5]
    want[120] = plain[7]
    assert got.tolist() == want.tolist()
    assert stratified_folds(y, 5, seed=3, groups=np.arange(200)).tolist() == plain.tolist()


@pytest.mark.filterwarnings("ignore:.*fewer samples than")
def test_evaluate_folds_keep_identical_images_together(tmp_path):
    import anndata as ad

    from hierwbc.evaluate.inputs import collect_inputs
    from hierwbc.evaluate.protocol import _split

    df, src = _synthetic(tmp_path)
    a = ad.AnnData(obs=df.set_index(pd.Index([f"c{i:03d}" for i in range(len(df))])))
    a.obsm["X_cls"] = np.random.default_rng(0).normal(size=(len(df), 4)).astype(np.float32)
    h, (md,) = collect_inputs(a)
    sel = np.ones(len(df), bool)
    fold = _split(md, sel, 5, None, 0, "t", h)
    for j, s in enumerate(src):
        assert fold[60 + j] == fold[s]
    names = h.nodes
    plain = np.empty(len(df), np.int64)
    plain[:] = stratified_folds(np.asarray(names, dtype=object)[md.y], 5, seed=0)  # names are sorted
    moved = np.flatnonzero(plain != fold)
    assert set(moved) <= set(range(60, 65))


# ------------------------------------------------------------------ real PBC: the 17 pairs
@pytest.fixture(scope="module")
def pbc(data_root):
    return read_dataset("pbc", data_root)


@pytest.mark.realdata
def test_hashing_pbc_takes_seconds(pbc):
    from hierwbc.datasets import duplicates

    duplicates._DIGESTS.clear()
    t0 = time.perf_counter()
    assert len(duplicate_table(pbc)) == 34
    assert time.perf_counter() - t0 < 20  # ~1 s on a warm disk cache
    t0 = time.perf_counter()
    duplicate_table(pbc)  # cached per (path, size, mtime)
    assert time.perf_counter() - t0 < 5


@pytest.mark.realdata
def test_validate_finds_exactly_the_17_pbc_pairs(pbc):
    rep = validate(pbc, progress=False)
    assert rep.ok and rep.n_checked == 17092
    # independent count: hash every file here with hashlib and group with a dict
    seen: dict[str, list[str]] = {}
    for p in pbc["path"]:
        with open(p, "rb") as f:
            seen.setdefault(hashlib.sha256(f.read()).hexdigest(), []).append(p)
    pairs = sorted(sorted(v) for v in seen.values() if len(v) > 1)
    assert len(pairs) == 17 and all(len(v) == 2 for v in pairs)
    got = sorted(sorted(g) for g in rep.duplicates.groupby("group")["path"].apply(list))
    assert got == pairs
    assert (pbc.loc[rep.duplicates["row"], "path"].to_numpy() == rep.duplicates["path"].to_numpy()).all()
    assert "17 group(s) of byte-identical images" in str(rep)


@pytest.mark.realdata
def test_pbc_pairs_share_split_and_fold(pbc):
    m = assign_splits(pbc, {"train": 0.8, "test": 0.2}, seed=0)
    m = assign_folds(m, k=5, seed=0)
    table = duplicate_table(pbc)
    rows = table.groupby("group")["row"].apply(list)
    assert len(rows) == 17
    for members in rows:
        assert m.loc[members, "split"].nunique() == 1
        assert m.loc[members, "fold"].nunique() == 1
    plain = assign_splits(pbc, {"train": 0.8, "test": 0.2}, seed=0, group_duplicates=False)
    changed = set(np.flatnonzero(plain["split"].to_numpy() != m["split"].to_numpy()))
    assert changed <= set(table["row"]) - set(table.groupby("group")["row"].first())
