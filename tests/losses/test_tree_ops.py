"""Shared tensor operations: segmented log-sum-exp, node log-probabilities, target checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import default_hierarchy
from hierwbc.losses.tree_ops import (
    check_targets,
    empty_segment_value,
    full_precision,
    node_log_probs,
    segment_logsumexp,
)


def test_segment_logsumexp_matches_loop_with_empty_segments(rng):
    x = torch.tensor(rng.normal(0, 3, (5, 9)))
    seg = torch.tensor(rng.integers(0, 4, (5, 9)))  # segment 4 of 5 is always empty
    out = segment_logsumexp(x, seg, 5)
    for b in range(5):
        for s in range(5):
            vals = [x[b, c].item() for c in range(9) if seg[b, c] == s]
            if vals:
                top = max(vals)
                assert out[b, s].item() == pytest.approx(top + math.log(sum(math.exp(v - top) for v in vals)))
            else:
                assert out[b, s].item() == empty_segment_value(torch.float64)
    shared = segment_logsumexp(x, seg[0], 5)
    assert torch.allclose(shared, segment_logsumexp(x, seg[0].expand(5, 9), 5))


def test_segment_logsumexp_extreme_and_gradcheck(rng):
    x = torch.tensor([[1e4, -1e4, 0.0, -1e4]], dtype=torch.float32, requires_grad=True)
    seg = torch.tensor([0, 0, 1, 1])
    out = segment_logsumexp(x, seg, 2)
    assert out[0, 0].item() == pytest.approx(1e4) and out[0, 1].item() == pytest.approx(0.0)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    y = torch.tensor(rng.normal(size=(3, 6)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: segment_logsumexp(z, torch.tensor([0, 1, 1, 2, 2, 2]), 3), (y,))


def test_node_log_probs_sum_leaf_softmax(rng):
    h = default_hierarchy()
    logits = torch.tensor(rng.normal(size=(4, len(h.leaves))))
    probs = node_log_probs(logits, h).exp()
    soft = torch.softmax(logits, 1).numpy()
    for name in ("granulopoiesis", "neutrophil", "blast", h.root):
        cols = [h.leaf_index[leaf] for leaf in h.leaves_under(name)]
        assert probs[:, h.node_index[name]].numpy() == pytest.approx(soft[:, cols].sum(1), rel=1e-12)


def test_check_targets_names_the_bad_values():
    assert check_targets(torch.tensor([0, 48, -1], dtype=torch.int32), 49).dtype == torch.int64
    with pytest.raises(ValueError, match=r"\[-3, 49\]"):
        check_targets(torch.tensor([-3, 1, 49, 49]), 49)
    with pytest.raises(ValueError, match="3 entries but the batch has 2"):
        check_targets(torch.tensor([0, 1, 2]), 49, batch=2)
    with pytest.raises(ValueError, match="1-D"):
        check_targets(torch.zeros(2, 2, dtype=torch.long), 49)


def test_full_precision_is_a_no_op_without_autocast():
    with full_precision(torch.device("meta")):
        assert torch.empty(2, device="meta").device.type == "meta"
    with torch.autocast("cpu", dtype=torch.bfloat16), full_precision(torch.device("cpu")):
        a = torch.randn(4, 4)
        assert (a @ a).dtype == torch.float32
    assert np.isfinite(empty_segment_value(torch.float16))
