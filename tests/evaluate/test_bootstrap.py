"""Stratified paired bootstrap: resampling structure, a naive loop reference, planted effects."""
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from hierwbc.evaluate.bootstrap import (
    bootstrap_metrics,
    paired_bootstrap,
    paired_bootstraps,
    stratified_resample,
)
from hierwbc.evaluate.metrics import SampleStats
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()
CLASSES = H.indices(["basophil", "monocyte", "myelocyte", "metamyelocyte", "lymphocyte_typical"])


def test_resample_keeps_strata():
    rng = np.random.default_rng(0)
    strata = rng.choice([4, 9, 30], 90)
    idx = stratified_resample(strata, 50, np.random.default_rng(1))
    assert idx.shape == (50, 90)
    for r in range(50):
        assert np.array_equal(np.sort(strata[idx[r]]), np.sort(strata))  # same counts per stratum
    order = np.argsort(strata, kind="stable")
    assert np.array_equal(strata[idx], np.broadcast_to(strata[order], idx.shape))  # column j stays in its stratum
    again = stratified_resample(strata, 50, np.random.default_rng(1))
    assert np.array_equal(idx, again)


def _model(rng, n, acc):
    t = rng.choice(CLASSES, n)
    wrong = rng.random(n) > acc
    p = np.where(wrong, rng.choice(CLASSES, n), t)
    return t, p


def test_vectorised_bootstrap_equals_a_loop_with_sklearn():
    rng = np.random.default_rng(2)
    t, p = _model(rng, 300, 0.7)
    stats = SampleStats.compute(H, t, p)
    boot = bootstrap_metrics(stats, n_boot=30, seed=5, chunk=7)
    gen = np.random.default_rng(5)  # same stream: chunks of 7, 7, 7, 7, 2 resamples
    idx = np.concatenate([stratified_resample(t, c, gen) for c in (7, 7, 7, 7, 2)])
    for r in range(30):
        ti, pi = t[idx[r]], p[idx[r]]
        assert boot["accuracy"][r] == pytest.approx(np.mean(ti == pi))
        assert boot["balanced_accuracy"][r] == pytest.approx(balanced_accuracy_score(ti, pi))
        assert boot["weighted_f1"][r] == pytest.approx(f1_score(ti, pi, average="weighted", zero_division=0))


def test_planted_difference_is_recovered():
    rng = np.random.default_rng(3)
    t = rng.choice(CLASSES, 2000)
    good = np.where(rng.random(2000) < 0.9, t, rng.choice(CLASSES, 2000))
    bad = good.copy()
    hit = np.nonzero(good == t)[0]
    flip = rng.choice(hit, 200, replace=False)  # 10 points of accuracy lost
    bad[flip] = np.where(t[flip] == CLASSES[0], CLASSES[1], CLASSES[0])
    res = paired_bootstrap(SampleStats.compute(H, t, bad), SampleStats.compute(H, t, good), n_boot=1000, seed=0)
    acc = res.set_index("metric").loc["accuracy"]
    assert acc["delta"] == pytest.approx(-0.1)
    assert acc["significant"] and acc["ci_low"] < -0.1 < acc["ci_high"] < 0
    # percentile interval of a paired difference of 200 flips in 2000: sd ~ sqrt(0.1*0.9/2000)
    assert acc["ci_high"] - acc["ci_low"] == pytest.approx(2 * 1.96 * np.sqrt(0.09 / 2000), rel=0.25)


def test_identical_models_are_not_different():
    rng = np.random.default_rng(4)
    t, p = _model(rng, 500, 0.8)
    s = SampleStats.compute(H, t, p)
    res = paired_bootstrap(s, s, n_boot=200, seed=1)
    assert (res["delta"].fillna(0) == 0).all()
    assert not res["significant"].any()
    assert (res["ci_low"] == 0).all() and (res["ci_high"] == 0).all()


def test_seeded_and_paired_checks():
    rng = np.random.default_rng(5)
    t, p = _model(rng, 200, 0.6)
    _, q = _model(rng, 200, 0.8)
    a, b = SampleStats.compute(H, t, p), SampleStats.compute(H, t, np.where(rng.random(200) < .5, t, q))
    r1 = paired_bootstrap(a, b, n_boot=100, seed=3)
    r2 = paired_bootstrap(a, b, n_boot=100, seed=3)
    assert r1.equals(r2)
    with pytest.raises(ValueError, match="same samples"):
        paired_bootstrap(a, SampleStats.compute(H, t[::-1], p), n_boot=10)


def test_several_pairs_share_the_resamples():
    rng = np.random.default_rng(6)
    t, p = _model(rng, 300, 0.7)
    _, q = _model(rng, 300, 0.9)
    ref = SampleStats.compute(H, t, p)
    others = [SampleStats.compute(H, t, np.where(rng.random(300) < s, t, q)) for s in (0.2, 0.6)]
    together = paired_bootstraps([(o, ref) for o in others], n_boot=150, seed=4)
    for o, df in zip(others, together):
        assert df.equals(paired_bootstrap(o, ref, n_boot=150, seed=4))
