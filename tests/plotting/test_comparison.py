"""compare_losses: one bar per model and probe, height = mean over folds, error bar = std
(loop reference); panels datasets x metrics; probe order 1nn, 20nn, logreg."""

import numpy as np
import pytest

from hierwbc.plotting import compare_losses, comparison_table

from .conftest import metrics_table


def test_bars_and_error_bars_match_a_loop():
    models = ["hierce", "unsup", "ce"]
    metrics = metrics_table(np.random.default_rng(4), models, probes=("logreg", "1nn", "20nn"))
    fig = compare_losses(metrics, metric_names=("balanced_accuracy", "mistake_severity"))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["pbc · bAcc (%)", "pbc · LCA", "bccd · bAcc (%)", "bccd · LCA"]
    ax = panels[3]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1nn", "20nn", "logreg"]
    for k, model in enumerate(models):
        bars = [p for p in ax.patches if p.get_gid() == f"model:{model}"]
        assert len(bars) == 3
        for bar, probe in zip(bars, ["1nn", "20nn", "logreg"]):
            v = metrics[(metrics.model == model) & (metrics.dataset == "bccd") & (metrics.probe == probe)
                        & (metrics.metric == "mistake_severity")]["value"].to_numpy()
            assert bar.get_height() == pytest.approx(v.mean())
    bacc = panels[0]
    bar = next(p for p in bacc.patches if p.get_gid() == "model:ce")
    v = metrics[(metrics.model == "ce") & (metrics.dataset == "pbc") & (metrics.probe == "1nn")
                & (metrics.metric == "balanced_accuracy")]["value"].to_numpy()
    assert bar.get_height() == pytest.approx(100 * v.mean())
    t = comparison_table(metrics, metric_names=("balanced_accuracy",), datasets=["pbc"], models=["ce"], probes=["1nn"])
    assert t["std"].iloc[0] == pytest.approx(np.std(v, ddof=1)) and t["n_folds"].iloc[0] == 3
    legend = next(ax.get_legend() for ax in panels if ax.get_legend() is not None)
    assert [x.get_text() for x in legend.get_texts()] == models


def test_selection_and_errors():
    metrics = metrics_table(np.random.default_rng(5), ["a", "b"])
    fig = compare_losses(metrics, datasets=["bccd"], models=["b"], metric_names=("hierarchical_f1",))
    assert len([ax for ax in fig.axes if ax.get_title()]) == 1
    with pytest.raises(KeyError, match="'zz'"):
        compare_losses(metrics, models=["zz"])
    with pytest.raises(ValueError, match="no model selected"):
        compare_losses(metrics, models=[])
