"""The interactive views of notebooks 05-09: each an :class:`~.interactive.Explorer` (controls
that redraw the figure in place) built from what evaluation and embedding produced. The initial
control values are the function's arguments, so a headless run draws (and can save) exactly
the figure those defaults describe.

- :func:`umap_explorer`: model, colour-by key, dataset, lineage filter; a :class:`CellViewer`
  below shows a chosen cell's image and marks it on the UMAP (a click on a point picks it with
  an interactive matplotlib backend such as ipympl).
- :func:`confusion_explorer`: model, dataset, probe, normalisation, lineage of the true class;
  below, the images of the cells behind one (true -> predicted) cell of the matrix.
- :func:`lca_explorer`, :func:`ablation_explorer` (alpha slider), :func:`comparison_explorer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import display

from hierwbc.hierarchy import Hierarchy

from .ablation import DEFAULT_METRICS, ablation_table, alpha_ablation
from .colors import MISSING_COLOR
from .common import PROBE_ORDER, choose, figure, hierarchy_of, node_labels, ordered, rows
from .comparison import FIG10_METRICS, FIG11_METRICS, compare_losses
from .confusion import confusion_by_lineage
from .gallery import cell_gallery
from .interactive import ALL, CellViewer, Explorer, dropdown
from .lca import KINDS, lca_distribution
from .umap_plot import DEFAULT_KEY, compute_umap, draw_embedding


def _lineages(h: Hierarchy, values) -> list:
    present = {v for v in pd.unique(pd.Series(list(values), dtype=object)) if isinstance(v, str)}
    return [ALL] + [lin for lin in h.lineages if lin in present]


def umap_explorer(adatas, *, model: str | None = None, color: str = "node", dataset: str = ALL,
                  lineage: str = ALL, use_rep: str = "X_cls", hierarchy: Hierarchy | None = None) -> Explorer:
    """UMAP of one model's cells (see the module docstring); ``adatas``: an AnnData or ``{model:
    AnnData}``. UMAPs are computed once per model and stored in its AnnData (``obsm["X_umap"]``)."""
    adatas = dict(adatas) if isinstance(adatas, Mapping) else {"model": adatas}
    first = next(iter(adatas.values()))
    h = hierarchy_of(first, hierarchy)
    keys = [k for k in first.obs.columns if k != "path" and (isinstance(first.obs[k].dtype, pd.CategoricalDtype)
                                                             or pd.api.types.is_numeric_dtype(first.obs[k]))]
    keys = ([k for k in ("node", "lineage", "dataset") if k in keys]
            + [k for k in keys if k not in ("node", "lineage", "dataset")])
    datasets = [ALL] + ordered(first.obs["dataset"].astype(object)) if "dataset" in first.obs else [ALL]
    viewer = CellViewer(first.obs, "node", h)
    holder: dict = {}

    def draw(model, color, dataset, lineage):
        a = adatas[model]
        compute_umap(a, use_rep)
        coords, obs = np.asarray(a.obsm[DEFAULT_KEY]), a.obs
        keep = np.ones(a.n_obs, bool) if dataset == ALL else (obs["dataset"].astype(str) == dataset).to_numpy()
        focus = keep if lineage == ALL else keep & (obs["lineage"].astype(object) == lineage).to_numpy()
        if not focus.any():
            raise ValueError(f"no cells of lineage {lineage!r} in dataset {dataset!r}")
        fig = figure(8.0, 5.6)
        ax = fig.subplots()
        rest = keep & ~focus
        ax.scatter(coords[rest, 0], coords[rest, 1], c=MISSING_COLOR, s=6, linewidths=0, rasterized=True)
        draw_embedding(ax, coords[focus], obs[focus], color, h,
                       title=f"{model} · {dataset if dataset != ALL else 'all datasets'} · {color}")
        star = ax.scatter(np.empty(0), np.empty(0), marker="*", s=260, c="yellow", edgecolors="black",
                          linewidths=1.2, zorder=5, gid="selected-cell")
        names = obs.index[keep]
        layer = ax.scatter(coords[keep, 0], coords[keep, 1], s=12, alpha=0.0, picker=True, gid="pick-layer")
        holder.update(star=star, shown=pd.Series(np.arange(len(names)), index=names), coords=coords[keep])
        place_star(viewer.current)
        fig.canvas.mpl_connect("pick_event", lambda ev: on_pick(ev, layer, names))
        return fig

    def place_star(name) -> bool:
        """Move the star onto cell ``name`` (hidden when it is not on the map); True if shown."""
        shown = holder.get("shown")
        if shown is None:
            return False
        on_map = name in shown.index
        holder["star"].set_offsets(holder["coords"][[shown[name]]] if on_map else np.empty((0, 2)))
        return on_map

    def on_pick(event, layer, names):
        if event.artist is not layer or not len(event.ind):
            return
        ind = np.asarray(event.ind)
        mouse = getattr(event, "mouseevent", None)
        if mouse is not None and len(ind) > 1:  # the point nearest the click, not the first in data order
            xy = layer.axes.transData.transform(holder["coords"][ind])
            ind = ind[[int(np.argmin(np.hypot(xy[:, 0] - mouse.x, xy[:, 1] - mouse.y)))]]
        name = names[int(ind[0])]
        if name in viewer.obs.index:
            viewer.select(name)

    def on_show(name):
        place_star(name)
        holder["explorer"].refresh()

    controls = {"model": dropdown("model", list(adatas), model), "color": dropdown("colour by", keys, color),
                "dataset": dropdown("dataset", datasets, dataset),
                "lineage": dropdown("lineage", _lineages(h, first.obs.get("lineage", [])), lineage)}
    explorer = Explorer(draw, controls, extra=[widgets.HTML("<b>A cell</b> (marked ★ on the UMAP)"), viewer])
    holder["explorer"] = explorer
    viewer.on_show(on_show)
    explorer.viewer, explorer.on_pick = viewer, on_pick
    return explorer


def mistakes(predictions: pd.DataFrame, model, dataset, probe) -> pd.DataFrame:
    """``true, pred, count`` of the mistakes of one model x dataset x probe, most frequent first."""
    df = rows(predictions, model=model, dataset=dataset, probe=probe)
    df = df[~df["correct"].astype(bool)]
    out = df.groupby([df["true"].astype(str), df["pred"].astype(str)]).size().rename("count").reset_index()
    return out.sort_values(["count", "true", "pred"], ascending=[False, True, True]).reset_index(drop=True)


def confusion_explorer(predictions: pd.DataFrame, hierarchy: Hierarchy | None = None, *, adatas=None,
                       model: str | None = None, dataset: str | None = None, probe: str | None = None,
                       normalize: str = "row", lineage: str = ALL, n_cells: int = 8) -> Explorer:
    """Confusion matrix by lineage with controls; with ``adatas`` (``{model: AnnData}``, whose
    obs_names are the predictions' ``obs_name``), a chooser of (true -> predicted) mistakes shows
    ``n_cells`` of their images."""
    h = hierarchy_of(None, hierarchy)
    models = ordered(predictions["model"].astype(object))
    model = model or models[0]
    ds_list, pr_list = (ordered(predictions["dataset"].astype(object)),
                        ordered(predictions["probe"].astype(object), PROBE_ORDER))
    dataset, probe = dataset or ds_list[0], probe or pr_list[0]

    def draw(model, dataset, probe, normalize, lineage):
        sub = (predictions if lineage == ALL
               else predictions[(predictions["true_lineage"].astype(object) == lineage).to_numpy()])
        return confusion_by_lineage(sub, h, model=model, dataset=dataset, probe=probe,
                                    normalize=None if normalize == "count" else "row")

    controls = {"model": dropdown("model", models, model), "dataset": dropdown("dataset", ds_list, dataset),
                "probe": dropdown("probe", pr_list, probe),
                "normalize": widgets.ToggleButtons(options=["row", "count"], value=normalize, description="colour"),
                "lineage": dropdown("true lineage", _lineages(h, predictions["true_lineage"].astype(object)), lineage)}
    pair = dropdown("mistake", [("(none)", None)])
    cells = widgets.Output()
    extra = [pair, cells] if adatas is not None else []
    explorer = Explorer(draw, controls, extra=extra)
    if adatas is None:
        return explorer

    def refresh_pairs(_change=None):
        v = explorer.values
        m = mistakes(predictions, v["model"], v["dataset"], v["probe"])
        labels = dict(zip(h.nodes, node_labels(h, list(h.nodes))))
        pair.options = [("(none)", None)] + [(f"{labels[t]} → {labels[p]} ({c})", (t, p))
                                             for t, p, c in m.itertuples(index=False)]
        pair.value = pair.options[1][1] if len(pair.options) > 1 else None

    def show_pair(_change=None):
        cells.clear_output(wait=True)
        if pair.value is None:
            return
        v, (t, p) = explorer.values, pair.value
        df = rows(predictions, model=v["model"], dataset=v["dataset"], probe=v["probe"])
        names = df.loc[(df["true"].astype(str) == t).to_numpy() & (df["pred"].astype(str) == p).to_numpy(), "obs_name"]
        obs = adatas[v["model"]].obs.loc[names.astype(str)]
        explorer.cells_figure = cell_gallery(obs, by="node", n=n_cells, hierarchy=h, seed=0,
                                             title=f"true {h.label(t)}, predicted {h.label(p)}")
        with cells:
            display(explorer.cells_figure)

    for c in controls.values():
        c.observe(refresh_pairs, names="value")
    pair.observe(show_pair, names="value")
    explorer.pair, explorer.cells_figure = pair, None
    refresh_pairs()
    show_pair()
    return explorer


def lca_explorer(table: pd.DataFrame, *, dataset: str | None = None, probe: str | None = None,
                 models: Sequence[str] | None = None, kind: str = "both") -> Explorer:
    """Mistake-severity distributions (severity or predictions table) with controls."""
    ds_list, pr_list = ordered(table["dataset"].astype(object)), ordered(table["probe"].astype(object), PROBE_ORDER)
    all_models = ordered(table["model"].astype(object))
    controls = {"dataset": dropdown("dataset", ds_list, dataset or ds_list[0]),
                "probe": dropdown("probe", pr_list, probe or pr_list[0]),
                "models": widgets.SelectMultiple(options=all_models, value=tuple(models or all_models),
                                                 description="models", rows=min(6, len(all_models))),
                "kind": widgets.ToggleButtons(options=list(KINDS), value=kind, description="kind")}
    return Explorer(lambda dataset, probe, models, kind: lca_distribution(
        table, dataset=dataset, probe=probe, models=list(models), kind=kind), controls)


def ablation_explorer(metrics: pd.DataFrame, alphas: Mapping[str, float], *,
                      dataset: str | None = None, probes: Sequence[str] | None = None,
                      metric_names: Sequence[str] = DEFAULT_METRICS, alpha: float | None = None) -> Explorer:
    """The alpha ablation with controls; the alpha slider marks one alpha on every panel and
    lists that model's values (mean ± std over folds) below the figure."""
    ds_list = ordered(metrics["dataset"].astype(object))
    dataset = choose(metrics, "dataset", dataset or ds_list[0])
    table = ablation_table(metrics, alphas, dataset=dataset, metric_names=metric_names)
    alpha_values = sorted(table["alpha"].unique())
    pr_list = list(pd.unique(table["probe"]))
    values = widgets.HTML()

    def draw(dataset, probes, metric_names, alpha):
        fig = alpha_ablation(metrics, alphas, dataset=dataset, probes=list(probes), metric_names=list(metric_names))
        for ax in fig.axes:
            ax.axvline(alpha, color="#888888", ls="--", lw=1, gid="alpha-marker")
        t = ablation_table(metrics, alphas, dataset=dataset, metric_names=list(metric_names), probes=list(probes))
        t = t[t["alpha"] == alpha].assign(
            value=lambda d: d["mean"].round(4).astype(str) + " ± " + d["std"].round(4).astype(str))
        values.value = t.pivot(index="probe", columns="metric", values="value").to_html()
        return fig

    controls = {"dataset": dropdown("dataset", ds_list, dataset),
                "probes": widgets.SelectMultiple(options=pr_list, value=tuple(probes or pr_list), description="probes"),
                "metric_names": widgets.SelectMultiple(options=sorted(set(metrics["metric"].astype(str))),
                                                       value=tuple(m for m in metric_names), description="metrics",
                                                       rows=6),
                "alpha": widgets.SelectionSlider(options=alpha_values,
                                                 value=alpha if alpha is not None else alpha_values[0],
                                                 description="α")}
    return Explorer(draw, controls, extra=[values])


METRIC_SETS = {"Fig. 10 (bAcc)": FIG10_METRICS, "Fig. 11 (hierarchical)": FIG11_METRICS,
               "both": FIG10_METRICS + FIG11_METRICS}


def comparison_explorer(metrics: pd.DataFrame, *, datasets: Sequence[str] | None = None,
                        models: Sequence[str] | None = None, metric_set: str = "both") -> Explorer:
    """Grouped bars of the models (paper Figs. 10/11) with controls."""
    ds_list, all_models = ordered(metrics["dataset"].astype(object)), ordered(metrics["model"].astype(object))
    controls = {"datasets": widgets.SelectMultiple(options=ds_list, value=tuple(datasets or ds_list),
                                                   description="datasets"),
                "models": widgets.SelectMultiple(options=all_models, value=tuple(models or all_models),
                                                 description="models", rows=min(8, len(all_models))),
                "metric_set": dropdown("metrics", list(METRIC_SETS), metric_set)}
    return Explorer(lambda datasets, models, metric_set: compare_losses(
        metrics, datasets=list(datasets), models=list(models), metric_names=METRIC_SETS[metric_set]), controls)
