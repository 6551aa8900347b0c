"""Metrics on hand-worked examples on the default tree, and against sklearn / naive references."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from hierwbc.evaluate.metrics import (
    SampleStats,
    centroid_spearman,
    compute_metrics,
    hierarchical_distance_at_k,
    mistake_distribution,
    reduce_metrics,
)
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()


def ix(*names):
    return H.indices(names)


def test_myeloblast_vs_lymphoblast_shares_nothing():
    # their depth-2 ancestors have the same display label ("immature"): merging by label would
    # give them a shared ancestor; by node index they share none (root excluded)
    assert H.label("granulocytic_immature") == H.label("lymphoid_immature")
    m = compute_metrics(H, ix("myeloblast"), ix("lymphoblast"))
    assert m["accuracy"] == 0 and m["lineage_accuracy"] == 0
    assert m["hierarchical_precision"] == 0 and m["hierarchical_recall"] == 0 and m["hierarchical_f1"] == 0
    assert m["mistake_severity"] == 3  # both at depth 3, LCA = root


def test_hand_worked_example():
    true = ix("myelocyte", "myelocyte", "neutrophil_band", "lymphocyte_typical", "immature_granulocyte")
    pred = ix("myelocyte", "metamyelocyte", "eosinophil", "monocyte", "myelocyte")
    m = compute_metrics(H, true, pred)
    # shared ancestors (root excluded): 4, 3 (IG), 2 (granulocytic_mature), 0, 3 (IG)
    hp, hr = 12 / (4 + 4 + 4 + 3 + 4), 12 / (4 + 4 + 4 + 3 + 3)
    assert m["hierarchical_precision"] == pytest.approx(hp)
    assert m["hierarchical_recall"] == pytest.approx(hr)
    assert m["hierarchical_f1"] == pytest.approx(2 * hp * hr / (hp + hr))
    assert m["accuracy"] == pytest.approx(1 / 5)
    assert m["lineage_accuracy"] == pytest.approx(4 / 5)
    assert m["mistake_severity"] == pytest.approx((1 + 2 + 3 + 1) / 4)  # LCA heights of the 4 mistakes
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 0 + 0 + 0) / 4)
    assert m["weighted_f1"] == pytest.approx(2 * (2 * 1 / (2 + 2)) / 5)  # only myelocyte has tp
    assert mistake_distribution(H, true, pred) == {1: 2, 2: 1, 3: 1, 4: 0, 5: 0}


def _random_labels(rng, n, pool_t, pool_p):
    return rng.choice(H.indices(pool_t), n), rng.choice(H.indices(pool_p), n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_metrics_match_sklearn_with_absent_classes(seed):
    rng = np.random.default_rng(seed)
    # predictions include classes never true (and some true classes are never predicted)
    t, p = _random_labels(rng, 200, ["basophil", "monocyte", "myelocyte", "neutrophil"],
                          ["basophil", "monocyte", "platelet", "erythroblast", "neutrophil"])
    m = compute_metrics(H, t, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(t, p))
    assert m["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert m["weighted_f1"] == pytest.approx(f1_score(t, p, average="weighted", zero_division=0))


def test_balanced_accuracy_argument_order_matters():
    t = ix("basophil", "basophil", "basophil", "monocyte", "monocyte")
    p = ix("basophil", "monocyte", "monocyte", "monocyte", "monocyte")
    m = compute_metrics(H, t, p)
    assert m["balanced_accuracy"] == pytest.approx((1 / 3 + 1) / 2)  # recall per TRUE class
    assert balanced_accuracy_score(p, t) == pytest.approx((1 + 2 / 4) / 2)  # the swapped call differs


def _naive_hier(t, p):
    """Ancestor sets from path_to_root (names, root dropped) - no arrays involved."""
    inter = sum(len(set(H.path_to_root(H.nodes[a])[:-1]) & set(H.path_to_root(H.nodes[b])[:-1]))
                for a, b in zip(t, p))
    n_p = sum(len(H.path_to_root(H.nodes[b])) - 1 for b in p)
    n_t = sum(len(H.path_to_root(H.nodes[a])) - 1 for a in t)
    return inter / n_p, inter / n_t


def test_hierarchical_precision_recall_match_naive_sets():
    rng = np.random.default_rng(3)
    t = rng.integers(1, len(H.nodes), 150)
    p = rng.integers(1, len(H.nodes), 150)
    m = compute_metrics(H, t, p)
    hp, hr = _naive_hier(t, p)
    assert m["hierarchical_precision"] == pytest.approx(hp)
    assert m["hierarchical_recall"] == pytest.approx(hr)
    lineage = [H.lineage_of(H.nodes[a]) == H.lineage_of(H.nodes[b]) for a, b in zip(t, p)]
    assert m["lineage_accuracy"] == pytest.approx(np.mean(lineage))


def test_hdist_at_k_hand_worked():
    classes = ix("myelocyte", "metamyelocyte", "eosinophil", "monocyte")
    scores = np.array([[0.1, 0.5, 0.3, 0.1]])
    out = hierarchical_distance_at_k(H, ix("myelocyte"), scores, classes, ks=(1, 2, 3, 10))
    # top: metamyelocyte (LCA height 1), eosinophil (3), then the tie myelocyte/monocyte -> first column
    # monocyte: LCA = root, deeper node myelocyte at depth 4 -> height 4; k=10 is clipped to 4
    assert out == {1: 1.0, 2: 2.0, 3: pytest.approx(4 / 3), 10: pytest.approx((1 + 3 + 0 + 4) / 4)}


def test_batched_reduction_equals_single_and_take():
    rng = np.random.default_rng(4)
    t = rng.integers(1, len(H.nodes), 60)
    p = np.where(rng.random(60) < 0.5, t, rng.integers(1, len(H.nodes), 60))
    scores = rng.random((60, 5))
    stats = SampleStats.compute(H, t, p, scores, np.arange(10, 15), ks=(1, 3))
    idx = rng.integers(0, 60, (7, 40))
    batched = reduce_metrics(stats, idx)
    for r in range(7):
        single = compute_metrics(H, t[idx[r]], p[idx[r]], scores[idx[r]], np.arange(10, 15), ks=(1, 3))
        for k, v in single.items():
            assert batched[k][r] == pytest.approx(v, nan_ok=True), k
        taken = reduce_metrics(stats.take(idx[r]))
        assert taken["weighted_f1"] == pytest.approx(single["weighted_f1"])


def test_no_mistakes_gives_nan_severity_and_bad_input_raises():
    m = compute_metrics(H, ix("monocyte", "basophil"), ix("monocyte", "basophil"))
    assert m["accuracy"] == 1 and np.isnan(m["mistake_severity"]) and m["hierarchical_f1"] == 1
    with pytest.raises(ValueError, match="outside the hierarchy"):
        compute_metrics(H, ix("monocyte"), np.array([-1]))
    with pytest.raises(ValueError, match="integer"):
        compute_metrics(H, np.array(["monocyte"]), ix("monocyte"))


def _naive_spearman(X, y):
    from scipy.stats import spearmanr
    classes = sorted(set(y))
    cent = {c: X[y == c].mean(0) for c in classes}
    d_e, d_t = [], []
    for i, a in enumerate(classes):
        for b in classes[i + 1:]:
            d_e.append(np.linalg.norm(cent[a] - cent[b]))
            d_t.append(len(set(H.path_to_root(H.nodes[a])) ^ set(H.path_to_root(H.nodes[b]))))
    return spearmanr(d_t, d_e).statistic


def test_centroid_spearman():
    rng = np.random.default_rng(5)
    cls = ix("myelocyte", "metamyelocyte", "eosinophil", "monocyte", "lymphocyte_typical", "platelet")
    y = rng.choice(cls, 300)
    X = rng.normal(size=(300, 8))
    rho, pairs = centroid_spearman(H, X, y)
    assert pairs == 15 and rho == pytest.approx(_naive_spearman(X, y))
    # embeddings built from the tree distances themselves: perfect rank agreement
    D = H.tree_distance[np.ix_(cls, cls)].astype(float)
    J = np.eye(6) - 1 / 6
    w, v = np.linalg.eigh(-0.5 * J @ (D ** 2) @ J)  # classical MDS of the squared tree distances
    emb = v * np.sqrt(np.clip(w, 0, None))
    y2 = np.repeat(cls, 3)
    rho2, _ = centroid_spearman(H, np.repeat(emb, 3, axis=0), y2)
    assert rho2 > 0.9
    assert np.isnan(centroid_spearman(H, X[:10], np.repeat(cls[:2], 5))[0])
