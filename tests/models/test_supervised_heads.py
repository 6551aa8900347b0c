"""Supervised heads: shapes and node order per loss, node probabilities, the trainer contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.losses import LOSSES, get_loss, input_kind
from hierwbc.models.supervised_heads import (
    DepthLogitHead,
    EmbeddingHead,
    LeafLogitHead,
    build_supervised_head,
    head_of_hidden_dim,
)

IN_DIM = 24


@pytest.mark.parametrize("name", list(LOSSES))
def test_trainer_contract_for_every_loss(name):
    h = default_hierarchy()
    torch.manual_seed(0)
    head = build_supervised_head(name, h, IN_DIM, hidden_dim=32)
    loss_fn = get_loss(name, h)
    assert head.input_kind == input_kind(name)
    cls_tokens = torch.randn(16, IN_DIM, requires_grad=True)
    targets = torch.tensor(h.indices(["myelocyte", "neutrophil", "blast", None] * 4))
    out = head(cls_tokens)
    width = {"leaf_logits": len(h.leaves), "depth_logits": len(h.nodes), "node_logits": len(h.nodes)}.get(
        head.input_kind, IN_DIM)
    assert out.shape == (16, width)
    loss = loss_fn(out, targets)
    loss.backward()
    grads = [p.grad for p in head.parameters()] + [cls_tokens.grad]
    assert torch.isfinite(loss) and loss > 0
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    if head.has_node_probs:
        assert head.node_probs(out).shape == (16, len(h.nodes))
    else:
        with pytest.raises(NotImplementedError):
            head.node_probs(out)


def test_leaf_head_node_probs_sum_leaf_softmax():
    h = Hierarchy.from_newick("((a,b)A,(c,(d,e)D)B,f)r;")
    head = LeafLogitHead(h, IN_DIM, nlayers=1)
    out = head(torch.randn(5, IN_DIM, dtype=torch.float32)).double()
    probs = head.node_probs(out)
    soft = torch.softmax(out, 1)
    for name in h.nodes:
        cols = [h.leaf_index[leaf] for leaf in h.leaves_under(name)]
        assert torch.allclose(probs[:, h.node_index[name]], soft[:, cols].sum(1), atol=1e-12)
    assert torch.allclose(probs[:, 0], torch.ones(5, dtype=torch.float64))
    extreme = torch.tensor([[1e4, -1e4, -1e4, -1e4, -1e4, -1e4]])
    log_p = head.node_log_probs(extreme)
    assert torch.isfinite(log_p).all()
    assert log_p[0, h.node_index["B"]].item() == pytest.approx(-2e4 + np.log(3), rel=1e-6)


def test_depth_head_scatters_each_depth_into_node_order():
    h = default_hierarchy()
    torch.manual_seed(1)
    head = DepthLogitHead(h, IN_DIM)
    x = torch.randn(3, IN_DIM)
    out = head(x)
    assert torch.all(out[:, 0] == 0)
    for d, lin in enumerate(head.heads, start=1):
        nodes_at_d = [i for i, n in enumerate(h.nodes) if len(h.path_to_root(n)) - 1 == d]
        assert torch.allclose(out[:, nodes_at_d], lin(x))
    probs = head.node_probs(out)
    for d in range(1, h.max_depth + 1):
        assert torch.allclose(probs[:, h.depth == d].sum(1), torch.ones(3))
    assert torch.allclose(probs[:, 0], torch.ones(3))


def test_embedding_head_is_normalised_cls_or_projection():
    x = torch.randn(4, IN_DIM)
    raw = EmbeddingHead(IN_DIM)
    assert torch.allclose(raw(x), x / x.norm(dim=1, keepdim=True))
    assert list(raw.parameters()) == []
    proj = build_supervised_head("supcon", default_hierarchy(), IN_DIM, proj_dim=8, hidden_dim=16)
    y = proj(x)
    assert y.shape == (4, 8) and torch.allclose(y.norm(dim=1), torch.ones(4))


def test_meta_device_path():
    h = default_hierarchy()
    for name in ("hierce", "multilevel", "hiersupcon"):
        head = build_supervised_head(name, h, IN_DIM, hidden_dim=16).to("meta")
        loss_fn = get_loss(name, h).to("meta")
        out = head(torch.empty(2, IN_DIM, device="meta"))
        loss = loss_fn(out, torch.zeros(2, dtype=torch.long, device="meta"))
        assert out.device.type == "meta" and loss.device.type == "meta"


def test_unknown_loss_name():
    with pytest.raises(KeyError, match="unknown supervised loss"):
        build_supervised_head("triplet", default_hierarchy(), IN_DIM)


@pytest.mark.parametrize("name", ["hierce", "multilevel"])
def test_a_restricted_head_predicts_only_its_leaves(name):
    h = Hierarchy.from_newick("((A,B)E,((F)D,G)C)root;")
    torch.manual_seed(0)
    head = build_supervised_head(name, h, IN_DIM, hidden_dim=32)
    x = torch.randn(5, IN_DIM)
    out = head(x)
    full = head.node_probs(out)
    allowed = np.array([True, False, False, True])  # A and G
    p = head.restrict(allowed).node_probs(out)
    torch.testing.assert_close(head(x), out)  # training output unchanged
    assert not torch.isnan(p).any()
    col = {n: h.node_index[n] for n in h.nodes}
    for n in ("B", "F", "D"):  # nothing allowed below them
        assert (p[:, col[n]] == 0).all(), n
    torch.testing.assert_close(p[:, col["root"]], torch.ones(5))
    if name == "hierce":  # the leaf softmax renormalised over A and G, by hand
        a, g = full[:, col["A"]], full[:, col["G"]]
        torch.testing.assert_close(p[:, col["A"]], a / (a + g))
        torch.testing.assert_close(p[:, col["E"]], p[:, col["A"]])
        torch.testing.assert_close(p[:, col["C"]], p[:, col["G"]])
    else:  # per depth over the allowed nodes: E vs C at depth 1, A vs G at depth 2
        e, c = full[:, col["E"]], full[:, col["C"]]
        torch.testing.assert_close(p[:, col["E"]], e / (e + c))
    assert head.restrict(None).node_probs(out).equal(full)
    with pytest.raises(ValueError, match="4 leaves"):
        head.restrict(np.zeros(4, bool))


def test_hidden_dim_zero_is_a_linear_head_and_otherwise_one_hidden_layer():
    h = default_hierarchy()
    n_leaves = len(h.leaves)
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(head_of_hidden_dim("hierce", h, IN_DIM, 0)) == IN_DIM * n_leaves + n_leaves
    assert count(head_of_hidden_dim("hierce", h, IN_DIM, None)) == IN_DIM * n_leaves + n_leaves  # metadata without it
    assert count(head_of_hidden_dim("ce", h, IN_DIM, 32)) == (IN_DIM * 32 + 32) + (32 * n_leaves + n_leaves)
