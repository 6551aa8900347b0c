"""The notebook explorers: controls redraw the right figure, a picked / chosen cell is shown."""

from types import SimpleNamespace

import numpy as np

from hierwbc.plotting.explorers import (
    ablation_explorer,
    comparison_explorer,
    confusion_explorer,
    lca_explorer,
    mistakes,
    umap_explorer,
)
from hierwbc.plotting.interactive import ALL

from .conftest import metrics_table, predictions_table


def test_umap_explorer_filters_and_marks_the_picked_cell(adata, h):
    other = adata.copy()
    ex = umap_explorer({"hierce": adata, "unsup": other}, model="hierce", color="lineage")
    ax = ex.figure.axes[0]
    assert ax.get_title() == "hierce · all datasets · lineage"
    ex.controls["model"].value = "unsup"
    assert ex.figure.axes[0].get_title().startswith("unsup")
    ex.controls["lineage"].value = "granulopoiesis"
    ax = ex.figure.axes[0]
    shown = sum(len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("category:"))
    assert shown == int((adata.obs["lineage"] == "granulopoiesis").sum())
    layer = next(c for c in ax.collections if c.get_gid() == "pick-layer")
    names = adata.obs.index
    ex.on_pick(SimpleNamespace(artist=layer, ind=np.array([5])), layer, names)
    assert ex.viewer.current == names[5]
    star = next(c for c in ex.figure.axes[0].collections if c.get_gid() == "selected-cell")
    np.testing.assert_allclose(star.get_offsets()[0], other.obsm["X_umap"][5])
    # several points under the click: the nearest to the mouse wins, not the first in data order
    xy = ax.transData.transform(other.obsm["X_umap"][[2, 9]])
    mouse = SimpleNamespace(x=xy[1, 0], y=xy[1, 1])
    ex.on_pick(SimpleNamespace(artist=layer, ind=np.array([2, 9]), mouseevent=mouse), layer, names)
    assert ex.viewer.current == names[9]
    # choosing a cell with the viewer's controls moves the star too
    ex.viewer.slider.value = 3
    np.testing.assert_allclose(star.get_offsets()[0], other.obsm["X_umap"][3])
    ex.controls["lineage"].value = "lymphopoiesis"  # the cell is not in focus: still on the map (grey)
    star = next(c for c in ex.figure.axes[0].collections if c.get_gid() == "selected-cell")
    np.testing.assert_allclose(star.get_offsets()[0], other.obsm["X_umap"][3])
    assert "color" in ex.controls and "dataset" in ex.controls["color"].options


def test_confusion_explorer_lists_mistakes_and_shows_their_cells(h, adata):
    preds = predictions_table(np.random.default_rng(0), n=len(adata))
    preds["obs_name"] = np.tile(adata.obs_names.to_numpy(), len(preds) // adata.n_obs)
    ex = confusion_explorer(preds, h, adatas={"unsup": adata, "hierce": adata}, model="hierce", probe="logreg")
    assert "hierce · pbc · logreg" in ex.figure.axes[0].get_title()
    m = mistakes(preds, "hierce", "pbc", "logreg")
    assert ex.pair.value == (m.iloc[0]["true"], m.iloc[0]["pred"])
    assert len(ex.pair.options) == len(m) + 1
    t, p = ex.pair.value
    sub = preds[(preds.model == "hierce") & (preds.probe == "logreg") & (preds.true == t) & (preds.pred == p)]
    n_images = sum(len(ax.get_images()) for ax in ex.cells_figure.axes)
    assert n_images == min(8, len(sub))
    ex.controls["lineage"].value = "granulopoiesis"
    title = ex.figure.axes[0].get_title()
    n = int(((preds.model == "hierce") & (preds.probe == "logreg") & (preds.true_lineage == "granulopoiesis")).sum())
    assert f"{n} cells" in title
    ex.controls["normalize"].value = "count"
    assert ex.figure.axes[0].get_images()[0].get_clim()[1] > 1


def test_lca_ablation_comparison_explorers(predictions):
    lca = lca_explorer(predictions, probe="logreg", kind="hist")
    assert "logreg" in lca.figure._suptitle.get_text()
    lca.controls["models"].value = ("unsup",)
    assert {p.get_gid() for p in lca.figure.axes[0].patches} == {"model:unsup"}
    metrics = metrics_table(np.random.default_rng(7), ["unsup", "hierce_a0.1", "hierce_a0.5", "hierce_a0.9"])
    alphas = {"hierce_a0.1": 0.1, "hierce_a0.5": 0.5, "hierce_a0.9": 0.9}  # as their configs say
    abl = ablation_explorer(metrics, alphas, dataset="pbc", alpha=0.5)
    markers = [ln for ax in abl.figure.axes for ln in ax.get_lines() if ln.get_gid() == "alpha-marker"]
    assert len(markers) == 4 and all(ln.get_xdata()[0] == 0.5 for ln in markers)
    abl.controls["alpha"].value = 0.9
    assert all(ln.get_xdata()[0] == 0.9 for ax in abl.figure.axes for ln in ax.get_lines()
               if ln.get_gid() == "alpha-marker")
    assert "<table" in abl.children[-1].value
    cmp_ = comparison_explorer(metrics, metric_set="Fig. 10 (bAcc)")
    assert len([ax for ax in cmp_.figure.axes if ax.get_title()]) == 2
    cmp_.controls["datasets"].value = ("bccd",)
    assert [ax.get_title() for ax in cmp_.figure.axes if ax.get_title()] == ["bccd · bAcc (%)"]
    cmp_.controls["models"].value = ()
    assert cmp_.figure is None and "no model selected" in cmp_.message.value
    assert ALL not in cmp_.controls["datasets"].options


def test_a_click_on_the_live_canvas_picks_the_cell_under_it(adata, monkeypatch):
    """With clickable figures on (what ``use_widget_backend`` turns on in a kernel), the explorer
    shows an ipympl canvas; a browser click message at a point's pixel (y from the top, as the
    front end sends it) reaches the pick layer and shows that cell."""
    from hierwbc.plotting import interactive

    monkeypatch.setitem(interactive._CLICKABLE, "on", True)
    ex = umap_explorer({"hierce": adata}, model="hierce", color="node")
    canvas = ex.canvas
    assert canvas.figure is ex.figure and type(canvas).__module__.startswith("ipympl")
    canvas.draw()  # the layout the browser shows
    target = adata.obs_names[7]
    assert ex.viewer.current != target
    x, y = ex.figure.axes[0].transData.transform(adata.obsm["X_umap"][7])
    click = {"x": x, "y": ex.figure.bbox.height - y, "button": 0, "buttons": 1, "modifiers": []}
    n_draws = ex.n_draws
    canvas._handle_message(canvas, dict(click, type="button_press"), [])
    assert ex.viewer.current == target
    # the star moved in place: same figure and canvas (a zoom the user made is kept), no new draw
    assert ex.canvas is canvas and ex.n_draws == n_draws
    star = next(c for c in ex.figure.axes[0].collections if c.get_gid() == "selected-cell")
    np.testing.assert_allclose(star.get_offsets()[0], adata.obsm["X_umap"][7])
    # the viewer's controls follow the click: the cell's position among the cells listed
    assert ex.viewer.cls.value == ALL and ex.viewer.slider.value == 7
    monkeypatch.setitem(interactive._CLICKABLE, "on", False)
    ex.redraw()
    assert ex.canvas is ex.figure  # static again: the figure itself is displayed


def test_use_widget_backend_is_off_outside_a_kernel():
    from hierwbc.plotting import interactive

    assert interactive.use_widget_backend() is False and interactive._CLICKABLE["on"] is False
