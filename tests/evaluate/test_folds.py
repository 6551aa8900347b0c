"""Stratified folds, fixed splits and fold-id columns."""
import numpy as np
import pytest

from hierwbc.evaluate.folds import fixed_split, fold_ids, stratified_folds


def test_stratified_folds_balance_and_seed():
    rng = np.random.default_rng(0)
    y = rng.choice([3, 7, 9, 20], 503, p=[0.5, 0.3, 0.15, 0.05])
    f = stratified_folds(y, 5, seed=1)
    assert set(f) == set(range(5))
    sizes = np.bincount(f)
    assert sizes.max() - sizes.min() <= 1
    for c in np.unique(y):
        per = np.bincount(f[y == c], minlength=5)
        assert per.max() - per.min() <= 1, c
    assert np.array_equal(f, stratified_folds(y, 5, seed=1))
    assert not np.array_equal(f, stratified_folds(y, 5, seed=2))


def test_small_class_warns_and_bad_counts_raise():
    y = np.array([1] * 20 + [2] * 2)
    with pytest.warns(UserWarning, match="fewer samples"):
        f = stratified_folds(y, 5)
    assert len(set(f[y == 2])) == 2
    with pytest.raises(ValueError):
        stratified_folds(y, 1)
    with pytest.raises(ValueError):
        stratified_folds(np.array([1, 2]), 5)


def test_fixed_split_and_fold_ids():
    f = fixed_split(["train", "test", "train", "test"])
    assert f.tolist() == [-1, 0, -1, 0]
    with pytest.raises(ValueError, match=r"'val' \(2\)"):
        fixed_split(["train", "val", "val", "test"])
    with pytest.raises(ValueError, match="both"):
        fixed_split(["train", "train"])
    assert fold_ids([0, 1, 2.0, -1]).tolist() == [0, 1, 2, -1]
    with pytest.raises(ValueError, match="no fold id"):
        fold_ids([0, np.nan])
