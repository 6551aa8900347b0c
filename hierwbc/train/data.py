"""The training data path: manifest rows -> decoded, squared uint8 images in DataLoader workers,
in a deterministic, resumable order; augmentation happens later, batched on the device
(:mod:`hierwbc.train.augment`).

Order: step ``s`` of a run uses the global batch ``perm_e[k B : (k + 1) B]`` with
``e = s // steps_per_epoch``, ``k = s % steps_per_epoch`` and ``perm_e`` a permutation drawn
from ``numpy.random.default_rng([seed, e])`` (the last incomplete batch of an epoch is dropped).
It depends only on ``(seed, step)``, so a resumed run sees exactly the batches it would have
seen, and each of ``world`` processes takes rows ``rank::world`` of the same global batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from ..datasets.manifest_images import ManifestImages


def steps_per_epoch(n: int, batch_size: int) -> int:
    if n < batch_size:
        raise ValueError(f"the training set has {n} images, fewer than one batch of {batch_size}")
    return n // batch_size


def global_batch(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Row indices of the global batch of ``step`` (see the module docstring)."""
    spe = steps_per_epoch(n, batch_size)
    epoch, k = divmod(step, spe)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * batch_size : (k + 1) * batch_size]


class StepBatchSampler(Sampler):
    """Yields this process's share (``rank::world``) of the global batch of each step in
    ``[start_step, total_steps)``."""

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int, total_steps: int,
                 rank: int = 0, world: int = 1):
        if batch_size % world:
            raise ValueError(f"batch size {batch_size} is not divisible by {world} processes")
        steps_per_epoch(n, batch_size)
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_step, self.total_steps, self.rank, self.world = start_step, total_steps, rank, world

    def __len__(self) -> int:
        return max(self.total_steps - self.start_step, 0)

    def __iter__(self):
        for step in range(self.start_step, self.total_steps):
            yield global_batch(self.n, self.batch_size, self.seed, step)[self.rank :: self.world].tolist()


def make_loader(dataset: ManifestImages, sampler: StepBatchSampler, num_workers: int) -> DataLoader:
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                      pin_memory=torch.cuda.is_available(), persistent_workers=False,
                      prefetch_factor=4 if num_workers else None)
