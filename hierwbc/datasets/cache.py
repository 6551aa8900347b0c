"""Decode a manifest's images once into a uint8 array kept on disk, for training runs that read
every image many times (crops are then cut from the cached copy, not from a re-decoded file).

The array is ``[n, 3, size, size]`` uint8 (channel-first, as the training batches), each row
:func:`hierwbc.datasets.images.square_resize` of the (boxed) image. Its file name carries a hash of
the paths, boxes, file sizes and modification times and the size, so an edited dataset gets a
new cache and a stale one is never read. Written atomically (a killed run leaves no half file).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..io import atomic_write
from .manifest_images import ManifestImages


def cache_key(manifest: pd.DataFrame, size: int) -> str:
    """16 hex digits identifying the rows' files (path, box, bytes, mtime) and ``size``."""
    from .manifest import boxes

    h = hashlib.sha256(f"v1:{size}".encode())
    b = boxes(manifest)
    for i, path in enumerate(manifest["path"].astype(str)):
        st = os.stat(path)
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}|".encode())
        if b is not None:
            h.update(np.asarray(b[i], np.float64).tobytes())
    return h.hexdigest()[:16]


def cached_images(manifest: pd.DataFrame, size: int, cache_dir: str | os.PathLike,
                  num_workers: int = 2, progress: bool = True, reframe: str | None = None) -> torch.Tensor:
    """uint8 [n, 3, size, size] images of ``manifest``'s rows, decoded once and cached in
    ``cache_dir``. A file that cannot be decoded raises naming it (nothing is skipped).
    ``reframe``: see :class:`~.manifest_images.ManifestImages` (part of the file name)."""
    cache_dir = Path(cache_dir)
    framing = "" if reframe in (None, "none") else f"_{reframe}"
    path = cache_dir / f"images_{size}px{framing}_{len(manifest)}_{cache_key(manifest, size)}.npy"
    if path.is_file():
        return torch.from_numpy(np.load(path))
    data = ManifestImages(manifest, size, np.full(len(manifest), -1), reframe=reframe)
    loader = DataLoader(data, batch_size=128, shuffle=False, num_workers=num_workers)
    out = np.empty((len(manifest), 3, size, size), np.uint8)
    for images, _, index in tqdm(loader, desc=f"decode {len(manifest)} images at {size} px",
                                 disable=not progress):
        out[index.numpy()] = images.numpy()
    atomic_write(path, lambda tmp: np.save(tmp, out), suffix=".tmp.npy")
    return torch.from_numpy(out)
