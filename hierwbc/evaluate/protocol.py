"""The evaluation protocol: probes x folds x metrics per model and dataset, paired bootstrap
against a reference model, back-off curves. Table schemas: see :mod:`hierwbc.evaluate`."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..io import atomic_write_text
from .backoff import DEFAULT_THRESHOLDS, backoff_curve, class_to_node_proba
from .bootstrap import paired_bootstraps
from .folds import fixed_split, fold_ids, stratified_folds
from .inputs import ModelData, collect_inputs
from .metrics import SampleStats, centroid_spearman, reduce_metrics
from .probes import PROBES, run_probes, standardize


@dataclass
class EvaluationResult:
    """Tidy tables of one evaluation (columns in the :mod:`hierwbc.evaluate` docstring)."""

    metrics: pd.DataFrame
    pooled: pd.DataFrame
    predictions: pd.DataFrame
    severity: pd.DataFrame
    significance: pd.DataFrame
    backoff: pd.DataFrame
    hierarchy: object
    reference: str | None
    timings: dict = field(default_factory=dict)  # seconds: probes, metrics, bootstrap
    #: ``{(dataset, probe): {model: (obs_names [n], SampleStats)}}`` of the pooled out-of-fold
    #: predictions (what the bootstrap resamples; not written): :mod:`.seeds` pairs them across seeds
    samples: dict = field(default_factory=dict, repr=False)

    TABLES: ClassVar[tuple[str, ...]] = ("metrics", "pooled", "predictions", "severity",
                                         "significance", "backoff")

    def write(self, folder: str | os.PathLike, tables: tuple[str, ...] | None = None) -> Path:
        """Write each table of :data:`TABLES` (or only ``tables``, e.g. without the large
        per-cell ``predictions`` for a folder kept in git) as ``<folder>/<table>.csv``
        (atomically); returns the folder (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for key in tables if tables is not None else self.TABLES:
            atomic_write_text(folder / f"{key}.csv", getattr(self, key).to_csv(index=False))
        return folder

    @classmethod
    def is_written(cls, folder: str | os.PathLike) -> bool:
        """Whether ``folder`` holds every table :meth:`write` writes."""
        return all((Path(folder) / f"{t}.csv").exists() for t in cls.TABLES)

    @classmethod
    def read(cls, folder: str | os.PathLike, hierarchy, reference: str | None = None,
             timings: dict | None = None) -> EvaluationResult:
        """The result :meth:`write` wrote to ``folder``, with the dtypes :func:`evaluate` gives
        (categoricals over ``hierarchy``'s nodes, ints, bools) restored after the CSV trip."""
        tables = {t: pd.read_csv(Path(folder) / f"{t}.csv", keep_default_na=True) for t in cls.TABLES}
        p = tables["predictions"]
        for c in ("model", "dataset", "probe"):
            for t in tables.values():
                if c in t:
                    t[c] = t[c].astype(str)
            p[c] = p[c].astype("category")
        for c in ("true", "pred", "true_lineage", "pred_lineage"):
            p[c] = pd.Categorical(p[c], categories=list(hierarchy.nodes))
        p["obs_name"] = p["obs_name"].astype(str)
        p["correct"] = p["correct"].astype(bool)
        if "significant" in tables["significance"]:
            tables["significance"]["significant"] = tables["significance"]["significant"].astype(bool)
        return cls(**tables, hierarchy=hierarchy, reference=reference, timings=dict(timings or {}))


def _split(md: ModelData, sel: np.ndarray, cv, split_key, seed: int, where: str, hierarchy) -> np.ndarray:
    """Fold ids of the samples ``sel`` of one dataset; k-fold depends only on (names, labels),
    and on the files' contents where obs has ``path``: byte-identical images, and rows of one
    ``group`` (crops of one cell), share a fold."""
    if split_key is not None:
        return fixed_split(md.split[sel], where=f"{where}, obs[{split_key!r}]")
    if isinstance(cv, str):
        return fold_ids(md.split[sel], where=f"{where}, obs[{cv!r}]")
    names = md.obs_names[sel]
    order = np.argsort(names, kind="stable")  # fold assignment independent of row order
    fold = np.empty(len(names), np.int64)
    names_of = np.asarray(hierarchy.nodes, dtype=object)  # labels by name: warnings name the classes
    groups = None
    if md.content is not None:
        from hierwbc.datasets.duplicates import cell_groups

        groups = cell_groups(md.content.loc[np.flatnonzero(sel)[order]].reset_index(drop=True))
    fold[order] = stratified_folds(names_of[md.y[sel][order]], n_splits=int(cv), seed=seed, where=where,
                                   groups=groups)
    return fold


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


METRIC_COLUMNS = ["model", "dataset", "probe", "fold", "metric", "value", "n"]
SIGNIFICANCE_COLUMNS = ["dataset", "probe", "metric", "model", "reference", "value_model", "value_reference",
                        "delta", "ci_low", "ci_high", "significant", "p_value", "n_boot", "boot_seed"]
BACKOFF_COLUMNS = ["model", "dataset", "probe", "threshold", "accuracy", "exact_accuracy", "mean_depth",
                   "depth_coverage", "hierarchical_f1", "n"]


def evaluate(data, *, hierarchy=None, labels=None, datasets=None, use_rep: str = "X_cls",
             label_key: str = "node", dataset_key: str = "dataset", probes=PROBES, cv: int | str = 5,
             split_key: str | None = None, seed: int = 0, knn_metric: str = "euclidean",
             C: float | None = None, ks=(1, 5), n_boot: int = 1000, reference: str | None = None,
             alpha: float = 0.05, backoff_thresholds=DEFAULT_THRESHOLDS, progress: bool = True,
             dtype: torch.dtype = torch.float32) -> EvaluationResult:
    """Evaluate embeddings with the paper's protocol (Sec. 2.4.2, Appendix B).

    ``data``: AnnData, ``{model: AnnData}``, array [n, D] or ``{model: array}`` (arrays need
    ``labels``: node names or indices; ``datasets``: a name or [n] names). Each dataset is
    evaluated on its own, on its own label precision. Split: ``split_key`` (obs column of
    train/test), else ``cv`` (int: seeded stratified k-fold; str: obs column of fold ids).
    Bootstrap: every model against ``reference`` (default: the first model) on the pooled
    out-of-fold predictions, ``n_boot`` resamples (0: skip).
    """
    h, models = collect_inputs(data, hierarchy, labels, datasets, use_rep, label_key, dataset_key,
                               split_column=split_key if split_key is not None
                               else (cv if isinstance(cv, str) else None))
    names = [m.name for m in models]
    if reference is not None and reference not in names:
        raise KeyError(f"reference model {reference!r} not among {names}")
    reference = reference if reference is not None else (names[0] if len(names) > 1 else None)
    rows, pooled, preds, curves = [], [], [], []
    kept: dict[tuple[str, str], dict[str, tuple[np.ndarray, SampleStats]]] = {}
    tasks = [(m, ds) for m in models for ds in pd.unique(m.dataset)]
    clock = {"probes": 0.0, "metrics": 0.0, "bootstrap": 0.0}
    t0 = time.perf_counter()
    for md, ds in tqdm(tasks, desc="evaluate", disable=not progress):
        sel = md.dataset == ds
        where = f"model {md.name!r}, dataset {ds!r}"
        X, y, obs = md.X[sel], md.y[sel], md.obs_names[sel]
        fold = _split(md, sel, cv, split_key, seed, where, h)
        xs = standardize(torch.as_tensor(X, dtype=torch.float64), torch.ones(len(X), dtype=torch.bool)).numpy()
        rho, n_pairs = centroid_spearman(h, xs, y)
        rows.append({"model": md.name, "dataset": ds, "probe": "centroid", "fold": -1,
                     "metric": "centroid_spearman", "value": rho, "n": n_pairs})
        tested = np.nonzero(fold >= 0)[0]
        t1 = time.perf_counter()
        outputs = run_probes(X, y, fold, probes, knn_metric=knn_metric, C=C, dtype=dtype)
        clock["probes"] += time.perf_counter() - t1
        for probe, pr in outputs.items():
            stats = SampleStats.compute(h, y[tested], pr.pred[tested], pr.rank[tested], pr.classes, ks)
            base = {"model": md.name, "dataset": ds, "probe": probe}
            folds = np.unique(fold[tested])
            member = (fold[tested][None, :] == folds[:, None]).astype(np.float64)  # [F, n] fold indicators
            per_fold = reduce_metrics(stats, weights=member)  # {metric: [F]}
            rows += [dict(base, fold=int(f), metric=k, value=float(v[i]), n=int(member[i].sum()))
                     for i, f in enumerate(folds) for k, v in per_fold.items()]
            pooled += [dict(base, fold=-1, metric=k, value=float(v), n=len(tested))
                       for k, v in reduce_metrics(stats).items()]
            preds.append(pd.DataFrame(dict(
                base, fold=fold[tested], obs_name=obs[tested], true=y[tested], pred=pr.pred[tested],
                correct=stats.correct, lca_height=stats.lca_height)))
            node_p = class_to_node_proba(h, pr.proba[tested], pr.classes)
            curves.append(backoff_curve(h, node_p, y[tested], backoff_thresholds).assign(**base))
            kept.setdefault((ds, probe), {})[md.name] = (obs[tested], stats)
        if md.node_proba is not None:
            curves.append(backoff_curve(h, md.node_proba[sel], y, backoff_thresholds)
                          .assign(model=md.name, dataset=ds, probe="head"))
    clock["metrics"] = time.perf_counter() - t0 - clock["probes"]
    t1 = time.perf_counter()
    sig = _significance(kept, reference, n_boot, seed, alpha, progress) if reference and n_boot else []
    clock["bootstrap"] = time.perf_counter() - t1
    return EvaluationResult(
        metrics=_frame(rows, METRIC_COLUMNS), pooled=_frame(pooled, METRIC_COLUMNS),
        predictions=_predictions(preds, h), severity=_severity(preds, h),
        significance=pd.concat(sig, ignore_index=True)[SIGNIFICANCE_COLUMNS] if sig
        else pd.DataFrame(columns=SIGNIFICANCE_COLUMNS),
        backoff=pd.concat(curves, ignore_index=True)[BACKOFF_COLUMNS] if curves
        else pd.DataFrame(columns=BACKOFF_COLUMNS),
        hierarchy=h, reference=reference, timings=clock, samples=kept)


def _significance(kept, reference, n_boot, seed, alpha, progress) -> list[pd.DataFrame]:
    """Every model against the reference, per dataset and probe; one set of resamples per dataset."""
    out = []
    for ds in tqdm(sorted({d for d, _ in kept}), desc="bootstrap", disable=not progress):
        keys, pairs = significance_pairs(kept, ds, reference)
        if pairs:
            for (probe, m), df in zip(keys, paired_bootstraps(pairs, n_boot=n_boot, seed=seed, alpha=alpha)):
                out.append(df.assign(dataset=ds, probe=probe, model=m, reference=reference, boot_seed=seed))
    return out


def significance_pairs(kept, ds, reference) -> tuple[list[tuple[str, str]], list]:
    """``([(probe, model)], [(model stats, reference stats)])`` of dataset ``ds``: every model
    but the reference against it, the model's samples put in the reference's order."""
    pairs, keys = [], []
    for (d, probe), by_model in kept.items():
        if d != ds or reference not in by_model:
            continue
        ref_obs, ref_stats = by_model[reference]
        for m, (obs, stats) in by_model.items():
            if m == reference:
                continue
            pos = pd.Index(obs).get_indexer(ref_obs)
            if len(obs) != len(ref_obs) or (pos < 0).any():
                raise ValueError(f"dataset {ds!r}: models {m!r} and {reference!r} were evaluated on different "
                                 "samples (obs_names differ); a paired bootstrap needs the same samples")
            pairs.append((stats.take(pos), ref_stats))
            keys.append((probe, m))
    return keys, pairs


def _predictions(preds: list[pd.DataFrame], h) -> pd.DataFrame:
    cols = ["model", "dataset", "probe", "fold", "obs_name", "true", "pred", "correct", "lca_height",
            "true_lineage", "pred_lineage"]
    if not preds:
        return pd.DataFrame(columns=cols)
    df = pd.concat(preds, ignore_index=True)
    nodes = pd.Categorical.from_codes
    cats = list(h.nodes)
    lin = h.lineage
    df["true_lineage"] = nodes(lin[df["true"].to_numpy()], cats)
    df["pred_lineage"] = nodes(lin[df["pred"].to_numpy()], cats)
    df["true"] = nodes(df["true"].to_numpy(), cats)
    df["pred"] = nodes(df["pred"].to_numpy(), cats)
    for c in ("model", "dataset", "probe"):
        df[c] = df[c].astype("category")
    return df[cols]


def _severity(preds: list[pd.DataFrame], h) -> pd.DataFrame:
    cols = ["model", "dataset", "probe", "lca_height", "count", "fraction"]
    if not preds:
        return pd.DataFrame(columns=cols)
    df = pd.concat(preds, ignore_index=True)
    wrong = df[df["lca_height"] > 0]
    counts = (wrong.groupby(["model", "dataset", "probe", "lca_height"], observed=False).size()
              .rename("count").reset_index())
    total = counts.groupby(["model", "dataset", "probe"], observed=False)["count"].transform("sum")
    return counts.assign(fraction=counts["count"] / total)[cols]
