"""Near-duplicate cells: the same cell seen in two crops that are not byte-identical.

LISC's crops are windows shifted around one cell, and the same cell recurs in source groups
far apart; Aslan's tiles overlap, so a WBC may be boxed in two tiles. Byte hashes
(:mod:`.duplicates`) miss both. Each crop becomes a grey thumbnail ``a`` (``size x size``)
with a mask ``m`` of its valid pixels (inside the image, not a black border), and two crops
are compared by the best masked normalised cross-correlation over every shift ``d`` whose
overlap covers at least ``min_overlap`` of a thumbnail (Padfield 2012, computed with FFTs)::

    N = m_a * m_b,  S_a = (a m_a) * m_b,  S_aa = (a^2 m_a) * m_b,  C = (a m_a) * (b m_b)  (* = cross-correlation)
    r(d) = (C - S_a S_b / N) / sqrt((S_aa - S_a^2 / N) (S_bb - S_b^2 / N)),   r = max_d r(d)

Two crops with ``r >= threshold`` show the same cell. Measured on LISC (32 px thumbnails; 5,000
random pairs of crops of one type from different source groups): 3,784 pairs below 0.5,
1,183 in 0.5-0.85, none in 0.85-0.9, 33 above 0.9 (27 of them between groups 10 or more
apart); 64 px thumbnails draw the same line. :data:`SAME_CELL` = 0.9 sits in that gap.

Comparisons are cached on disk (:func:`~hierwbc.datasets.location.cache_root`), keyed by
the rows' files, boxes and the settings, as the decoded-image cache is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft as sfft
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from ..io import atomic_write
from .cache import cache_key
from .duplicates import first_member
from .images import load_image
from .location import cache_root
from .manifest import boxes

THUMBNAIL = 32
SAME_CELL = 0.9
MIN_OVERLAP = 0.5
BLACK = 10  # grey level at or below which a pixel is a border, not the slide


def thumbnails(frame: pd.DataFrame, size: int = THUMBNAIL, window: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Grey thumbnails and validity masks, each ``[n, size, size]`` float32 in [0, 1].

    Each row's crop box is used as it is, or with ``window`` (pixels) a square of that side
    centred on the box (so crops of one cell at different box sizes share a scale); pixels
    outside the image or black (a border) get mask 0."""
    grey = np.zeros((len(frame), size, size), np.float32)
    valid = np.zeros_like(grey)
    for k, (path, box) in enumerate(zip(frame["path"].astype(str), boxes(frame))):
        rgb = load_image(path)
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (0.0, 0.0, float(w), float(h)) if np.isnan(box).all() else box
        if window is not None:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            x0, y0, x1, y1 = cx - window / 2, cy - window / 2, cx + window / 2, cy + window / 2
        im = Image.fromarray(rgb).convert("L")
        inside = Image.fromarray(np.full((h, w), 255, np.uint8))
        region = (round(x0), round(y0), round(x1), round(y1))
        g = np.asarray(im.crop(region).resize((size, size), Image.BILINEAR), np.float32)
        m = np.asarray(inside.crop(region).resize((size, size), Image.BILINEAR), np.float32)
        grey[k] = g / 255
        valid[k] = ((m >= 254) & (g > BLACK)).astype(np.float32)
    return grey, valid


