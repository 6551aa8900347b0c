"""The teacher-target entropy and the uniform-target plateau watch."""

import math

import pytest
import torch

from hierwbc.losses.dino import sinkhorn_knopp
from hierwbc.train.diagnostics import PlateauWatch, normalized_entropy


def test_normalized_entropy_by_hand():
    assert float(normalized_entropy(torch.full((3, 8), 1 / 8))) == pytest.approx(1.0)
    assert float(normalized_entropy(torch.eye(4))) == pytest.approx(0.0)
    # [0.5, 0.5, 0, 0]: log 2 / log 4 = 0.5; averaged with a uniform row: 0.75
    p = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    assert float(normalized_entropy(p)) == pytest.approx(0.75)
    assert float(normalized_entropy(2 * p)) == pytest.approx(0.75)  # rows renormalised
    with pytest.raises(ValueError, match="K >= 2"):
        normalized_entropy(torch.ones(3, 1))


def test_identical_teacher_outputs_give_uniform_sinkhorn_targets():
    """Why the plateau exists: a teacher that says the same for every image gets uniform targets."""
    gen = torch.Generator().manual_seed(0)
    row = torch.rand(1, 64, generator=gen) * 2 - 1  # cosine logits, as the DINO head gives
    q = sinkhorn_knopp(row.repeat(32, 1), teacher_temp=0.04)
    assert float(normalized_entropy(q)) == pytest.approx(1.0, abs=1e-4)
    varied = sinkhorn_knopp(torch.rand(32, 64, generator=gen) * 2 - 1, teacher_temp=0.04)
    assert float(normalized_entropy(varied)) < 0.9


def test_plateau_watch_says_once_after_patience_steps():
    watch = PlateauWatch(4096, threshold=0.99, patience=3)
    said = [watch.update(s, e) for s, e in enumerate([1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0])]
    assert [i for i, m in enumerate(said) if m] == [5]  # the dip at step 2 resets the count
    assert f"log K = {math.log(4096):.3f}" in said[5] and "step 5" in said[5]
