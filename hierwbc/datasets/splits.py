"""Deterministic stratified splits and k-fold assignment of a manifest.

Each row gets a seeded 64-bit key from its identity (``path`` and crop box): a keyed BLAKE2b
hash, so assignments depend on the seed and on which images are present, never on row
order. Rows are ordered by (stratum, key) and then:

- :func:`assign_splits`: each stratum (node by default) of ``n`` rows is cut into splits of
  exactly ``floor(f * n)`` rows plus one for the splits with the largest remainders
  ``f * n - floor(f * n)`` until ``n`` is reached (ties: the order of ``fractions``). A
  stratum of 1 row therefore goes to the largest fraction.
- :func:`assign_folds`: fold = position in that global order modulo ``k``, so every stratum
  is spread over the folds with counts differing by at most one, and the fold sizes too. A
  stratum with fewer than ``k`` rows is absent from some folds (a warning names it).

Byte-identical images (:mod:`.duplicates`; PBC has 17 pairs) and rows of one cell (a reader's
``group`` column: LISC's crops of one cell, Raabin's boxes of one field) are kept together
(``group_duplicates=True``, the default): the assignment above is computed first, then every
member of a group of identical files (same SHA-256, same crop box) takes the split / fold of the
group's first member in row order. Only such duplicate members can change, so for them (and only
them) the result depends on row order; fold sizes may then differ by a little more than one.

On top of these, the helpers training, the experiment and the reports share: :func:`split_rows`
(training's own train/test partition of rows that have no split yet), :func:`stratified_mask`
(a seeded share of every node) and :func:`stratified_subset` (at most ``limit`` rows, in
proportion per node; whole cells where a reader's ``group`` column joins rows, since a member
inheriting its group's choice would make the count and the proportions a matter of chance).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .duplicates import GROUP_COLUMN, cell_groups
from .manifest import UNASSIGNED_FOLD, UNASSIGNED_SPLIT, ManifestError, boxes

DEFAULT_FRACTIONS = {"train": 0.8, "test": 0.2}


def row_keys(df: pd.DataFrame, seed: int, salt: str) -> np.ndarray:
    """Seeded key per row ``[n]`` uint64 from ``path`` and box; ``salt`` separates uses."""
    key = hashlib.blake2b(f"{salt}:{int(seed)}".encode(), digest_size=16).digest()
    ident = df["path"].astype(str).to_numpy()
    b = boxes(df)
    has_box = ~np.isnan(b).all(1)
    if has_box.any():
        ident = ident.astype(object)
        ident[has_box] = [f"{p}|{x0:g},{y0:g},{x1:g},{y1:g}" for p, (x0, y0, x1, y1) in zip(ident[has_box], b[has_box])]
    digests = b"".join(hashlib.blake2b(s.encode(), digest_size=8, key=key).digest() for s in ident)
    return np.frombuffer(digests, dtype="<u8").copy()


def _ordered(df: pd.DataFrame, by: str, seed: int, salt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order by (stratum, key, path), the stratum codes and the stratum names (sorted)."""
    names, codes = np.unique(df[by].astype(str).to_numpy(), return_inverse=True)
    order = np.lexsort((df["path"].astype(str).to_numpy(), row_keys(df, seed, salt), codes))
    return order, codes, names


def _rank_in_group(codes_sorted: np.ndarray) -> np.ndarray:
    starts = np.r_[0, np.flatnonzero(np.diff(codes_sorted)) + 1]
    sizes = np.diff(np.r_[starts, len(codes_sorted)])
    return np.arange(len(codes_sorted)) - np.repeat(starts, sizes)