def _spectra(grey: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    size = 2 * grey.shape[-1]
    a = grey * valid
    return {k: sfft.rfft2(x, s=(size, size), workers=os.cpu_count()) for k, x in
            (("m", valid), ("a", a), ("aa", a * grey))}


def masked_correlation(grey: np.ndarray, valid: np.ndarray, i: np.ndarray, j: np.ndarray,
                       min_overlap: float = MIN_OVERLAP, chunk: int = 1024, progress: bool = False) -> np.ndarray:
    """Best masked normalised cross-correlation ``r [p]`` of thumbnails ``i[p]`` and ``j[p]``
    over every shift with an overlap of at least ``min_overlap`` of a thumbnail (-1 if none)."""
    s = grey.shape[-1]
    spec = _spectra(grey, valid)
    out = np.empty(len(i), np.float32)
    bar = tqdm(total=len(i), desc="comparing crops", unit="pair", disable=not progress)
    for k in range(0, len(i), chunk):
        a, b = i[k:k + chunk], j[k:k + chunk]

        def corr(x: str, y: str, a=a, b=b) -> np.ndarray:
            return sfft.irfft2(np.conj(spec[x][a]) * spec[y][b], s=(2 * s, 2 * s), workers=os.cpu_count())

        n = np.round(corr("m", "m"))
        sa, sb, saa, sbb, c = corr("a", "m"), corr("m", "a"), corr("aa", "m"), corr("m", "aa"), corr("a", "a")
        nn = np.maximum(n, 1)
        den = np.sqrt(np.maximum(saa - sa ** 2 / nn, 1e-6) * np.maximum(sbb - sb ** 2 / nn, 1e-6))
        r = np.where(n >= min_overlap * s * s, (c - sa * sb / nn) / den, -1.0)
        out[k:k + chunk] = r.reshape(len(a), -1).max(1)
        bar.update(len(a))
    bar.close()
    return out


def _candidates(frame: pd.DataFrame, within: str | None) -> tuple[np.ndarray, np.ndarray]:
    if within is None:
        return np.triu_indices(len(frame), k=1)
    codes = pd.factorize(frame[within].astype(str))[0]
    i, j = [], []
    for c in np.unique(codes):
        rows = np.flatnonzero(codes == c)
        a, b = np.triu_indices(len(rows), k=1)
        i.append(rows[a])
        j.append(rows[b])
    return (np.concatenate(i), np.concatenate(j)) if i else (np.zeros(0, np.int64), np.zeros(0, np.int64))


def same_cell_pairs(frame: pd.DataFrame, within: str | None = None, threshold: float = SAME_CELL,
                    size: int = THUMBNAIL, window: float | None = None, cache_dir: str | os.PathLike | None = None,
                    progress: bool = True) -> np.ndarray:
    """Pairs of rows ``[m, 2]`` (``i < j``) that show the same cell: every pair (or every pair
    with the same value of column ``within``) whose correlation reaches ``threshold``. Cached
    under ``cache_dir`` (default :func:`cache_root`)."""
    key = cache_key(frame, size)
    name = f"pairs_{key}_{within or 'all'}_{threshold:g}_{window or 0:g}_{MIN_OVERLAP:g}.npy"
    path = Path(cache_dir or cache_root()) / "near_duplicates" / name
    if path.is_file():
        return np.load(path, allow_pickle=False)
    i, j = _candidates(frame, within)
    grey, valid = thumbnails(frame, size, window)
    same = masked_correlation(grey, valid, i, j, progress=progress) >= threshold
    pairs = np.stack([i[same], j[same]], 1).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: np.save(tmp, pairs, allow_pickle=False), suffix=".npy")
    return pairs


def join(frame: pd.DataFrame, pairs: np.ndarray, group: str | None = None, prefix: str = "") -> np.ndarray:
    """Group name per row ``[n]`` object: connected components of the ``pairs`` and of equal
    values of column ``group``; each named ``prefix`` + its first row's ``group`` value (or row
    number)."""
    n = len(frame)
    label = frame[group].astype(str).to_numpy() if group else np.arange(n).astype(str)
    start = first_member(label)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    rows, cols = np.r_[np.arange(n), pairs[:, 0]], np.r_[start, pairs[:, 1]]
    _, comp = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)), directed=False)
    _, first = np.unique(comp, return_index=True)
    return np.array([f"{prefix}{label[k]}" for k in first[comp]], dtype=object)


__all__ = ["MIN_OVERLAP", "SAME_CELL", "THUMBNAIL", "join", "masked_correlation", "same_cell_pairs",
           "thumbnails"]
