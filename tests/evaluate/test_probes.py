"""Probe dispatch: standardisation per training fold, out-of-fold assembly, probe names."""
import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from hierwbc.evaluate.folds import stratified_folds
from hierwbc.evaluate.probes import parse_probe, run_probes, standardize


def test_standardise_matches_standard_scaler():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)) * [1, 10, 0, 3] + 5
    train = rng.random(50) < 0.6
    got = standardize(torch.as_tensor(X), torch.as_tensor(train)).numpy()
    np.testing.assert_allclose(got, StandardScaler().fit(X[train]).transform(X), atol=1e-10)


def test_out_of_fold_knn_equals_per_fold_sklearn():
    rng = np.random.default_rng(1)
    y = rng.choice([3, 8, 21], 150)
    X = rng.normal(size=(150, 5)) * [1, 5, 20, 1, 1] + y[:, None] * 0.3
    fold = stratified_folds(y, 3, seed=0)
    res = run_probes(X, y, fold, probes=("1nn", "logreg"), dtype=torch.float64)
    assert list(res) == ["1nn", "logreg"]
    for f in range(3):
        tr, te = fold != f, fold == f
        sc = StandardScaler().fit(X[tr])
        ref = KNeighborsClassifier(1).fit(sc.transform(X[tr]), y[tr]).predict(sc.transform(X[te]))
        assert np.array_equal(res["1nn"].pred[te], ref)
    lr = res["logreg"]
    assert np.array_equal(lr.pred, lr.classes[lr.proba.argmax(1)])


def test_untested_samples_and_unseen_classes():
    rng = np.random.default_rng(2)
    y = np.array([1] * 20 + [2] * 20 + [5])
    X = rng.normal(size=(41, 3))
    fold = np.where(np.arange(41) % 2 == 0, 0, -1)
    fold[40] = 0  # class 5 only in the test part
    res = run_probes(X, y, fold, probes=("20nn",))["20nn"]
    assert (res.pred[fold == -1] == -1).all() and np.isnan(res.proba[fold == -1]).all()
    assert res.pred[40] != 5 and res.proba[40, 2] == 0


def test_probe_names():
    assert parse_probe("1nn") == 1 and parse_probe("20nn") == 20 and parse_probe("logreg") is None
    for bad in ("0nn", "knn", "svm"):
        with pytest.raises(ValueError, match="unknown probe"):
            parse_probe(bad)
    with pytest.raises(ValueError, match="NaN"):
        run_probes(np.array([[np.nan], [1.0]]), np.array([1, 2]), np.array([0, 1]))
