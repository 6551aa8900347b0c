"""Joint-fold preconditioned logistic regression against sklearn's LogisticRegression."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from hierwbc.evaluate.folds import stratified_folds
from hierwbc.evaluate.logreg import default_C, fit_predict_logreg


def _data(seed, n=300, d=12, classes=(2, 5, 11, 40)):
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, n)
    centers = {c: rng.normal(size=d) for c in classes}
    mix = rng.normal(size=(d, d))  # correlated, shifted, unevenly scaled features
    X = (np.stack([centers[c] for c in y]) * 0.7 + rng.normal(size=(n, d))) @ mix * 3 + 10
    return X, y


def _sklearn(X, y, train, test, C):
    sc = StandardScaler().fit(X[train])
    m = LogisticRegression(C=C, tol=1e-10, max_iter=20000).fit(sc.transform(X[train]), y[train])
    return m.classes_, m.predict_proba(sc.transform(X[test]))


@pytest.mark.parametrize("C", [None, 0.5])
def test_matches_sklearn_per_fold(C):
    X, y = _data(0)
    fold = stratified_folds(y, 4, seed=0)
    out = fit_predict_logreg(X, y, fold, C=C, tol=1e-9, max_iter=3000, dtype=torch.float64)
    Cv = default_C(X.shape[1], 4) if C is None else C
    for f in range(4):
        cls, p = _sklearn(X, y, fold != f, fold == f, Cv)
        assert np.array_equal(cls, out.classes)
        np.testing.assert_allclose(out.proba[fold == f], p, atol=1e-4)


def test_class_missing_from_a_training_fold_and_fixed_split():
    X, y = _data(1, n=200)
    fold = np.where(np.arange(200) < 150, -1, 0)  # fixed split: first 150 train only
    y = y.copy()
    y[150:152] = 99  # class 99 exists only in the test part
    out = fit_predict_logreg(X, y, fold, C=1.0, tol=1e-9, max_iter=3000, dtype=torch.float64)
    assert np.isnan(out.proba[:150]).all()
    col = list(out.classes).index(99)
    assert np.all(out.proba[150:, col] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls, p = _sklearn(X, y, fold == -1, fold == 0, 1.0)
    keep = [c != 99 for c in out.classes]
    assert np.array_equal(cls, out.classes[keep])
    np.testing.assert_allclose(out.proba[150:][:, keep], p, atol=1e-4)


def test_default_C_and_no_test_fold():
    assert default_C(384, 13) == pytest.approx(49.92)
    X, y = _data(2, n=20)
    with pytest.raises(ValueError, match="no test fold"):
        fit_predict_logreg(X, y, np.full(20, -1))
