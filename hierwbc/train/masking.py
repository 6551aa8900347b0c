"""iBOT block masking: random rectangles of patches, and the per-batch mask collation.

Semantics follow facebookresearch/dinov2 ``dinov2/data/masking.py`` (MaskingGenerator)
and the mask part of ``dinov2/data/collate.py`` (``collate_data_and_cast``); the code is
our own. Randomness comes from a ``numpy.random.Generator`` (or a seed) instead of the
global ``random`` module, so a run is reproducible and resumable.

Shapes: B masks (one per global crop image), grid ``gh x gw`` patches, N = gh * gw.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator (returned as is), a seed, or None (fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class MaskingGenerator:
    """Draw a boolean ``[gh, gw]`` mask made of random rectangles (BEiT / iBOT blocks).

    Each rectangle has an area in ``[min_num_patches, max_num_patches]`` (capped by what is
    still needed) and an aspect ratio log-uniform in ``[min_aspect, 1 / min_aspect]``;
    rectangles are added until ``num_masking_patches`` are masked or no rectangle adds
    anything within 10 tries, as dinov2.
    """

    def __init__(self, input_size: int | tuple[int, int], num_masking_patches: int | None = None,
                 min_num_patches: int = 4, max_num_patches: int | None = None,
                 min_aspect: float = 0.3, max_aspect: float | None = None) -> None:
        self.height, self.width = (input_size, input_size) if isinstance(input_size, int) \
            else tuple(input_size)
        self.num_patches = self.height * self.width
        self.num_masking_patches = num_masking_patches
        self.min_num_patches = min_num_patches
        if max_num_patches is None:
            max_num_patches = num_masking_patches if num_masking_patches is not None \
                else self.num_patches
        self.max_num_patches = max_num_patches
        max_aspect = max_aspect or 1.0 / min_aspect
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))

    def __repr__(self) -> str:
        return (f"MaskingGenerator({self.height}x{self.width}, patches "
                f"[{self.min_num_patches}, {self.max_num_patches}], log aspect "
                f"{self.log_aspect_ratio[0]:.3f}..{self.log_aspect_ratio[1]:.3f})")

    def _add_rectangle(self, mask: np.ndarray, max_mask_patches: int,
                       rng: np.random.Generator) -> int:
        """Try up to 10 rectangles; mask the first that adds 1..max patches. Returns # added."""
        for _ in range(10):
            # like random.uniform, also when max_mask_patches < min_num_patches
            target_area = self.min_num_patches + (max_mask_patches - self.min_num_patches) * rng.random()
            aspect_ratio = math.exp(rng.uniform(*self.log_aspect_ratio))
            h = round(math.sqrt(target_area * aspect_ratio))
            w = round(math.sqrt(target_area / aspect_ratio))
            if w < self.width and h < self.height:
                top = int(rng.integers(0, self.height - h + 1))
                left = int(rng.integers(0, self.width - w + 1))
                region = mask[top:top + h, left:left + w]
                added = h * w - int(region.sum())
                if 0 < added <= max_mask_patches:
                    region[...] = True
                    return added
        return 0

    def __call__(self, num_masking_patches: int = 0, rng: RngLike = None) -> np.ndarray:
        """A ``[gh, gw]`` bool mask with about (never more than) ``num_masking_patches`` set."""
        rng = as_generator(rng)
        mask = np.zeros((self.height, self.width), dtype=bool)
        count = 0
        while count < num_masking_patches:
            budget = min(num_masking_patches - count, self.max_num_patches)
            added = self._add_rectangle(mask, budget, rng)
            if added == 0:
                break
            count += added
        return mask


def collate_masks(batch_size: int, grid_size: int | tuple[int, int],
                  mask_ratio_min_max: tuple[float, float] = (0.1, 0.5),
                  mask_probability: float = 0.5, rng: RngLike = None,
                  generator: MaskingGenerator | None = None) -> dict[str, Tensor | int]:
    """iBOT masks for a batch of ``batch_size`` crops, as dinov2's collate.

    ``int(batch_size * mask_probability)`` crops get a mask; their target ratios are
    spread over ``linspace(min, max, n_masked + 1)`` (crop i draws uniformly in
    ``[p_i, p_{i+1}]``); the others get none; the order is shuffled. With the default
    generator, ``max_num_patches = 0.5 * N`` as in dinov2's training setup.

    Returns:
        ``masks`` [B, N] bool; ``mask_indices_list`` [M] long, flat indices into B*N;
        ``masks_weight`` [M] float, 1 / (masked patches of that crop);
        ``n_masked_patches`` [1] long (= M); ``upperbound`` int, the sum of
        ``int(N * p_{i+1})``, an upper bound on M for fixed-size buffers.
    """
    rng = as_generator(rng)
    grid = (grid_size, grid_size) if isinstance(grid_size, int) else tuple(grid_size)
    n_patches = grid[0] * grid[1]
    if generator is None:
        generator = MaskingGenerator(grid, max_num_patches=int(0.5 * n_patches))
    n_samples_masked = int(batch_size * mask_probability)
    probs = np.linspace(*mask_ratio_min_max, n_samples_masked + 1)
    masks = np.zeros((batch_size, n_patches), dtype=bool)
    upperbound = 0
    for i in range(n_samples_masked):  # sequential by nature: one rectangle process per crop
        target = int(n_patches * rng.uniform(probs[i], probs[i + 1]))
        masks[i] = generator(target, rng).reshape(-1)
        upperbound += int(n_patches * probs[i + 1])
    out = mask_batch(torch.from_numpy(masks[rng.permutation(batch_size)]))
    out["upperbound"] = upperbound
    return out


def mask_batch(masks: Tensor) -> dict[str, Tensor]:
    """The index tensors of a mask batch: ``masks`` [B, N] bool -> ``masks``,
    ``mask_indices_list`` [M] (flat indices into B*N), ``masks_weight`` [M] (1 / masked
    patches of that crop), ``n_masked_patches`` [1]. Used on a process's rows of a global batch."""
    masks = masks.contiguous()
    mask_indices_list = masks.flatten().nonzero().flatten()
    per_crop = 1.0 / masks.sum(-1).clamp(min=1).float()
    return {
        "masks": masks,
        "mask_indices_list": mask_indices_list,
        "masks_weight": per_crop.unsqueeze(-1).expand_as(masks)[masks],
        "n_masked_patches": torch.full((1,), mask_indices_list.shape[0], dtype=torch.long),
    }
