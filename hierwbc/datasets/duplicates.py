"""Byte-identical images: content hashes, duplicate groups, and keeping a group together.

PBC holds 17 pairs of byte-identical files under different names (one pair even under two
labels). A copy of a training cell in the test split would be a cell both trained and tested,
so :func:`~hierwbc.datasets.assign_splits`, :func:`~hierwbc.datasets.assign_folds` and the
evaluation folds (:func:`hierwbc.evaluate.stratified_folds` with ``groups=``) keep every group
of identical images together, and :func:`~hierwbc.datasets.validate` reports the groups.

A row's *content* is the SHA-256 of its file's bytes, plus its crop box when it has one (two
crops of one field are different cells; the same crop of two identical files is one cell).
A file that cannot be read (missing, a folder, no permission) has no content hash and forms a
group of its own. Hashes are cached in-process per ``(path, size, mtime)``, so a file changed
on disk is hashed again.

A reader may also name the *cell* a row shows, in an optional string column ``group``: crops
of one source cell (LISC's shifted windows), WBC boxes of one field (Raabin), a WBC seen in two
overlapping tiles (Aslan). :func:`cell_groups` joins both relations (identical content, same
``group``) into connected components; splits and folds keep each component together.

The rule that keeps groups together, :func:`first_member`: assignments are computed as if
there were no duplicates, then every member of a group takes the value of the group's
**first member in row order**. Only duplicate members other than the first can change.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .manifest import boxes

_DIGESTS: dict[tuple[str, int, int], str] = {}


def _digest(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime_ns)
    hit = _DIGESTS.get(key)
    if hit is None:
        try:
            with open(path, "rb") as f:
                hit = hashlib.sha256(f.read()).hexdigest()
        except OSError:  # a folder, no permission
            return None
        _DIGESTS[key] = hit
    return hit


def file_digests(paths: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """SHA-256 hex digest of each file's bytes, ``[n]`` object (None where unreadable).

    Each distinct path is read once; results are cached per ``(path, size, mtime)``."""
    paths = pd.Series(np.asarray(paths, dtype=object)).astype(str)
    codes, unique = pd.factorize(paths)
    digests = np.array([_digest(p) for p in unique] + [None], dtype=object)
    return digests[codes] if len(paths) else np.empty(0, dtype=object)


def first_member(keys) -> np.ndarray:
    """Position of the first row with the same key, ``[n]`` int64 (``i`` for a row whose key is
    None/NaN: a group of its own). ``values[first_member(keys)]`` keeps each group together on
    the value of its first member."""
    keys = pd.Series(np.asarray(keys, dtype=object))
    codes, _ = pd.factorize(keys)  # codes numbered in order of first appearance; NaN/None -> -1
    out = np.arange(len(codes), dtype=np.int64)
    has = np.flatnonzero(codes >= 0)
    if len(has):
        _, first = np.unique(codes[has], return_index=True)  # codes are 0..U-1: first row of each
        out[has] = has[first][codes[has]]
    return out


def content_keys(df: pd.DataFrame) -> np.ndarray:
    """Content key per row ``[n]`` object: the file's SHA-256, plus ``|box`` for a cropped row;
    None where the file cannot be read."""
    keys = file_digests(df["path"].to_numpy())
    b = boxes(df)
    cropped = ~np.isnan(b).all(1) & pd.notna(keys)
    if cropped.any():
        keys = keys.copy()
        keys[cropped] = [f"{k}|{x0:g},{y0:g},{x1:g},{y1:g}" for k, (x0, y0, x1, y1) in zip(keys[cropped], b[cropped])]
    return keys


def content_groups(df: pd.DataFrame) -> np.ndarray:
    """Position of the first row with the same content (see :func:`content_keys`), ``[n]``."""
    return first_member(content_keys(df))


GROUP_COLUMN = "group"


def cell_groups(df: pd.DataFrame) -> np.ndarray:
    """Position of the first row of each row's cell group, ``[n]`` int64: rows are joined when
    their content is identical (:func:`content_keys`) or their ``group`` column (when present;
    ``""``/NaN = no group) is equal, transitively (connected components)."""
    content = first_member(content_keys(df))
    if GROUP_COLUMN not in df.columns or not len(df):
        return content
    named = df[GROUP_COLUMN].astype(object).where(df[GROUP_COLUMN].astype(str).str.len() > 0)
    group = first_member(named.to_numpy(dtype=object))
    n = len(df)
    rows = np.arange(n)
    graph = coo_matrix((np.ones(2 * n), (np.r_[rows, rows], np.r_[content, group])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    _, first = np.unique(component, return_index=True)  # the smallest row index of each component
    return first[component].astype(np.int64)


def duplicate_table(df: pd.DataFrame, keys: np.ndarray | None = None) -> pd.DataFrame:
    """One row per member of a group of identical images: ``group`` (0, 1, ... in order of the
    groups' first rows), ``row`` (manifest index), ``path``, ``sha256``. Empty when none."""
    keys = content_keys(df) if keys is None else np.asarray(keys, dtype=object)
    first = first_member(keys)
    size = np.bincount(first, minlength=len(first))
    dup = size[first] > 1
    groups = np.unique(first[dup], return_inverse=True)[1] if dup.any() else np.empty(0, np.int64)
    order = np.lexsort((np.flatnonzero(dup), groups))
    rows = np.flatnonzero(dup)[order]
    return pd.DataFrame({"group": groups[order].astype(np.int64), "row": df.index[rows],
                         "path": df["path"].to_numpy()[rows],
                         "sha256": [str(k).split("|")[0] for k in keys[rows]]})


__all__ = ["GROUP_COLUMN", "cell_groups", "content_groups", "content_keys", "duplicate_table", "file_digests",
           "first_member"]
