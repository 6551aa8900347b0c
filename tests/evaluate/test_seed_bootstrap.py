"""Seed-aware paired bootstrap: one seed is the plain bootstrap; a model better in every seed is
significant; seeds that disagree (better in one, worse in another) are not."""
import numpy as np
import pandas as pd
import pytest

from hierwbc.evaluate.bootstrap import paired_bootstraps
from hierwbc.evaluate.metrics import SampleStats
from hierwbc.evaluate.seed_bootstrap import seed_paired_bootstraps
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()
CLASSES = H.indices(["basophil", "monocyte", "myelocyte", "metamyelocyte", "lymphocyte_typical"])
N = 1500


def _pair(rng, t, acc_model, acc_ref):
    """(model, reference) statistics with accuracies of about ``acc_model`` and ``acc_ref``."""
    def predict(acc):
        return np.where(rng.random(len(t)) < acc, t, rng.choice(CLASSES, len(t)))
    return SampleStats.compute(H, t, predict(acc_model)), SampleStats.compute(H, t, predict(acc_ref))


def _accuracy(df: pd.DataFrame) -> pd.Series:
    return df.set_index("metric").loc["accuracy"]


def test_one_seed_is_the_plain_paired_bootstrap():
    rng = np.random.default_rng(0)
    t = rng.choice(CLASSES, N)
    pairs = [_pair(rng, t, 0.8, 0.7), _pair(rng, t, 0.6, 0.7)]
    plain = paired_bootstraps(pairs, n_boot=200, seed=3)
    seeded = seed_paired_bootstraps({0: pairs}, n_boot=200, seed=3)
    for a, b in zip(plain, seeded):
        pd.testing.assert_frame_equal(a, b.drop(columns="n_seeds"))
        assert (b["n_seeds"] == 1).all()


def test_better_in_every_seed_is_significant():
    rng = np.random.default_rng(1)
    t = rng.choice(CLASSES, N)
    by_seed = {s: [_pair(rng, t, 0.85, 0.70)] for s in (0, 1, 2)}
    acc = _accuracy(seed_paired_bootstraps(by_seed, n_boot=1000, seed=0)[0])
    assert acc["significant"] and acc["ci_low"] > 0 and acc["p_value"] < 0.01
    assert acc["n_seeds"] == 3 and acc["n_boot"] == 1000
    per_seed = [_accuracy(paired_bootstraps(p, n_boot=10, seed=0)[0])["delta"] for p in by_seed.values()]
    assert acc["delta"] == pytest.approx(np.mean(per_seed))  # observed: mean of the seeds' differences
    assert acc["delta"] == pytest.approx(acc["value_model"] - acc["value_reference"])


def test_seeds_that_disagree_are_not_significant():
    rng = np.random.default_rng(2)
    t = rng.choice(CLASSES, N)
    by_seed = {0: [_pair(rng, t, 0.85, 0.70)], 1: [_pair(rng, t, 0.70, 0.85)]}
    for pairs in by_seed.values():  # each seed alone is clear-cut, in opposite directions
        assert _accuracy(paired_bootstraps(pairs, n_boot=300, seed=0)[0])["significant"]
    acc = _accuracy(seed_paired_bootstraps(by_seed, n_boot=1000, seed=0)[0])
    assert not acc["significant"] and acc["ci_low"] < 0 < acc["ci_high"]
    assert acc["p_value"] > 0.05
    # seeds resampled: both +d, mixed or both -d, so the interval spans about -d .. +d
    assert acc["ci_low"] < -0.1 and acc["ci_high"] > 0.1


def test_unequal_numbers_of_pairs_are_refused():
    rng = np.random.default_rng(3)
    t = rng.choice(CLASSES, 100)
    with pytest.raises(ValueError, match="same 2"):
        seed_paired_bootstraps({0: [_pair(rng, t, 0.8, 0.7)] * 2, 1: [_pair(rng, t, 0.8, 0.7)]}, n_boot=10)
