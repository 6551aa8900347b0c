"""Evaluation splits: seeded stratified k-fold, an obs column of fold ids, or a fixed split.

A split is a fold id per sample, [n] int: sample i is tested in fold ``fold[i]`` and trains
every other fold; ``-1`` means "train only" (the train part of a fixed split).
"""

from __future__ import annotations

import warnings

import numpy as np


def stratified_folds(y, n_splits: int = 5, seed: int = 0, where: str = "labels", groups=None) -> np.ndarray:
    """Stratified k-fold assignment, [n] fold ids in ``0..n_splits-1``.

    Within each class the samples are shuffled (seeded) and dealt to folds in turn, starting
    each class where the previous one stopped, so fold sizes differ by at most one and each
    class's count per fold by at most one (as sklearn's ``StratifiedKFold(shuffle=True)``).
    A class with fewer than ``n_splits`` samples is missing from some test folds (warned, naming
    ``where`` and the classes).

    ``groups`` [n] (optional; e.g. content hashes of the image files, None/NaN = a group of its
    own): samples sharing a group are tested in one fold, the fold of the group's first sample
    in the order given. Folds are dealt as without groups, then only the later members of a
    group move, so without repeated groups the result is unchanged.
    """
    y = np.asarray(y)
    if n_splits < 2:
        raise ValueError(f"n_splits must be >= 2, got {n_splits}")
    if len(y) < n_splits:
        raise ValueError(f"{where}: {len(y)} samples cannot fill {n_splits} folds")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    _, cls = np.unique(y, return_inverse=True)
    order = perm[np.argsort(cls[perm], kind="stable")]  # grouped by class, shuffled within
    counts = np.bincount(cls)
    fold = np.empty(len(y), dtype=np.int64)
    fold[order] = np.arange(len(y)) % n_splits  # deal in turn across the class-grouped order
    if groups is not None:
        from hierwbc.datasets.duplicates import first_member

        if len(groups) != len(y):
            raise ValueError(f"{where}: {len(groups)} groups for {len(y)} samples")
        fold = fold[first_member(groups)]
    small = np.unique(y)[counts < n_splits]
    if len(small):
        warnings.warn(f"{where}: classes with fewer samples than the {n_splits} folds (absent from some "
                      f"test folds, and untrainable when alone): {[str(c) for c in small]}", stacklevel=2)
    return fold


def fixed_split(values, train=("train",), test=("test",), where: str = "split") -> np.ndarray:
    """Fold ids of a fixed split: 0 for ``test`` values, -1 for ``train`` values.

    Any other value (e.g. ``"val"``) raises, naming the values and their counts.
    """
    values = np.asarray(values).astype(str)
    is_train, is_test = np.isin(values, train), np.isin(values, test)
    other = ~(is_train | is_test)
    if other.any():
        bad, counts = np.unique(values[other], return_counts=True)
        raise ValueError(f"{where}: values neither train {list(train)} nor test {list(test)}: "
                         + ", ".join(f"{str(b)!r} ({c})" for b, c in zip(bad, counts)))
    if not is_test.any() or not is_train.any():
        raise ValueError(f"{where}: a fixed split needs both train {list(train)} and test {list(test)} samples")
    return np.where(is_test, 0, -1).astype(np.int64)


def fold_ids(values, where: str = "fold") -> np.ndarray:
    """Fold ids given as a column (integers >= 0, or -1 for train-only); NaN raises."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError(f"{where}: {int(np.isnan(v).sum())} samples have no fold id")
    if (v != np.round(v)).any() or (v < -1).any():
        raise ValueError(f"{where}: fold ids must be integers >= -1")
    return v.astype(np.int64)
