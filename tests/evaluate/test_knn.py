"""kNN probe against sklearn's KNeighborsClassifier and a naive tie rule."""
import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from hierwbc.evaluate.knn import knn_predict


def _data(seed, n=120, m=50, d=6, classes=(4, 9, 15, 30)):
    rng = np.random.default_rng(seed)
    ytr = rng.choice(classes, n)
    centers = {c: rng.normal(size=d) for c in classes}
    xtr = np.stack([centers[c] for c in ytr]) * 0.8 + rng.normal(size=(n, d))
    yte = rng.choice(classes, m)
    xte = np.stack([centers[c] for c in yte]) * 0.8 + rng.normal(size=(m, d))
    return xtr, ytr, xte


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_matches_sklearn_without_ties(metric):
    xtr, ytr, xte = _data(0)
    out = knn_predict(xtr, ytr, xte, ks=(1, 5, 20), metric=metric, chunk=16, dtype=torch.float64)
    for k in (1, 5, 20):
        sk = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(xtr, ytr)
        ref = sk.predict(xte)
        # sklearn's vote fractions: where the top vote is unique the predictions must agree
        p = sk.predict_proba(xte)
        top = np.sort(p, axis=1)
        unique = top[:, -1] > top[:, -2] + 1e-9
        assert unique.sum() > 20
        assert np.array_equal(out.pred[k][unique], ref[unique]), k
        np.testing.assert_allclose(out.proba[k], p, atol=1e-6)  # same class order (sorted nodes)


def test_vote_tie_goes_to_the_class_with_the_nearest_member():
    xtr = np.array([[0.0], [1.0], [-1.2], [5.0]])
    ytr = np.array([7, 7, 3, 3])
    out = knn_predict(xtr, ytr, np.array([[-0.1]]), ks=(2, 4), dtype=torch.float64)
    # k=2: neighbours 0.0 (7) and 1.0 (7) -> 7; k=4: 2 votes each, nearest member of 7 at 0.1
    assert out.pred[2].tolist() == [7] and out.pred[4].tolist() == [7]
    out = knn_predict(xtr, ytr, np.array([[-0.7]]), ks=(4,), dtype=torch.float64)
    assert out.pred[4].tolist() == [3]  # tie again; class 3's member at -1.2 is nearer (0.5 < 0.7)
    # the ranking orders classes without votes by their nearest member (so hdist@k is defined)
    assert out.rank[4][0, 0] > out.rank[4][0, 1]


def test_k_larger_than_training_set_and_shape_errors():
    xtr, ytr, xte = _data(1, n=6)
    out = knn_predict(xtr, ytr, xte, ks=(20,))
    np.testing.assert_allclose(out.proba[20].sum(1), 1, atol=1e-6)
    with pytest.raises(ValueError, match="shapes"):
        knn_predict(xtr, ytr[:-1], xte)
    with pytest.raises(ValueError, match="metric"):
        knn_predict(xtr, ytr, xte, metric="manhattan")
