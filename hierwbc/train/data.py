"""The training data path: manifest rows -> decoded, squared uint8 images in DataLoader workers,
in a deterministic, resumable order; augmentation happens later, batched on the device
(:mod:`hierwbc.train.augment`).

Order: step ``s`` of a run uses the global batch ``perm_e[k B : (k + 1) B]`` with
``e = s // steps_per_epoch``, ``k = s % steps_per_epoch`` and ``perm_e`` a permutation drawn
from ``numpy.random.default_rng([seed, e])`` (the last incomplete batch of an epoch is dropped).
It depends only on ``(seed, step)``, so a resumed run sees exactly the batches it would have
seen, and each of ``world`` processes takes rows ``rank::world`` of the same global batch.

With row probabilities ``p`` (per-lab sampling weights, :func:`lab_probabilities`) the global
batch of step ``s`` is ``B`` rows drawn with replacement from ``p`` by
``numpy.random.default_rng([seed, s, 1])``: again a function of ``(seed, step)`` only.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from ..datasets.manifest_images import ManifestImages


def steps_per_epoch(n: int, batch_size: int) -> int:
    if n < batch_size:
        raise ValueError(f"the training set has {n} images, fewer than one batch of {batch_size}")
    return n // batch_size


def lab_probabilities(labs, weights: dict[str, float]) -> np.ndarray:
    """``[n]`` probability of each row: lab ``g`` (``labs[i]``, e.g. the manifest's ``dataset``)
    gets the share ``w_g / sum_g' w_g'`` of the draws, spread evenly over its rows; a lab
    missing from ``weights`` weighs 1. A name of ``weights`` with no rows is warned about (a
    misspelt lab, or one a ``data.limit`` left out)."""
    labs = np.asarray(labs).astype(str)
    names, codes = np.unique(labs, return_inverse=True)
    unknown = sorted(set(weights) - set(names))
    if unknown:
        warnings.warn(f"lab weights name labs not in the training rows ({', '.join(names)}): {unknown}",
                      stacklevel=2)
    w = np.array([float(weights.get(str(n), 1.0)) for n in names])
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"lab weights must be >= 0 and not all 0, got {dict(zip(names, w))}")
    return (w / w.sum() / np.bincount(codes))[codes]


def global_batch(n: int, batch_size: int, seed: int, step: int, p: np.ndarray | None = None) -> np.ndarray:
    """Row indices of the global batch of ``step`` (see the module docstring)."""
    if p is not None:
        return np.random.default_rng([seed, step, 1]).choice(n, size=batch_size, replace=True, p=p)
    spe = steps_per_epoch(n, batch_size)
    epoch, k = divmod(step, spe)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * batch_size : (k + 1) * batch_size]


class StepBatchSampler(Sampler):
    """Yields this process's share (``rank::world``) of the global batch of each step in
    ``[start_step, total_steps)``."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int, total_steps: int,
                 rank: int = 0, world: int = 1, p: np.ndarray | None = None):
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} is not divisible by {world} processes")
        steps_per_epoch(n, batch_size)
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_step, self.total_steps, self.rank, self.world = start_step, total_steps, rank, world
        self.p = None if p is None else np.asarray(p, dtype=np.float64)
        if self.p is not None and self.p.shape != (n,):
            raise ValueError(f"row probabilities must be [{n}], got shape {self.p.shape}")

    def __len__(self) -> int:
        return max(self.total_steps - self.start_step, 0)

    def __iter__(self):
        for step in range(self.start_step, self.total_steps):
            yield global_batch(self.n, self.batch_size, self.seed, step, self.p)[self.rank :: self.world].tolist()


def make_loader(dataset: ManifestImages, sampler: StepBatchSampler, num_workers: int) -> DataLoader:
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                      pin_memory=torch.cuda.is_available(), persistent_workers=False,
                      prefetch_factor=4 if num_workers else None)
