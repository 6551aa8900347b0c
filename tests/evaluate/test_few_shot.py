"""Few-shot draws and classifiers: reference cells (all crops of a group) are never scored,
counts per type follow k, and each classifier recovers separable types."""

import numpy as np
import pytest

from hierwbc.evaluate.few_shot import (
    METHODS,
    adaptation_curve,
    draw_reference,
    few_shot_predict,
    five_type_tree,
    hierce_head_predict,
    prior_head_predict,
)


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


@pytest.mark.parametrize("method", METHODS)
def test_each_method_separates_clear_types(method):
    rng = np.random.default_rng(1)
    centers = rng.normal(0, 6, (3, 8))
    types = np.repeat([0, 1, 2], 30)
    X = centers[types] + rng.normal(0, 1, (90, 8))
    ref = draw_reference(types, 5, rng)
    pred = few_shot_predict(X, types, ref, method, prior=np.full((90, 5), 0.2))  # prior: an uninformative model
    assert (pred == types[~ref]).mean() > 0.95


def test_hierce_head_at_alpha_0_is_the_logistic_regression():
    """With alpha = 0 HierCE telescopes to cross-entropy and the objectives are the same
    (L2 ||W||^2 / (2 C n), unpenalised intercept): the calls agree with the logreg's."""
    rng = np.random.default_rng(3)
    types = np.repeat([0, 1, 2, 3], 12)
    X = rng.normal(0, 1, (48, 6)) + rng.normal(0, 1.0, (4, 6))[types]  # overlapping: the L2 matters
    ref = draw_reference(types, 5, rng)
    tree = five_type_tree()
    got = hierce_head_predict(X[ref], types[ref], X[~ref], tree, alpha=0.0, max_iter=500)
    want = few_shot_predict(X, types, ref, "logreg")
    assert (got == want).mean() >= 0.95
    assert set(got) <= {0, 1, 2, 3}  # basophil (type 4) is not in the reference: never called


def test_prior_head_keeps_a_good_model_call_and_learns_where_the_model_knows_nothing():
    rng = np.random.default_rng(5)
    types = np.repeat([0, 1, 2, 3, 4], 40)
    noise = rng.normal(0, 1, (200, 6))  # features that carry nothing
    good = np.full((200, 5), 0.05)
    good[np.arange(200), types] = 0.8  # a model right on every cell
    ref = draw_reference(types, 1, rng)
    pred = prior_head_predict(noise[ref], types[ref], noise[~ref], good[ref], good[~ref])
    assert (pred == types[~ref]).mean() > 0.95  # one labelled cell per type does not undo the model
    X = rng.normal(0, 6, (5, 6))[types] + noise  # now the features separate the types ...
    flat = np.full((200, 5), 0.2)  # ... and the model knows nothing: a logistic regression
    ref = draw_reference(types, 5, rng)
    got = prior_head_predict(X[ref], types[ref], X[~ref], flat[ref], flat[~ref])
    assert (got == few_shot_predict(X, types, ref, "logreg")).mean() >= 0.97


def test_curve_scores_only_unreferenced_cells():
    rng = np.random.default_rng(2)
    types = np.repeat([0, 1, 2, 3, 4], 20)
    X = rng.normal(0, 1, (100, 4)) + types[:, None] * 3
    curve = adaptation_curve(X, types, ks=(1, 5), draws=2, methods=("prototype",))
    assert len(curve) == 4
    assert (curve["n_reference"] + curve["n_scored"] == 100).all()
    assert curve.loc[curve.k == 5, "n_reference"].eq(25).all()
    assert curve["balanced_accuracy"].between(0, 1).all()
