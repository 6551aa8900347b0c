"""Figures of hierwbc, scanpy-style: functions taking an AnnData or the tidy tables of
:func:`hierwbc.evaluate.evaluate` and returning a :class:`matplotlib.figure.Figure`.

>>> import hierwbc.plotting as hp
>>> hp.umap(adata, color=["node", "dataset"])                      # doctest: +SKIP
>>> hp.confusion_by_lineage(res.predictions, model=["unsup", "hierce"], dataset="pbc_test",
...                         probe="20nn")                          # doctest: +SKIP
>>> hp.save_figure(fig, "runs/demo/figures/umap.png")              # doctest: +SKIP

Colours come from the hierarchy (:mod:`.colors`): each lineage a hue family, its nodes shades.
Interactive versions (ipywidgets) of the analysis figures: :mod:`.explorers`.
"""

from ..deprecation import renamed_attributes
from .ablation import ablation_table, alpha_ablation, model_alphas
from .colors import category_colors, lineage_colors, node_colors
from .common import fold_stats, node_labels, save_figure, save_table
from .comparison import FIG10_METRICS, FIG11_METRICS, compare_losses, comparison_table
from .confusion import confusion_by_lineage, confusion_table, lineage_blocks
from .counts import (
    class_counts,
    counts_by_node,
    predicted_by_depth,
    predicted_by_lineage,
    prediction_counts,
)
from .gallery import cell_figure, cell_gallery, cell_grid, thumbnail, umap_thumbnails
from .interactive import use_widget_backend
from .lca import lca_distribution, severity_counts
from .training import read_metrics, training_curves
from .umap_plot import compute_umap, umap

__all__ = [
    "FIG10_METRICS", "FIG11_METRICS", "ablation_table", "alpha_ablation", "category_colors",
    "cell_figure", "cell_gallery", "cell_grid", "class_counts", "compare_losses", "comparison_table", "compute_umap",
    "confusion_by_lineage", "confusion_table", "counts_by_node", "fold_stats", "lca_distribution",
    "lineage_blocks", "lineage_colors", "model_alphas", "node_colors", "node_labels", "predicted_by_depth",
    "predicted_by_lineage", "prediction_counts", "read_metrics",
    "save_figure", "save_table", "severity_counts", "thumbnail", "training_curves", "umap", "umap_thumbnails",
    "use_widget_backend",
]

__getattr__ = renamed_attributes(__name__, {"alpha_from_name": "hierwbc.config.experiment:alpha_from_name"})