def split_sizes(n: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Largest-remainder sizes ``[G, S]`` for groups of sizes ``n [G]``; rows sum to ``n``."""
    quota = n[:, None] * fractions[None, :]
    size = np.floor(quota + 1e-9).astype(np.int64)
    short = n - size.sum(1)
    rem = quota - size
    rank = np.argsort(np.argsort(-rem, axis=1, kind="stable"), axis=1, kind="stable")
    return size + (rank < short[:, None])


def assign_splits(df: pd.DataFrame, fractions: Mapping[str, float] | None = None, seed: int = 0,
                  by: str = "node", column: str = "split", group_duplicates: bool = True) -> pd.DataFrame:
    """Copy of ``df`` with ``column`` set to a split name, stratified by ``by``; identical images
    share the split of the first of them (``group_duplicates``; see the module doc)."""
    fractions = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
    f = np.array(list(fractions.values()), dtype=float)
    if not len(f) or (f < 0).any() or abs(f.sum() - 1) > 1e-6:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    if any(not isinstance(s, str) or not s for s in fractions):
        raise ValueError(f"split names must be non-empty strings, got {list(fractions)}")
    out = df.copy()
    if not len(df):
        out[column] = pd.Series(dtype=object)
        return out
    order, codes, _ = _ordered(df, by, seed, "split")
    sizes = split_sizes(np.bincount(codes), f)
    bounds = np.cumsum(sizes, axis=1)
    cs = codes[order]
    which = (_rank_in_group(cs)[:, None] >= bounds[cs]).sum(1)
    values = np.empty(len(df), dtype=object)
    values[order] = np.array(list(fractions), dtype=object)[which]
    out[column] = values[cell_groups(df)] if group_duplicates else values
    return out


def assign_folds(df: pd.DataFrame, k: int = 5, seed: int = 0, by: str = "node", column: str = "fold",
                 subset: np.ndarray | pd.Series | None = None, group_duplicates: bool = True) -> pd.DataFrame:
    """Copy of ``df`` with ``column`` = fold in ``0..k-1`` stratified by ``by``; rows outside
    the boolean ``subset`` (e.g. ``df.split == "train"``) get -1. Identical images within the
    subset share the fold of the first of them (``group_duplicates``; see the module doc)."""
    if int(k) != k or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    mask = np.ones(len(df), bool) if subset is None else np.asarray(subset, dtype=bool)
    if mask.shape != (len(df),):
        raise ValueError(f"subset must be a boolean mask of length {len(df)}, got shape {mask.shape}")
    out = df.copy()
    folds = np.full(len(df), UNASSIGNED_FOLD, dtype=np.int64)
    part = df.loc[mask]
    if len(part):
        order, codes, names = _ordered(part, by, seed, "fold")
        sub = np.empty(len(part), dtype=np.int64)
        sub[order] = np.arange(len(part)) % int(k)
        if group_duplicates:
            sub = sub[cell_groups(part)]
        folds[np.flatnonzero(mask)] = sub
        small = {str(n): int(c) for n, c in zip(names, np.bincount(codes)) if c < k}
        if small:
            warnings.warn(f"{len(small)} stratum/strata with fewer rows than k={k} folds (absent from some "
                          f"folds): {small}", stacklevel=2)
    out[column] = folds
    return out


def stratified_mask(df: pd.DataFrame, fraction: float, seed: int, salt: str) -> np.ndarray:
    """Boolean ``[n]``: a share ``fraction`` of the rows, in proportion per node (seeded;
    ``salt`` separates uses of the same seed)."""
    if fraction >= 1:
        return np.ones(len(df), dtype=bool)
    split = assign_splits(df, {"keep": fraction, "rest": 1 - fraction}, seed=seed, column=f"_{salt}")
    return (split[f"_{salt}"] == "keep").to_numpy()


def stratified_subset(m: pd.DataFrame, limit: int | None, seed: int) -> pd.DataFrame:
    """At most ``limit`` rows, in proportion per node (seeded); all rows for ``None``.

    A manifest whose ``group`` column joins rows (a reader's cells: LISC's crops of one cell)
    is sampled in whole cells (:func:`whole_cell_subset`); any other row by row."""
    if limit is None or limit >= len(m):
        return m
    if _has_reader_groups(m):
        keep = np.flatnonzero(whole_cell_subset(m, limit, seed))
    else:
        keep = np.nonzero(stratified_mask(m, limit / len(m), seed, "limit"))[0]
        if len(keep) > limit:  # largest-remainder rounding may give a row or two more
            keep = np.sort(np.random.default_rng(seed).choice(keep, limit, replace=False))
    return m.iloc[keep].reset_index(drop=True)


def _has_reader_groups(m: pd.DataFrame) -> bool:
    if GROUP_COLUMN not in m.columns:
        return False
    named = m[GROUP_COLUMN].astype(str)
    named = named[m[GROUP_COLUMN].notna() & (named.str.len() > 0)]
    return bool(named.duplicated().any())


def whole_cell_subset(m: pd.DataFrame, limit: int, seed: int) -> np.ndarray:
    """Boolean ``[n]``: whole cells (:func:`cell_groups`), at most ``limit`` rows, per node.

    Each node gets a quota of rows, ``limit / n`` of its rows (largest remainder over the nodes,
    so the quotas sum to ``limit``); its cells, in seeded key order of their first rows, are taken greedily:
    a cell is kept when it still fits in the quota, else skipped for the next. A cell counts
    under the node of its first row."""
    first = cell_groups(m)
    reps, members = np.unique(first, return_counts=True)
    order, codes, _ = _ordered(m.iloc[reps], "node", seed, "limit")
    rows_per_node = np.bincount(codes, weights=members).astype(np.int64)
    exact = rows_per_node * (limit / len(m))
    quota = np.floor(exact + 1e-9).astype(np.int64)
    by_remainder = np.argsort(-(exact - quota), kind="stable")
    quota[by_remainder[: limit - quota.sum()]] += 1
    filled = np.zeros_like(quota)
    chosen = np.zeros(len(reps), dtype=bool)
    for i in order:  # a few hundred cells: the greedy fill is sequential by nature
        if filled[codes[i]] + members[i] <= quota[codes[i]]:
            chosen[i] = True
            filled[codes[i]] += members[i]
    return np.isin(first, reps[chosen])


def split_rows(m: pd.DataFrame, split: str | None, test_fraction: float, split_seed: int,
               what: object = "the data") -> pd.DataFrame:
    """Rows of ``split`` (all rows for ``None``); rows without a split first get ``train`` /
    ``test`` (stratified, seeded: the same partition in training and in evaluation). Each
    dataset (``dataset`` column) is partitioned on its own, so a lab's split is the same whether
    it is read alone or beside other labs (a joint draw would move PBC test cells into a
    multi-lab training set)."""
    m = m.copy()
    unsplit = m["split"].astype(str) == UNASSIGNED_SPLIT
    if unsplit.any():
        fractions = {"train": 1 - test_fraction, "test": test_fraction}
        labs = m["dataset"].astype(str) if "dataset" in m.columns else pd.Series("", index=m.index)
        for lab in labs[unsplit].unique():  # a handful of labs
            rows = unsplit & (labs == lab).to_numpy()
            m.loc[rows, "split"] = assign_splits(m[rows], fractions, seed=split_seed)["split"].to_numpy()
    if split is None:
        return m
    m = m[m["split"] == split].reset_index(drop=True)
    if not len(m):
        raise ManifestError(f"no rows in split {split!r} of {what}")
    return m


__all__ = ["DEFAULT_FRACTIONS", "UNASSIGNED_SPLIT", "assign_folds", "assign_splits", "row_keys", "split_rows",
           "split_sizes", "stratified_mask", "stratified_subset", "whole_cell_subset"]
