"""Stratified splits and folds: exact per-node proportions, seeded, independent of row order."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.datasets import ManifestError, assign_folds, assign_splits, split_rows, stratified_subset

SIZES = {"basophil": 1, "monocyte": 2, "myelocyte": 3, "eosinophil": 7, "platelet": 10, "neutrophil_band": 103}


def manifest(sizes=SIZES):
    nodes = [n for n, k in sizes.items() for _ in range(k)]
    return pd.DataFrame({"path": [f"/d/{n}/{i:04d}.jpg" for i, n in enumerate(nodes)], "dataset": "t",
                         "raw_label": nodes, "node": nodes, "split": "", "fold": -1})


def reference_sizes(n, fractions):
    """Largest remainder, written out plainly: floor(f*n), then +1 by decreasing remainder."""
    names = list(fractions)
    base = {s: int(np.floor(fractions[s] * n + 1e-9)) for s in names}
    by_remainder = sorted(names, key=lambda s: -(fractions[s] * n - base[s]))  # stable: ties keep dict order
    for s in by_remainder[: n - sum(base.values())]:
        base[s] += 1
    return base


FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def test_split_sizes_exact_per_node():
    out = assign_splits(manifest(), FRACTIONS, seed=3)
    for node, n in SIZES.items():
        got = out.loc[out.node == node, "split"].value_counts().to_dict()
        want = {k: v for k, v in reference_sizes(n, FRACTIONS).items() if v}
        assert got == want, node
    band = out.loc[out.node == "neutrophil_band", "split"].value_counts()
    assert band.to_dict() == {"train": 72, "test": 21, "val": 10}   # 72.1 / 10.3 / 20.6 -> 72, 10, 21


def test_default_fractions_and_single_member():
    out = assign_splits(manifest())
    assert set(out["split"]) == {"train", "test"}
    assert out.loc[out.node == "basophil", "split"].tolist() == ["train"]
    assert (out.loc[out.node == "platelet", "split"].value_counts() == pd.Series({"train": 8, "test": 2})).all()


def test_deterministic_seeded_and_order_free():
    df = manifest()
    a = assign_splits(df, FRACTIONS, seed=0)
    assert a["split"].tolist() == assign_splits(df, FRACTIONS, seed=0)["split"].tolist()
    assert a["split"].tolist() != assign_splits(df, FRACTIONS, seed=1)["split"].tolist()
    shuffled = df.sample(frac=1.0, random_state=5)
    b = assign_splits(shuffled, FRACTIONS, seed=0)
    assert dict(zip(b.path, b.split)) == dict(zip(a.path, a.split))
    assert (b.index == shuffled.index).all()                      # rows keep their place
    # other classes do not move a class's assignment
    c = assign_splits(pd.concat([df, manifest({"lymphocyte_typical": 40})]), FRACTIONS, seed=0)
    assert dict(zip(c.path, c.split)).items() >= dict(zip(a.path, a.split)).items()


def test_bad_fractions():
    with pytest.raises(ValueError, match="sum to 1"):
        assign_splits(manifest(), {"train": 0.7, "test": 0.2})
    with pytest.raises(ValueError, match=">= 0"):
        assign_splits(manifest(), {"train": 1.2, "test": -0.2})


def test_folds_balanced_per_node_and_overall():
    with pytest.warns(UserWarning, match=r"fewer rows than k=5.*'basophil': 1"):
        out = assign_folds(manifest(), k=5, seed=0)
    assert set(out["fold"]) == set(range(5)) and out["fold"].dtype == np.int64
    per = out.groupby(["node", "fold"]).size().unstack(fill_value=0)
    for node, n in SIZES.items():
        counts = per.loc[node].reindex(range(5), fill_value=0).to_numpy()
        assert counts.sum() == n and counts.max() - counts.min() <= 1, node
    sizes = out["fold"].value_counts().to_numpy()
    assert sizes.max() - sizes.min() <= 1


def test_folds_deterministic_order_free_and_subset():
    df = manifest({"platelet": 12, "neutrophil_band": 30})
    a = assign_folds(df, k=3, seed=7)
    b = assign_folds(df.iloc[::-1], k=3, seed=7)
    assert dict(zip(b.path, b.fold)) == dict(zip(a.path, a.fold))
    assert a["fold"].tolist() != assign_folds(df, k=3, seed=8)["fold"].tolist()
    split = assign_splits(df, {"train": 0.5, "test": 0.5}, seed=0)
    f = assign_folds(split, k=3, seed=0, subset=split.split == "train")
    assert (f.loc[split.split == "test", "fold"] == -1).all()
    assert sorted(f.loc[split.split == "train"].groupby("node")["fold"].value_counts().unique()) == [2, 5]
    with pytest.raises(ValueError, match="k must be"):
        assign_folds(df, k=1)


def test_crops_of_one_image_are_distinct_rows():
    df = manifest({"monocyte": 2, "eosinophil": 2})
    df["path"] = "/d/field.jpg"
    df["box_xmin"], df["box_ymin"], df["box_xmax"], df["box_ymax"] = [0.0, 10, 20, 30], 0.0, [5.0, 15, 25, 35], 5.0
    out = assign_splits(df, {"a": 0.5, "b": 0.5}, seed=0)
    assert out.groupby("node")["split"].apply(sorted).tolist() == [["a", "b"], ["a", "b"]]


def test_stratified_subset_keeps_each_node_in_proportion():
    sizes = {"eosinophil": 20, "platelet": 40, "neutrophil_band": 140}  # 200 rows -> 50: a quarter of each
    df = manifest(sizes)
    sub = stratified_subset(df, 50, seed=0)
    assert len(sub) == 50
    assert sub["node"].value_counts().to_dict() == {"neutrophil_band": 35, "platelet": 10, "eosinophil": 5}
    assert set(sub["path"]) <= set(df["path"]) and sub["path"].is_unique
    assert stratified_subset(df, None, seed=0) is df and stratified_subset(df, 500, seed=0) is df
    assert set(stratified_subset(df, 50, seed=1)["path"]) != set(sub["path"])  # seeded


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_subset_takes_whole_cells_up_to_each_nodes_quota(seed):
    # node a: 12 cells of 1-6 crops (42 rows); node b: 18 single crops. limit 15 of 60 rows:
    # quotas by largest remainder over the nodes: 42/4 = 10.5 and 18/4 = 4.5 -> 11 and 4 (tie: first node)
    crops = [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1]
    rows = [("a", f"a{c}") for c, k in enumerate(crops) for _ in range(k)] + [("b", "") for _ in range(18)]
    df = manifest({"x": len(rows)})
    df["node"] = [n for n, _ in rows]
    df["group"] = [g for _, g in rows]
    sub = stratified_subset(df, 15, seed=seed)
    kept = sub.groupby("group").size()[lambda s: s.index != ""]
    assert all(kept[g] == crops[int(g[1:])] for g in kept.index)  # every kept cell whole
    per_node = sub["node"].value_counts()
    assert per_node["a"] <= 11 and per_node["b"] == 4  # single crops fill their quota exactly
    left = [crops[c] for c in range(12) if f"a{c}" not in kept.index]
    assert 11 - per_node["a"] < min(left)  # greedy: no skipped cell would still have fitted


def test_stratified_subset_of_lisc_like_cells_is_near_the_limit_and_keeps_every_type():
    nodes = ["basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil"]
    df = pd.DataFrame({"path": [f"/d/{n}/{c}_{k}.jpg" for n in nodes for c in range(40) for k in range(1 + c % 7)],
                       "node": [n for n in nodes for c in range(40) for k in range(1 + c % 7)],
                       "group": [f"{n}{c}" for n in nodes for c in range(40) for k in range(1 + c % 7)]})
    for seed in range(5):  # a row-by-row draw, members following their cell, kept 34 to 55 rows and lost a type
        sub = stratified_subset(df, 40, seed=seed)
        assert 36 <= len(sub) <= 40 and sub["node"].nunique() == 5


def test_split_rows_partitions_each_lab_as_if_it_were_alone():
    a = manifest({"platelet": 30, "eosinophil": 20}).assign(dataset="a")
    b = manifest({"platelet": 7, "basophil": 9}).assign(dataset="b")
    b["path"] = b["path"].str.replace("/d/", "/e/")
    for seed in range(5):  # a joint draw differed from lab a's own on seeds 0 and 2 (11 and 9 test rows, not 10)
        both = split_rows(pd.concat([a, b], ignore_index=True), None, 0.2, split_seed=seed)
        for lab, alone in (("a", a), ("b", b)):
            want = split_rows(alone, None, 0.2, split_seed=seed)["split"].tolist()
            assert both.loc[both["dataset"] == lab, "split"].tolist() == want


def test_split_rows_assigns_only_unsplit_rows_and_names_an_empty_split():
    df = manifest({"platelet": 10, "eosinophil": 10})
    df.loc[:3, "split"] = "test"  # 4 rows already split: kept as they are
    everything = split_rows(df, None, 0.5, split_seed=0)
    assert (everything.loc[:3, "split"] == "test").all()
    rest = everything.iloc[4:]
    assert rest["split"].value_counts().to_dict() == {"train": 8, "test": 8}  # 16 unsplit rows, half each
    assert len(split_rows(df, "train", 0.5, 0)) == 8 and len(split_rows(df, "test", 0.5, 0)) == 12
    with pytest.raises(ManifestError, match="no rows in split 'val' of my_set"):
        split_rows(df, "val", 0.5, 0, "my_set")
