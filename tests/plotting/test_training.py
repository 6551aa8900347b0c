"""read_metrics tolerates the line being written; training_curves draws each term per run."""

import json

import numpy as np
import pytest

from hierwbc.plotting import read_metrics, training_curves
from hierwbc.plotting.training import _smooth


def test_read_metrics_skips_a_partial_last_line(tmp_path):
    lines = [json.dumps({"step": s, "loss": 10 - s, "dino": 5.0}) for s in range(4)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + '\n{"step": 4, "lo')
    df = read_metrics(tmp_path)
    assert list(df["step"]) == [0, 1, 2, 3] and list(df["loss"]) == [10, 9, 8, 7]
    (tmp_path / "bad.jsonl").write_text('{"step": 0}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_metrics(tmp_path / "bad.jsonl")
    assert read_metrics(tmp_path / "missing").empty


def test_curves_per_term_and_run():
    import pandas as pd
    a = pd.DataFrame({"step": range(5), "loss": np.arange(5.0), "sup": np.ones(5)})
    b = pd.DataFrame({"step": range(3), "loss": np.arange(3.0) * 2})
    fig = training_curves({"hierce": a, "unsup": b}, smooth=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "sup"]
    loss_ax, sup_ax = fig.axes
    assert {ln.get_gid() for ln in loss_ax.get_lines()} == {"run:hierce", "run:unsup"}
    assert [ln.get_gid() for ln in sup_ax.get_lines()] == ["run:hierce"]
    legend = [t.get_text() for t in sup_ax.get_legend().get_texts()]
    assert legend == ["hierce", "unsup"]  # unsup too, though it has no line in the last panel
    line = next(ln for ln in loss_ax.get_lines() if ln.get_gid() == "run:hierce")
    np.testing.assert_allclose(line.get_ydata(), [0, 0.5, 1.5, 2.5, 3.5])
    assert fig.get_suptitle() == ""  # no title given: none drawn (a panel's title leaked up here once)
    titled = training_curves({"hierce": a, "unsup": b}, title="training loss terms")
    assert titled.get_suptitle() == "training loss terms"
    assert [ax.get_title() for ax in titled.axes] == ["loss", "sup"]
    many = training_curves({f"run{i}": b for i in range(25)})
    assert many.axes[-1].get_legend()._ncols == 3  # 10 runs per column


def test_smoothing_is_a_trailing_mean():
    x = np.array([4.0, 2.0, 6.0, 8.0])
    np.testing.assert_allclose(_smooth(x, 3), [4, 3, 4, 16 / 3])
    np.testing.assert_array_equal(_smooth(x, 1), x)


def test_lab_shifted_knn_is_drawn_dashed_in_the_knn_panel():
    import pandas as pd
    a = pd.DataFrame({"step": [0, 1, 2, 2], "loss": [3.0, 2.0, 1.0, np.nan],
                      "knn_bacc": [np.nan, np.nan, np.nan, 0.5], "knn_bacc_shifted": [np.nan, np.nan, np.nan, 0.3]})
    a.loc[0, ["knn_bacc", "knn_bacc_shifted"]] = [0.4, 0.2]
    fig = training_curves({"s3": a, "plain": a.drop(columns="knn_bacc_shifted")})
    knn_ax = fig.axes[1]
    assert knn_ax.get_title().endswith("dashed: as if from another lab")
    lines = {ln.get_gid(): ln for ln in knn_ax.get_lines()}
    assert set(lines) == {"run:s3", "run:s3:shifted", "run:plain"}
    assert lines["run:s3:shifted"].get_linestyle() == "--"
    np.testing.assert_allclose(lines["run:s3:shifted"].get_ydata(), [0.2, 0.3])
