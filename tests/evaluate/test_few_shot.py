"""Few-shot draws and classifiers: reference cells (all crops of a group) are never scored,
counts per type follow k, and each classifier recovers separable types."""

import numpy as np
import pytest

from hierwbc.evaluate.few_shot import adaptation_curve, draw_reference, few_shot_predict


def test_draw_takes_whole_groups_and_k_per_type():
    rng = np.random.default_rng(0)
    types = np.repeat([0, 1, 2, -1], [40, 40, 8, 8])          # -1: cells of no type
    groups = np.array([f"c{i // 4}" for i in range(96)])   # 4 crops per cell
    ref = draw_reference(types, 3, rng, groups)
    for g in np.unique(groups):                           # a group is all in or all out
        assert len(set(ref[groups == g])) == 1
    cells_per_type = {t: len(np.unique(groups[ref & (types == t)])) for t in (0, 1, 2)}
    assert cells_per_type[0] == 3 and cells_per_type[1] == 3
    assert cells_per_type[2] <= 1                          # at most half the cells of a small type
    assert not ref[types == -1].any()                      # never drawn


@pytest.mark.parametrize("method", ["logreg", "knn", "prototype"])
def test_each_method_separates_clear_types(method):
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 6, (3, 8))
    types = np.repeat([0, 1, 2], 30)
    X = centres[types] + rng.normal(0, 1, (90, 8))
    ref = draw_reference(types, 5, rng)
    pred = few_shot_predict(X, types, ref, method)
    assert (pred == types[~ref]).mean() > 0.95


def test_curve_scores_only_unreferenced_cells():
    rng = np.random.default_rng(2)
    types = np.repeat([0, 1, 2, 3, 4], 20)
    X = rng.normal(0, 1, (100, 4)) + types[:, None] * 3
    curve = adaptation_curve(X, types, ks=(1, 5), draws=2, methods=("prototype",))
    assert len(curve) == 4
    assert (curve["n_reference"] + curve["n_scored"] == 100).all()
    assert curve.loc[curve.k == 5, "n_reference"].eq(25).all()
    assert curve["balanced_accuracy"].between(0, 1).all()
