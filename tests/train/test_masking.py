"""iBOT block masking and mask collation, against a loop transcription of dinov2's generator."""
import math

import numpy as np
import pytest
import torch

from hierwbc.train.masking import MaskingGenerator, collate_masks


def reference_mask(height, width, num_masking_patches, max_num_patches, rng,
                   min_num_patches=4, min_aspect=0.3):
    """dinov2 MaskingGenerator.__call__ with its element loops, drawing from the same rng."""
    log_aspect = (math.log(min_aspect), math.log(1 / min_aspect))
    mask = np.zeros((height, width), dtype=bool)
    count = 0
    while count < num_masking_patches:
        max_mask_patches = min(num_masking_patches - count, max_num_patches)
        delta = 0
        for _ in range(10):
            target_area = min_num_patches + (max_mask_patches - min_num_patches) * rng.random()
            aspect_ratio = math.exp(rng.uniform(*log_aspect))
            h = round(math.sqrt(target_area * aspect_ratio))
            w = round(math.sqrt(target_area / aspect_ratio))
            if w < width and h < height:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                num_masked = mask[top:top + h, left:left + w].sum()
                if 0 < h * w - num_masked <= max_mask_patches:
                    for i in range(top, top + h):
                        for j in range(left, left + w):
                            if mask[i, j] == 0:
                                mask[i, j] = 1
                                delta += 1
            if delta > 0:
                break
        if delta == 0:
            break
        count += delta
    return mask


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("target", [0, 5, 30, 100])
def test_generator_equals_dinov2_loops(seed, target):
    gen = MaskingGenerator((16, 12), max_num_patches=96)
    ours = gen(target, np.random.default_rng(seed))
    ref = reference_mask(16, 12, target, 96, np.random.default_rng(seed))
    assert np.array_equal(ours, ref)
    assert ours.sum() <= target
    if target >= 4:
        assert ours.sum() > 0


def test_generator_is_reproducible_from_seed_and_generator_state():
    gen = MaskingGenerator(14, max_num_patches=98)
    assert np.array_equal(gen(50, rng=3), gen(50, rng=3))
    rng = np.random.default_rng(3)
    first, second = gen(50, rng), gen(50, rng)
    assert not np.array_equal(first, second)
    assert "MaskingGenerator(14x14" in repr(gen)


def test_one_rectangle_has_bounded_area_and_aspect():
    gen = MaskingGenerator(32, max_num_patches=512)
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = np.zeros((32, 32), dtype=bool)
        added = gen._add_rectangle(mask, 60, rng)
        rows, cols = np.nonzero(mask)
        h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert added == mask.sum() == h * w  # one solid rectangle
        assert 1 <= added <= 60
        assert 0.3 / 2 <= h / w <= 2 / 0.3  # aspect in [0.3, 1/0.3] up to rounding of sides


def test_collate_masks_structure():
    batch, grid = 10, 16
    n = grid * grid
    out = collate_masks(batch, grid, (0.1, 0.5), 0.5, rng=0)
    masks = out["masks"]
    assert masks.shape == (batch, n) and masks.dtype == torch.bool
    counts = masks.sum(-1)
    assert int((counts > 0).sum()) == 5  # int(B * mask_probability) crops are masked
    probs = np.linspace(0.1, 0.5, 6)
    bounds = sorted(int(n * p) for p in probs[1:])
    assert all(c <= b for c, b in zip(sorted(counts[counts > 0].tolist()), bounds))
    assert out["upperbound"] == sum(bounds) >= int(counts.sum())
    assert torch.equal(out["mask_indices_list"], masks.flatten().nonzero().flatten())
    assert out["n_masked_patches"].tolist() == [int(counts.sum())]
    expected_weight = torch.cat([torch.full((int(c),), 1.0 / int(c)) for c in counts if c > 0])
    # masks_weight follows the flattened order, image by image
    torch.testing.assert_close(out["masks_weight"], expected_weight)


def test_collate_masks_reproducible_and_shuffled():
    a = collate_masks(16, 8, rng=5)
    b = collate_masks(16, 8, rng=5)
    assert torch.equal(a["masks"], b["masks"])
    positions = set()
    for seed in range(10):
        masked = collate_masks(16, 8, rng=seed)["masks"].any(-1).nonzero().flatten().tolist()
        positions.update(masked)
    assert len(positions) > 8  # masked crops are not always the first half


def test_collate_masks_without_masking():
    out = collate_masks(4, (3, 5), mask_probability=0.0, rng=0)
    assert out["masks"].shape == (4, 15) and not out["masks"].any()
    assert out["mask_indices_list"].numel() == 0 and out["n_masked_patches"].tolist() == [0]
    assert out["masks_weight"].numel() == 0 and out["upperbound"] == 0
