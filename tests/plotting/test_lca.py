"""lca_distribution: bar heights = share of mistakes per LCA height (loop reference), ECDFs end
at 1, the severity and predictions tables give the same figure."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.evaluate.protocol import _severity
from hierwbc.plotting import lca_distribution, severity_counts


def _shares(predictions, model, probe):
    sub = predictions[(predictions.model == model) & (predictions.probe == probe)]
    heights = [int(x) for x in sub["lca_height"] if x > 0]
    return {k: heights.count(k) / len(heights) for k in range(1, max(heights) + 1)}, np.mean(heights), len(heights)


def test_bars_are_shares_of_mistakes_per_height(predictions):
    fig = lca_distribution(predictions, dataset="pbc", probe="1nn", kind="hist")
    ax = fig.axes[0]
    for model in ("unsup", "hierce"):
        share, mean, n = _shares(predictions, model, "1nn")
        bars = [p for p in ax.patches if p.get_gid() == f"model:{model}"]
        top = max(max(_shares(predictions, m, "1nn")[0]) for m in ("unsup", "hierce"))
        assert len(bars) == top
        got = {round(b.get_x() + b.get_width() / 2): b.get_height() for b in bars}
        for k in range(1, top + 1):
            assert got[k] == pytest.approx(share.get(k, 0.0))
        assert f"{model} (n={n}, mean {mean:.2f})" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_ecdf_from_the_severity_table_matches_predictions(predictions, h):
    severity = _severity([predictions], h)  # what evaluate() returns
    a = lca_distribution(severity, dataset="pbc", probe="logreg", kind="ecdf").axes[0]
    b = lca_distribution(predictions, dataset="pbc", probe="logreg", kind="ecdf").axes[0]
    for la, lb in zip(a.get_lines(), b.get_lines()):
        np.testing.assert_allclose(la.get_ydata(), lb.get_ydata())
        assert la.get_ydata()[-1] == pytest.approx(1.0) and np.all(np.diff(la.get_ydata()) >= 0)
    share, _, _ = _shares(predictions, "hierce", "logreg")
    line = next(ln for ln in b.get_lines() if ln.get_gid() == "model:hierce")
    np.testing.assert_allclose(line.get_ydata()[1:],
                               np.cumsum([share.get(k, 0) for k in range(1, len(line.get_ydata()))]))


def test_severity_counts_drops_correct_predictions_and_bad_input(predictions):
    c = severity_counts(predictions)
    assert (c["lca_height"] >= 1).all() and c["count"].sum() == int((predictions["lca_height"] > 0).sum())
    with pytest.raises(KeyError, match="lca_height"):
        severity_counts(pd.DataFrame({"model": [], "dataset": [], "probe": []}))
    both = lca_distribution(predictions, dataset="pbc", probe="1nn")
    assert len([ax for ax in both.axes if ax.get_xlabel()]) == 2
    with pytest.raises(ValueError, match="kind"):
        lca_distribution(predictions, dataset="pbc", probe="1nn", kind="violin")
