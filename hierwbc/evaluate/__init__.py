"""Evaluation of embeddings: the paper's probes, flat + hierarchical metrics, stratified paired
bootstrap, back-off curves, and the paper's tables.

>>> res = evaluate({"hierce": adata_a, "unsup": adata_b}, reference="hierce")  # doctest: +SKIP
>>> report(res, "results/")                                                    # doctest: +SKIP

Protocol (paper Sec. 2.4.2, Appendix B; DinoBloom's evaluation, Koch et al. 2024): per model
and dataset, probes ``1nn``, ``20nn`` (Euclidean, uniform votes; a vote tie goes to the tied
class with the nearest member) and ``logreg`` (multinomial, L2, C = D K / 100, sklearn's
objective and stopping rule) on features standardised per training fold, seeded stratified
5-fold CV (folds drawn from the sorted sample names and labels, hence identical for every
model embedding the same samples, with byte-identical images, found from obs ``path``, in one
fold; or a fixed split / given folds), labels at the dataset's own
precision as tree nodes. Significance: every model against the reference on the pooled
out-of-fold predictions, 1,000 stratified resamples drawn once per dataset and shared by all
probes and models (:mod:`.bootstrap`). Samples without a node label are left out with a
warning that counts them per dataset.

Tidy tables of :class:`EvaluationResult` (all ``pandas.DataFrame``):

``metrics`` (one row per model x dataset x probe x fold x metric)
    ``model`` str, ``dataset`` str, ``probe`` str (``1nn``, ``20nn``, ``logreg``; ``centroid``
    for ``centroid_spearman``, computed once per model x dataset with ``fold = -1``),
    ``fold`` int (the test fold; -1: all samples), ``metric`` str (:data:`METRICS`,
    ``hdist@k``, ``centroid_spearman``), ``value`` float (fractions in [0, 1]; LCA heights in
    edges; NaN when undefined, e.g. ``mistake_severity`` without mistakes), ``n`` int (test
    samples; class pairs for ``centroid_spearman``).
``pooled``
    same columns, ``fold = -1``: the out-of-fold predictions of all folds together (what the
    bootstrap resamples).
``predictions`` (one row per model x dataset x probe x tested sample)
    ``model``, ``dataset``, ``probe`` (categorical), ``fold`` int, ``obs_name`` str, ``true``,
    ``pred`` (categorical node names, categories = ``hierarchy.nodes``), ``correct`` bool,
    ``lca_height`` int (0 when correct), ``true_lineage``, ``pred_lineage`` (categorical).
``severity`` (distribution of mistakes, pooled over folds)
    ``model``, ``dataset``, ``probe``, ``lca_height`` int >= 1, ``count`` int, ``fraction``
    (of that model x dataset x probe's mistakes).
``significance`` (Appendix B; one row per dataset x probe x metric x model != reference)
    ``dataset``, ``probe``, ``metric``, ``model``, ``reference``, ``value_model``,
    ``value_reference``, ``delta`` (= model - reference, on the original samples), ``ci_low``,
    ``ci_high`` (percentile interval), ``significant`` bool (interval excludes 0), ``p_value``
    (two-sided bootstrap p), ``n_boot``, ``boot_seed`` (of the resampling).

Several training seeds (:func:`.seeds.combine_seeds`): every table gains an int ``seed`` column
(the training seed of the model); ``significance`` holds each seed's rows and, with two seeds or
more, rows with ``seed = -1`` from the seed-aware bootstrap (:mod:`.seed_bootstrap`; column
``n_seeds``).
``backoff`` (one row per model x dataset x probe x threshold; probe ``head`` for a model's
    own ``obsm["node_proba"]``)
    ``model``, ``dataset``, ``probe``, ``threshold``, ``accuracy`` (prediction on the label's
    root path), ``exact_accuracy``, ``mean_depth``, ``depth_coverage``, ``hierarchical_f1``,
    ``n`` (see :mod:`.backoff`).

Metric definitions: :mod:`.metrics`. Tables of the paper: :mod:`.tables`.
"""

from .backoff import (
                      DEFAULT_THRESHOLDS,
                      backoff_curve,
                      backoff_predict,
                      class_to_node_proba,
                      leaf_to_node_proba,
)
from .bootstrap import bootstrap_metrics, paired_bootstrap, paired_bootstraps, stratified_resample
from .folds import fixed_split, stratified_folds
from .knn import knn_predict
from .logreg import fit_predict_logreg
from .metrics import (
                      METRICS,
                      SampleStats,
                      centroid_spearman,
                      compute_metrics,
                      hierarchical_distance_at_k,
                      mistake_distribution,
                      reduce_metrics,
)
from .probes import PROBES, ProbeResult, run_probes
from .protocol import EvaluationResult, evaluate
from .tables import report, significance_table, summary_table

__all__ = [
    "DEFAULT_THRESHOLDS", "METRICS", "PROBES", "EvaluationResult", "ProbeResult", "SampleStats",
    "backoff_curve", "backoff_predict", "bootstrap_metrics", "centroid_spearman", "class_to_node_proba",
    "compute_metrics", "evaluate", "fit_predict_logreg", "fixed_split", "hierarchical_distance_at_k",
    "knn_predict", "leaf_to_node_proba", "mistake_distribution", "paired_bootstrap", "paired_bootstraps",
    "reduce_metrics",
    "report", "run_probes", "significance_table", "stratified_folds", "stratified_resample",
    "summary_table",
]
