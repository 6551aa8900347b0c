"""alpha_ablation: alphas from names, mappings and provenance; means and fold standard
deviations against a loop; refused without two alpha models."""

import json

import anndata as ad
import numpy as np
import pytest

from hierwbc.plotting import ablation_table, alpha_ablation, model_alphas

from .conftest import metrics_table

MODELS = ["unsup", "hierce_alpha0.9", "hierce_a0.1", "hierce-alpha=0.5"]
ALPHAS = {"hierce_alpha0.9": 0.9, "hierce_a0.1": 0.1, "hierce-alpha=0.5": 0.5}  # what their configs say


def test_model_alphas_reads_the_training_config():
    def a(loss, alpha):
        x = ad.AnnData(np.zeros((1, 1)))
        x.uns["provenance"] = {"config": json.dumps({"supervised": {"loss": loss, "alpha": alpha}}) if loss else ""}
        return x
    assert model_alphas({"h1": a("hierce", 0.3), "ce": a("ce", 0.5), "px": a(None, 0)}) == {"h1": 0.3}


def test_points_are_fold_means_with_std_error_bars():
    metrics = metrics_table(np.random.default_rng(2), MODELS)
    fig = alpha_ablation(metrics, ALPHAS, dataset="bccd", probes=["20nn", "logreg"])
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["bAcc (%)", "Lineage Acc (%)", "LCA", "Hierarchical F1 (%)"]
    ax = panels[2]  # LCA: not scaled
    for probe in ("20nn", "logreg"):
        line = next(ln for ln in ax.get_lines() if ln.get_gid() == f"probe:{probe}")
        np.testing.assert_allclose(line.get_xdata(), [0.1, 0.5, 0.9])
        for x, y, model in zip(line.get_xdata(), line.get_ydata(),
                               ["hierce_a0.1", "hierce-alpha=0.5", "hierce_alpha0.9"]):
            v = metrics[(metrics.model == model) & (metrics.dataset == "bccd") & (metrics.probe == probe)
                        & (metrics.metric == "mistake_severity")]["value"].to_numpy()
            assert y == pytest.approx(v.mean())
    t = ablation_table(metrics, ALPHAS, dataset="bccd", probes=["1nn"])
    v = metrics[(metrics.model == "hierce_a0.1") & (metrics.dataset == "bccd") & (metrics.probe == "1nn")
                & (metrics.metric == "hierarchical_f1")]["value"].to_numpy()
    row = t[(t.model == "hierce_a0.1") & (t.metric == "hierarchical_f1")].iloc[0]
    assert row["std"] == pytest.approx(np.std(v, ddof=1)) and row["n_folds"] == 3 and row["alpha"] == 0.1
    assert "unsup" not in set(t["model"])


def test_explicit_mapping_and_refusals():
    metrics = metrics_table(np.random.default_rng(3), ["unsup", "hierce", "hierce_strong"], datasets=("pbc",))
    t = ablation_table(metrics, {"hierce": 0.5, "hierce_strong": 0.9})
    assert sorted(set(zip(t.model, t.alpha))) == [("hierce", 0.5), ("hierce_strong", 0.9)]
    with pytest.raises(ValueError, match="two or more models with an alpha"):
        alpha_ablation(metrics, {})  # names carry no alpha: only configs do
    with pytest.raises(ValueError, match="several datasets"):
        alpha_ablation(metrics_table(np.random.default_rng(3), MODELS), ALPHAS)
