"""evaluate(): tidy tables consistent with the per-sample predictions, pairing, inputs."""
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from hierwbc.evaluate import METRICS, evaluate
from hierwbc.hierarchy import HierarchyError, default_hierarchy, hierarchy_to_uns

H = default_hierarchy()
PBC = ["basophil", "eosinophil", "myelocyte", "metamyelocyte", "immature_granulocyte", "monocyte"]
SEG = ["neutrophil", "lymphoid_mature", "monocyte"]


def _adata(seed, noise, n=240, name="m", seg=0):
    rng = np.random.default_rng(seed)
    labels = list(rng.choice(PBC, n)) + list(rng.choice(SEG, seg))
    centers = np.random.default_rng(99).normal(size=(len(H.nodes), 8))
    X = centers[H.indices(labels)] + noise * rng.normal(size=(len(labels), 8))
    obs = pd.DataFrame({"node": pd.Categorical(labels), "dataset": ["pbc"] * n + ["seg"] * seg},
                       index=[f"cell{i:04d}" for i in range(len(labels))])
    a = ad.AnnData(obs=obs)
    a.obsm["X_cls"] = X.astype(np.float32)
    a.uns["provenance"] = {"model": name}
    return a


def test_tables_agree_with_predictions():
    a, b = _adata(0, 1.0, name="good"), _adata(0, 2.5, name="bad")
    b.obsm["X_cls"] = b.obsm["X_cls"]  # same samples and labels, noisier embedding
    res = evaluate({"good": a, "bad": b}, n_boot=100, progress=False)
    m = res.metrics
    assert list(m.columns) == ["model", "dataset", "probe", "fold", "metric", "value", "n"]
    per_fold = m[m["fold"] >= 0]
    assert len(per_fold) == 2 * 3 * 5 * (len(METRICS) + 2)
    assert len(m[m["probe"] == "centroid"]) == 2
    p = res.predictions
    assert len(p) == 2 * 3 * 240 and set(p["fold"]) == set(range(5))
    for (model, probe, fold), g in p.groupby(["model", "probe", "fold"], observed=True):
        row = per_fold[(per_fold.model == model) & (per_fold.probe == probe) & (per_fold.fold == fold)]
        val = row.set_index("metric")["value"]
        assert val["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(g["true"].astype(str), g["pred"].astype(str)))
        assert val["accuracy"] == pytest.approx((g["true"] == g["pred"]).mean())
        assert row["n"].iloc[0] == len(g)
    # folds are the same for both models (paired), and the bootstrap compares bad against good
    f_good = p[(p.model == "good") & (p.probe == "1nn")].set_index("obs_name")["fold"]
    f_bad = p[(p.model == "bad") & (p.probe == "1nn")].set_index("obs_name")["fold"]
    assert f_good.sort_index().equals(f_bad.sort_index())
    s = res.significance
    assert res.reference == "good" and set(s["model"]) == {"bad"} and len(s) == 3 * (len(METRICS) + 2)
    acc = s[(s.metric == "accuracy") & (s.probe == "logreg")].iloc[0]
    pooled = res.pooled.set_index(["model", "probe", "metric"])["value"]
    assert acc["delta"] == pytest.approx(pooled["bad", "logreg", "accuracy"] - pooled["good", "logreg", "accuracy"])
    # severity distribution = counts of the mistakes in the predictions
    sev = res.severity[(res.severity.model == "bad") & (res.severity.probe == "1nn")]
    wrong = p[(p.model == "bad") & (p.probe == "1nn") & ~p.correct]
    assert sev.set_index("lca_height")["count"].to_dict() == wrong["lca_height"].value_counts().to_dict()
    assert set(res.backoff["probe"]) == {"1nn", "20nn", "logreg"}


def test_row_order_does_not_change_results_and_datasets_are_separate():
    a = _adata(1, 1.5, seg=60)
    perm = np.random.default_rng(0).permutation(a.n_obs)
    r1 = evaluate(a, n_boot=0, progress=False, probes=("1nn",))
    r2 = evaluate(a[perm].copy(), n_boot=0, progress=False, probes=("1nn",))
    assert r1.pooled.drop(columns="value").equals(r2.pooled.drop(columns="value"))
    np.testing.assert_allclose(r1.pooled["value"], r2.pooled["value"], rtol=1e-12)  # sums in another order
    p1, p2 = (r.predictions.set_index("obs_name").sort_index() for r in (r1, r2))
    assert p1["fold"].equals(p2["fold"]) and p1["pred"].equals(p2["pred"])
    assert set(r1.metrics["dataset"]) == {"pbc", "seg"}
    seg = r1.predictions[r1.predictions.dataset == "seg"]
    assert set(seg["true"].astype(str)) == set(SEG) and set(seg["pred"].astype(str)) <= set(SEG)


def test_unlabelled_fixed_split_head_and_errors():
    a = _adata(2, 1.0)
    a.obs["node"] = a.obs["node"].astype(object)
    a.obs.iloc[:5, a.obs.columns.get_loc("node")] = None
    a.obs["split"] = np.where(np.arange(a.n_obs) % 3 == 0, "test", "train")
    rng = np.random.default_rng(0)
    a.obsm["node_proba"] = rng.dirichlet(np.ones(len(H.leaves)), a.n_obs) @ H.membership.T
    with pytest.warns(UserWarning, match="5 samples without a node label"):
        res = evaluate(a, split_key="split", progress=False, probes=("logreg",))
    assert set(res.metrics.loc[res.metrics.probe == "logreg", "fold"]) == {0}
    n_test = ((np.arange(a.n_obs) % 3 == 0) & (np.arange(a.n_obs) >= 5)).sum()
    assert len(res.predictions) == n_test
    assert (res.backoff.loc[res.backoff.probe == "head", "n"] == a.n_obs - 5).all()
    b = _adata(3, 1.0)
    b.obs["node"] = b.obs["node"].cat.rename_categories({"monocyte": "monocytes"})
    with pytest.raises(HierarchyError, match="monocytes"):
        evaluate(b, progress=False)
    c = _adata(4, 1.0, n=200)
    with pytest.raises(ValueError, match="different samples"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate({"a": _adata(4, 1.0), "c": c}, n_boot=10, progress=False, probes=("1nn",))


def test_arrays_and_stored_hierarchy():
    a = _adata(5, 1.0)
    a.obs_names = [str(i) for i in range(a.n_obs)]  # the names arrays get
    y = a.obs["node"].astype(str).to_numpy()
    res = evaluate(a.obsm["X_cls"], labels=y, datasets="pbc", n_boot=0, progress=False, probes=("1nn",))
    ref = evaluate(a, n_boot=0, progress=False, probes=("1nn",))
    assert set(res.pooled["model"]) == {"model"} and set(ref.pooled["model"]) == {"m"}
    np.testing.assert_allclose(res.pooled["value"], ref.pooled["value"])
    h2 = H.copy()
    h2.rename_node("monocyte", "monocyte_classical")
    b = _adata(5, 1.0)
    b.uns["hierarchy"] = hierarchy_to_uns(h2)
    a.uns["hierarchy"] = hierarchy_to_uns(H)
    with pytest.raises(HierarchyError, match="different hierarchies"):
        evaluate({"a": a, "b": b}, progress=False)
    with pytest.raises(ValueError, match="need labels"):
        evaluate(np.zeros((3, 2)), progress=False)


def test_a_result_written_reads_back_with_its_dtypes(tmp_path):
    from hierwbc.evaluate import EvaluationResult

    res = evaluate({"good": _adata(0, 1.0, name="good"), "bad": _adata(0, 2.5, name="bad")}, n_boot=20,
                   progress=False, probes=("1nn",), reference="good")
    assert not EvaluationResult.is_written(tmp_path / "ev")
    assert res.write(tmp_path / "ev") == tmp_path / "ev" and EvaluationResult.is_written(tmp_path / "ev")
    res.write(tmp_path / "kept", tables=("pooled", "significance"))  # a subset: what a report keeps
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["pooled.csv", "significance.csv"]
    assert not EvaluationResult.is_written(tmp_path / "kept")
    back = EvaluationResult.read(tmp_path / "ev", res.hierarchy, "good", timings={"cached": "ev"})
    assert (back.reference, back.timings, back.hierarchy) == ("good", {"cached": "ev"}, res.hierarchy)
    for table in EvaluationResult.TABLES:
        pd.testing.assert_frame_equal(getattr(back, table), getattr(res, table), check_dtype=False,
                                      check_categorical=False)
    p = back.predictions
    assert list(p["true"].cat.categories) == list(res.hierarchy.nodes) and p["correct"].dtype == bool
    assert p["model"].dtype == "category" and p["obs_name"].dtype == object
