"""One evaluation of a grid trained with several seeds: the per-seed results of
:func:`~hierwbc.evaluate.evaluate` put together, with the seed-aware significance.

Each seed's models (and baselines) are evaluated together, on the same cells, folds and
resamples in every seed (the evaluation's own ``seed``). :func:`combine_seeds` stacks every tidy
table with a ``seed`` column (the training seed) and adds, with two seeds or more, the rows
``seed = -1`` of ``significance``: every model against the reference over all seeds by the
hierarchical paired bootstrap of :mod:`.seed_bootstrap`. Tables over seeds (mean ± std) are
:func:`~hierwbc.evaluate.tables.summary_table`'s.
"""

from __future__ import annotations

import pandas as pd
from tqdm.auto import tqdm

from .protocol import SIGNIFICANCE_COLUMNS, EvaluationResult, significance_pairs
from .seed_bootstrap import seed_paired_bootstraps


def with_seed(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``df`` with an int ``seed`` column first (categoricals kept)."""
    return df.assign(seed=int(seed))[["seed", *[c for c in df.columns if c != "seed"]]]


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    for c in frames[0].columns:  # concat turns categoricals of different categories into object
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("category")
    return out


def combine_seeds(results: dict[int, EvaluationResult], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
                  progress: bool = True) -> EvaluationResult:
    """``{training seed: EvaluationResult}`` -> one result whose tables have a ``seed`` column;
    ``significance`` gains the ``seed = -1`` rows of the seed-aware bootstrap (``n_boot``
    resamples, seeded by ``seed``) when there are two seeds or more and every result kept its
    samples (:attr:`EvaluationResult.samples`, i.e. came from :func:`evaluate`, not from disk)."""
    seeds = list(results)
    first = results[seeds[0]]
    tables = {t: _stack([with_seed(getattr(results[s], t), s) for s in seeds]) for t in EvaluationResult.TABLES}
    reference = first.reference
    if len(seeds) > 1 and reference and n_boot and all(results[s].samples for s in seeds):
        rows = []
        for ds in tqdm(sorted({d for d, _ in first.samples}), desc="seed bootstrap", disable=not progress):
            keyed = {s: significance_pairs(results[s].samples, ds, reference) for s in seeds}
            keys = [k for k in keyed[seeds[0]][0] if all(k in keyed[s][0] for s in seeds)]  # in every seed
            if not keys:
                continue
            by_seed = {s: [keyed[s][1][keyed[s][0].index(k)] for k in keys] for s in seeds}
            for (probe, m), df in zip(keys, seed_paired_bootstraps(by_seed, n_boot, seed, alpha)):
                rows.append(df.assign(seed=-1, dataset=ds, probe=probe, model=m, reference=reference,
                                      boot_seed=seed))
        if rows:
            sig = pd.concat(rows, ignore_index=True)[["seed", *SIGNIFICANCE_COLUMNS, "n_seeds"]]
            tables["significance"] = pd.concat([tables["significance"].assign(n_seeds=1), sig], ignore_index=True)
    timings = {k: sum(r.timings.get(k, 0.0) for r in results.values()) for k in first.timings}
    return EvaluationResult(**tables, hierarchy=first.hierarchy, reference=reference, timings=timings)
