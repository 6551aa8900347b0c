"""The figures of an experiment (paper Figs. 10-15 and the UMAPs), drawn by
:mod:`hierwbc.plotting` from the evaluation tables and embeddings, saved as PNG."""

from __future__ import annotations

from pathlib import Path

from .. import plotting as hp
from ..config import ExperimentConfig


def draw_figures(cfg: ExperimentConfig, res, adatas: dict, out: str | Path) -> list[Path]:
    """Every figure the experiment file asks for (``figures:`` section); returns the files."""
    import matplotlib.pyplot as plt

    out, f, saved = Path(out), cfg.figures, []
    sets = [s.name for s in cfg.sets]
    pair = [m for m in f.get("pair", []) if m in adatas]
    models = [m for m in f.get("compare_models", list(adatas)) if m in adatas]

    def save(fig, name):
        saved.append(hp.save_figure(fig, out / f"{name}.png"))
        plt.close(fig)

    save(hp.compare_losses(res.metrics, metric_names=hp.FIG10_METRICS, models=models, datasets=sets),
         "compare_losses_bacc")
    save(hp.compare_losses(res.metrics, metric_names=hp.FIG11_METRICS, models=models, datasets=sets),
         "compare_losses_hierarchical")
    alphas = {m: a for m, a in f.get("alpha_models", {}).items() if m in adatas}
    if len(alphas) > 1:
        for ds in sets:
            save(hp.alpha_ablation(res.metrics, alphas, dataset=ds), f"alpha_ablation_{ds}")
    if pair:
        for ds in sets:
            for probe in cfg.probes:
                save(hp.confusion_by_lineage(res.predictions, res.hierarchy, model=pair, dataset=ds, probe=probe),
                     f"confusion_by_lineage_{ds}_{probe}")
            save(hp.lca_distribution(res.severity, dataset=ds, probe="20nn" if "20nn" in cfg.probes else cfg.probes[0],
                                     models=models), f"lca_{ds}")
        umap_set = f.get("umap_set", sets[0])
        for m in pair:
            a = adatas[m]
            a = a[a.obs["dataset"] == umap_set].copy()
            save(hp.umap(a, color=["node", "lineage"], title=f"{m}: {umap_set}"), f"umap_{m}_{umap_set}")
    return saved
