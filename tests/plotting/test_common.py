"""Shared helpers: figures display as PNG, atomic writes, selection errors, labels, fold stats."""

import numpy as np
import pandas as pd
import pytest

from hierwbc.plotting.common import (
    choose,
    choose_many,
    figure,
    fold_stats,
    metric_label,
    node_labels,
    save_figure,
    tree_order,
)


def test_figures_display_as_png_and_save_atomically(tmp_path):
    from IPython.core.formatters import DisplayFormatter

    fig = figure(2, 1)
    fig.subplots().plot([0, 1], [1, 0])
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"].startswith(b"\x89PNG")
    path = save_figure(fig, tmp_path / "a" / "b.png")
    assert path.read_bytes().startswith(b"\x89PNG") and [p.name for p in path.parent.iterdir()] == ["b.png"]


def test_choose_names_the_choices():
    t = pd.DataFrame({"model": pd.Categorical(["b", "a", "b"]), "probe": ["1nn"] * 3})
    assert choose(t, "probe", None) == "1nn"
    with pytest.raises(ValueError, match=r"several models \['b', 'a'\]: pass model="):
        choose(t, "model", None)
    with pytest.raises(KeyError, match="'c' not in the table"):
        choose(t, "model", "c")
    assert choose_many(t, "model", None, first=["a"]) == ["a", "b"]
    with pytest.raises(ValueError, match="no model selected"):
        choose_many(t, "model", [])


def test_node_labels_fall_back_to_names_for_shared_labels(h):
    assert node_labels(h, ["lymphoid_immature", "myelocyte"]) == ["lymphoid_immature", "myelocyte"]
    assert node_labels(h, ["neutrophil_band"]) == ["band neutrophil"]
    assert tree_order(h, ["platelet", "wbc", "monocyte", "platelet"]) == ["wbc", "monocyte", "platelet"]
    with pytest.raises(KeyError, match="nope"):
        tree_order(h, ["nope"])


def test_fold_stats_and_labels():
    t = pd.DataFrame({"model": ["a"] * 4, "fold": [0, 1, 2, -1], "value": [1.0, 2.0, 6.0, 100.0]})
    s = fold_stats(t, ["model"]).iloc[0]
    assert s["mean"] == 3.0 and s["std"] == pytest.approx(np.std([1, 2, 6], ddof=1)) and s["n_folds"] == 3
    assert metric_label("balanced_accuracy") == "bAcc (%)" and metric_label("mistake_severity") == "LCA"
    with pytest.raises(ValueError, match="no per-fold rows"):
        fold_stats(t[t.fold < 0], ["model"])
