"""Stratified paired bootstrap of metric differences (paper Appendix B).

Each resample draws, within every class (stratum = true node), as many samples as the class
has, with replacement, so class proportions stay fixed. Both models are scored on the SAME
resampled positions (paired); the difference ``delta = metric(model) - metric(reference)`` of
each resample gives a two-sided percentile interval (2.5th and 97.5th percentiles for
``alpha = 0.05``); the difference is significant when the interval excludes 0. The observed
``delta`` is the difference on the original samples. Seeded (``numpy.random.default_rng``).

Vectorised over resamples: one [R, n] index matrix per chunk of resamples, turned into sample
multiplicities [R, n]; every metric is a ratio of weighted per-sample sums, so a chunk of
resamples costs one matrix product per model (:func:`~hierwbc.evaluate.metrics.reduce_metrics`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import SampleStats, reduce_metrics, sample_weights


def stratified_resample(strata, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, n] positions: row r resamples each stratum's members with replacement.

    Column j of every row holds a member of the stratum of sample ``order[j]`` (samples grouped
    by stratum), so per-stratum counts are those of the data.
    """
    strata = np.asarray(strata)
    _, inv = np.unique(strata, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv)
    starts = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)  # [n]
    sizes = np.repeat(counts, counts)
    draws = (rng.random((n_boot, len(strata))) * sizes).astype(np.int64)  # uniform in [0, size)
    return order[starts + draws]


def bootstrap_metrics(stats: SampleStats, n_boot: int = 1000, seed: int = 0,
                      chunk: int = 200) -> dict[str, np.ndarray]:
    """Every metric on ``n_boot`` stratified resamples: ``{metric: [n_boot]}``."""
    return _bootstrap([stats], n_boot, seed, chunk)[0]


def _bootstrap(stats: list[SampleStats], n_boot: int, seed, chunk: int) -> list[dict[str, np.ndarray]]:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in stats]
    for s in range(0, n_boot, chunk):  # chunks of resamples bound the memory, not a per-resample loop
        idx = stratified_resample(stats[0].true, min(chunk, n_boot - s), rng)
        # [r, n] draws of each sample, shared by the models; float32 sums of small integers are exact
        w = sample_weights(len(stats[0]), idx, None).astype(np.float32)
        for p, st in zip(parts, stats):
            p.append(reduce_metrics(st, weights=w))
    return [{k: np.concatenate([c[k] for c in p]) for k in p[0]} for p in parts]


def paired_bootstrap(model: SampleStats, reference: SampleStats, n_boot: int = 1000, seed: int = 0,
                     alpha: float = 0.05, chunk: int = 200) -> pd.DataFrame:
    """Paired stratified bootstrap of ``metric(model) - metric(reference)`` for every metric.

    Both statistics must describe the same samples in the same order (same true nodes).
    Returns one row per metric: ``metric, value_model, value_reference, delta, ci_low, ci_high,
    significant, p_value, n_boot`` (:func:`interval_row`). Resamples where a metric is undefined
    (``mistake_severity`` without mistakes) are left out of its interval.
    """
    return paired_bootstraps([(model, reference)], n_boot, seed, alpha, chunk)[0]


def paired_bootstraps(pairs, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
                      chunk: int = 200) -> list[pd.DataFrame]:
    """:func:`paired_bootstrap` of several ``(model, reference)`` pairs on the same resamples
    (e.g. every probe and model of one dataset: the resampling is drawn once)."""
    pairs = list(pairs)
    unique = unique_stats(pairs)
    boots = dict(zip(map(id, unique), _bootstrap(unique, n_boot, seed, chunk)))
    out = []
    for m, r in pairs:
        obs_m, obs_r = reduce_metrics(m), reduce_metrics(r)
        boot_m, boot_r = boots[id(m)], boots[id(r)]
        out.append(pd.DataFrame([interval_row(k, obs_m[k], obs_r[k], boot_m[k] - boot_r[k], alpha) for k in obs_m]))
    return out


def unique_stats(pairs) -> list[SampleStats]:
    """The distinct statistics of ``(model, reference)`` pairs, checked to describe the same
    samples with the same labels (what a paired bootstrap needs)."""
    first = pairs[0][1]
    for m, r in pairs:
        for st in (m, r):
            if len(st) != len(first) or not np.array_equal(st.true, first.true):
                raise ValueError("paired bootstrap needs both models' predictions on the same samples "
                                 f"with the same labels ({len(st)} vs {len(first)} samples)")
    return list({id(st): st for pair in pairs for st in pair}.values())


def interval_row(metric: str, value_model, value_reference, diff: np.ndarray, alpha: float) -> dict:
    """One row of a significance table from the bootstrap differences ``diff`` [R]: percentile
    interval (NaN resamples left out), ``significant`` when it excludes 0, and the two-sided
    bootstrap p-value ``p = min(1, 2 min(P(diff <= 0), P(diff >= 0)))``."""
    ok = np.isfinite(diff)
    d = diff[ok]
    lo, hi = (np.quantile(d, [alpha / 2, 1 - alpha / 2]) if ok.any() else (np.nan, np.nan))
    p = min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))) if ok.any() else np.nan
    return {"metric": metric, "value_model": float(value_model), "value_reference": float(value_reference),
            "delta": float(value_model - value_reference), "ci_low": float(lo), "ci_high": float(hi),
            "significant": bool(lo > 0 or hi < 0), "p_value": float(p), "n_boot": int(ok.sum())}
