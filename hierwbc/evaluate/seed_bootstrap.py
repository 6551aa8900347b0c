"""Paired bootstrap over training seeds: is a model better than the reference across the
randomness of training (seeds), not only across the cells of one run?

Choice: a two-level (hierarchical) bootstrap (Davison & Hinkley 1997, Sec. 3.8; Saravanan et
al. 2020). S seeds each give a ``(model, reference)`` pair of statistics on the same cells. One
resample r

1. draws S seeds with replacement: sigma(r, 1..S), uniform over the S seeds;
2. for every draw j, resamples the cells of seed sigma(r, j) as :mod:`.bootstrap` does
   (stratified by true node, with replacement, paired: both models on the same positions),
   independently for every j;
3. averages the paired differences:
   ``delta*_r = (1/S) sum_j [metric(model_{sigma(r,j)}, idx_rj) - metric(reference_{sigma(r,j)}, idx_rj)]``.

The observed ``delta`` is the mean over seeds of the per-seed differences on all cells,
``value_model`` / ``value_reference`` the means over seeds. Interval: the 2.5th and 97.5th
percentiles of delta* (``alpha = 0.05``), significant when it excludes 0; p-value
``min(1, 2 min(P(delta* <= 0), P(delta* >= 0)))``.

Why not only average per-seed cell bootstraps: that interval measures the cells' noise alone,
so two seeds that disagree (+3 and -1 points) would look "significantly" +1. Resampling the
seeds makes a disagreement between seeds widen the interval: with seeds better by +d and worse
by -d, delta* is -d, 0 or +d with probabilities 1/4, 1/2, 1/4 and the interval holds 0; with
every seed better, every delta* is positive. With one seed it is exactly
:func:`~hierwbc.evaluate.bootstrap.paired_bootstraps` (same resamples, same numbers). With few
seeds (3) the seed level is coarse: all draws equal to the worst seed has probability
(1/3)^3 = 3.7 % > 2.5 %, so "significant" needs, roughly, the worst seed's own difference to be
clear of 0: a conservative test.

Vectorised as :mod:`.bootstrap`: the resamples with draw j = seed s are bootstrapped together
(one [R_js, n] multiplicity matrix per chunk); the loops run over draws j and seeds s (S^2
small), never over resamples or cells. Every ``(model, reference)`` pair of a seed shares that
seed's resamples (every probe and model of one dataset). Seeded: seed draws from
``default_rng([seed, S])``, the cells of (j, s) from ``default_rng([seed, j, s])`` (from
``default_rng(seed)`` for j = s = 0, which makes one seed equal the plain bootstrap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import _bootstrap, interval_row, unique_stats
from .metrics import SampleStats, reduce_metrics


def seed_paired_bootstraps(pairs_by_seed: dict[int, list[tuple[SampleStats, SampleStats]]], n_boot: int = 1000,
                           seed: int = 0, alpha: float = 0.05, chunk: int = 200) -> list[pd.DataFrame]:
    """Hierarchical paired bootstrap (module docstring) of K ``(model, reference)`` pairs.

    ``pairs_by_seed``: ``{training seed: [(model, reference)] * K}``, pair k of every seed the
    same comparison (e.g. the same probe and model name). Returns K frames, one row per metric:
    ``metric, value_model, value_reference, delta, ci_low, ci_high, significant, p_value,
    n_boot, n_seeds``.
    """
    seeds = list(pairs_by_seed)
    n_seeds, n_pairs = len(seeds), len(pairs_by_seed[seeds[0]])
    if any(len(p) != n_pairs for p in pairs_by_seed.values()):
        raise ValueError(f"every seed needs the same {n_pairs} (model, reference) pairs: "
                         f"{ {s: len(p) for s, p in pairs_by_seed.items()} }")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    draw = (np.zeros((n_boot, 1), np.int64) if n_seeds == 1
            else np.random.default_rng([seed, n_seeds]).integers(0, n_seeds, (n_boot, n_seeds)))  # [R, S]
    sums: list[dict[str, np.ndarray]] = [{} for _ in range(n_pairs)]  # {metric: [R]} sum over draws
    for j in range(n_seeds):
        for i, s in enumerate(seeds):
            rows = np.flatnonzero(draw[:, j] == i)
            if not len(rows):
                continue
            pairs = pairs_by_seed[s]
            unique = unique_stats(pairs)
            rng_seed = seed if i == j == 0 else [seed, j, i]
            boots = dict(zip(map(id, unique), _bootstrap(unique, len(rows), rng_seed, chunk)))
            for acc, (m, r) in zip(sums, pairs):
                for k, v in boots[id(m)].items():
                    acc.setdefault(k, np.zeros(n_boot))[rows] += v - boots[id(r)][k]
    out = []
    for k_pair, acc in enumerate(sums):
        obs = [(reduce_metrics(pairs_by_seed[s][k_pair][0]), reduce_metrics(pairs_by_seed[s][k_pair][1]))
               for s in seeds]
        rows = [interval_row(k, np.mean([o[0][k] for o in obs]), np.mean([o[1][k] for o in obs]),
                             acc[k] / n_seeds, alpha) for k in obs[0][0]]
        out.append(pd.DataFrame(rows).assign(n_seeds=n_seeds))
    return out
