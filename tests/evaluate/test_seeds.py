"""Several training seeds: a seed column in every table, tables over seeds, the seed-aware rows."""
import numpy as np
import pytest

from hierwbc.evaluate import evaluate, summary_table
from hierwbc.evaluate.seeds import combine_seeds
from hierwbc.evaluate.tables import report
from hierwbc.hierarchy import default_hierarchy

H = default_hierarchy()
LEAVES = ["basophil", "monocyte", "lymphocyte_typical", "eosinophil"]


def _embeddings(rng, labels, spread):
    centers = rng.normal(size=(len(LEAVES), 8)) * 3
    return centers[labels] + rng.normal(size=(len(labels), 8)) * spread


@pytest.fixture(scope="module")
def per_seed():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(LEAVES)), 30)
    names = np.asarray(LEAVES)[y]
    out = {}
    for s in (0, 1, 2):  # "good" is better than "bad" in every seed
        data = {"good": _embeddings(rng, y, 1.0), "bad": _embeddings(rng, y, 4.0)}
        out[s] = evaluate(data, labels=names, datasets="d", probes=("1nn",), cv=3, n_boot=200,
                          reference="bad", seed=0, hierarchy=H, progress=False)
    return out


def test_every_table_has_the_seed_and_the_seed_aware_rows(per_seed, tmp_path):
    res = combine_seeds(per_seed, n_boot=300, progress=False)
    for t in res.TABLES:
        assert set(getattr(res, t)["seed"]) >= {0, 1, 2}, t
    sig = res.significance
    both = sig[(sig["seed"] == -1) & (sig["metric"] == "accuracy")]
    assert len(both) == 1 and both["significant"].all() and (both["n_seeds"] == 3).all()
    one = sig[(sig["seed"] == 0) & (sig["metric"] == "accuracy")]
    assert one["delta"].iloc[0] == pytest.approx(per_seed[0].significance.set_index("metric").loc["accuracy", "delta"])
    table = summary_table(res, formatted=False).set_index("model")
    fold_means = res.metrics[(res.metrics["fold"] >= 0) & (res.metrics["metric"] == "balanced_accuracy")
                             & (res.metrics["model"] == "good")].groupby("seed")["value"].mean()
    assert table.loc["good", "balanced_accuracy_mean"] == pytest.approx(fold_means.mean())
    assert table.loc["good", "balanced_accuracy_std"] == pytest.approx(fold_means.std(ddof=1))
    report(res, tmp_path)
    assert "over 3 training seeds" in (tmp_path / "table_d.md").read_text()
    assert "seeds resampled" in (tmp_path / "significance_d.md").read_text()


def test_one_seed_keeps_the_tables_of_one_evaluation(per_seed):
    res = combine_seeds({0: per_seed[0]}, progress=False)
    assert (res.significance["seed"] == 0).all() and "n_seeds" not in res.significance
    assert summary_table(res).equals(summary_table(per_seed[0]))
