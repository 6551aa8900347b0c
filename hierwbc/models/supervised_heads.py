"""Supervised heads: what each supervised loss reads from the backbone's [CLS] token.

Contract with the trainer::

    head = build_supervised_head(loss_name, hierarchy, in_dim)    # one of the names of get_loss
    loss_fn = get_loss(loss_name, hierarchy)
    out = head(cls_tokens)                   # cls_tokens [B, in_dim]
    loss = loss_fn(out, targets)             # targets [B] node indices (h.node_index), -1 = unlabelled
    p = head.node_probs(out)                 # [B, N] node probabilities, where the head has them

``head.input_kind`` equals ``hierwbc.losses.input_kind(loss_name)``:

- ``"leaf_logits"`` (ce, hierce, distance, softlabel): :class:`LeafLogitHead`, an MLP to one
  logit per leaf [B, L] (``h.leaves`` order). Node probabilities: ``P(node) = sum of the leaf
  softmax over the leaves under it`` (``h.membership``), computed in log space; the root is 1.
- ``"depth_logits"`` (multilevel): :class:`DepthLogitHead`, one linear (or MLP) head per
  depth d = 1..D, scattered into node logits [B, N] (``h.nodes`` order; the root column is 0
  and unused). Node probabilities: the softmax of each depth's head over the nodes at that
  depth (each depth sums to 1; depths need not agree with each other); the root is 1.
- ``"node_logits"`` (ce_node): :class:`NodeLogitHead`, an MLP to one logit per node [B, N]
  (``h.nodes`` order; the root column is unused): one softmax over the non-root nodes, each a
  class. Node probabilities: ``P(v)`` = the softmax mass of ``v`` and every node under it (a
  cell called "neutrophil_band" is also a neutrophil); the root is 1.
- ``"embedding"`` (supcon, hiersupcon): :class:`EmbeddingHead`, the [CLS] token itself
  (``proj_dim=None``, the paper: SupCon directly on [CLS]) or an MLP projection, L2-normalised
  [B, F]. No node probabilities (``has_node_probs`` is False; ``node_probs`` raises).

Nothing here names a device or dtype: heads follow their parameters and the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.init import trunc_normal_

from hierwbc.losses.multilevel_ce import depth_log_softmax
from hierwbc.losses.registry import input_kind
from hierwbc.losses.tree_ops import NodeLogProbs, check_width

from .heads import build_mlp


def _init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class SupervisedHead(nn.Module):
    """Common interface: ``forward(x [B, in_dim])``, ``node_log_probs(out)``, ``node_probs(out)``."""

    input_kind: str = ""
    has_node_probs: bool = False
    allowed_leaves: Tensor | None = None  # bool [L] after restrict(): the leaves it may predict

    def node_log_probs(self, out: Tensor) -> Tensor:
        """log P(node) [B, N] from this head's output (see the module docstring)."""
        raise NotImplementedError(f"{type(self).__name__} ({self.input_kind}) gives no node probabilities")

    def node_probs(self, out: Tensor) -> Tensor:
        """P(node) [B, N] from this head's output."""
        return self.node_log_probs(out).exp()

    def restricted(self, out: Tensor) -> Tensor:
        """This head's output with the logits of the columns it may not predict (the buffer
        ``allowed``, set by :meth:`restrict`) at -inf; unchanged when unrestricted. What
        :meth:`node_log_probs` reads, and what a loss reads to train over the same classes
        (:func:`hierwbc.train.fit_head.fit_head`)."""
        allowed = getattr(self, "allowed", None)
        return out if allowed is None else out.masked_fill(~allowed, float("-inf"))

    def restrict(self, leaves) -> SupervisedHead:
        """Predict only the leaves ``leaves`` (bool [L], ``h.leaves`` order; e.g.
        :meth:`~hierwbc.hierarchy.Hierarchy.supported_leaves` of the training labels): every
        other leaf, and every node with none of them below it, gets probability 0. ``forward``
        is unchanged (a loss on :meth:`restricted` trains over the same leaves); ``None`` lifts
        the restriction."""
        raise NotImplementedError(f"{type(self).__name__} ({self.input_kind}) gives no node probabilities")


def _leaf_mask(leaves, n_leaves: int) -> Tensor | None:
    if leaves is None:
        return None
    mask = torch.as_tensor(leaves, dtype=torch.bool)
    if mask.shape != (n_leaves,) or not mask.any():
        raise ValueError(f"leaves must be a bool mask over the {n_leaves} leaves with at least one True, "
                         f"got shape {tuple(mask.shape)} with {int(mask.sum())} True")
    return mask


class LeafLogitHead(SupervisedHead):
    """MLP [B, in_dim] -> leaf logits [B, L] (``nlayers`` linear layers, GELU between)."""

    input_kind = "leaf_logits"
    has_node_probs = True

    def __init__(self, hierarchy, in_dim: int, nlayers: int = 2, hidden_dim: int = 2048) -> None:
        super().__init__()
        self.n_leaves = len(hierarchy.leaves)
        self.mlp = _init(build_mlp(nlayers, in_dim, self.n_leaves, hidden_dim))
        self._node_log_probs = NodeLogProbs(hierarchy)
        self.register_buffer("allowed", None, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)

    def restrict(self, leaves) -> LeafLogitHead:
        self.allowed_leaves = mask = _leaf_mask(leaves, self.n_leaves)
        self.allowed = None if mask is None else mask.to(next(self.parameters()).device)
        return self

    def node_log_probs(self, out: Tensor) -> Tensor:
        return self._node_log_probs(self.restricted(out))  # the leaf softmax over the allowed leaves


class _NodeColumnHead(SupervisedHead):
    """A head with one output column per node (buffer ``membership`` [N, L]): restricting it to
    some leaves allows the nodes with an allowed leaf under them (the root always is)."""

    def restrict(self, leaves) -> _NodeColumnHead:
        self.allowed_leaves = mask = _leaf_mask(leaves, self.membership.shape[1])
        self.allowed = None if mask is None else (self.membership & mask).any(1)
        return self


class DepthLogitHead(_NodeColumnHead):
    """One head per depth d = 1..D, [B, in_dim] -> node logits [B, N] in ``h.nodes`` order."""

    input_kind = "depth_logits"
    has_node_probs = True

    def __init__(self, hierarchy, in_dim: int, nlayers: int = 1, hidden_dim: int = 2048) -> None:
        super().__init__()
        depth = torch.as_tensor(hierarchy.depth.copy())
        self.max_depth = hierarchy.max_depth
        columns = [torch.nonzero(depth == d).flatten() for d in range(1, self.max_depth + 1)]
        self.heads = nn.ModuleList(_init(build_mlp(nlayers, in_dim, len(c), hidden_dim)) for c in columns)
        order = torch.cat([torch.zeros(1, dtype=torch.long)] + columns)  # output position -> node
        self.register_buffer("to_node_order", torch.argsort(order), persistent=False)
        self.register_buffer("depth", depth, persistent=False)
        self.register_buffer("membership", torch.as_tensor(hierarchy.membership.copy()), persistent=False)
        self.register_buffer("allowed", None, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        outs = [head(x) for head in self.heads]
        root = outs[0].new_zeros(outs[0].shape[0], 1)
        return torch.cat([root] + outs, dim=1).index_select(1, self.to_node_order)

    def node_log_probs(self, out: Tensor) -> Tensor:
        check_width(out, self.depth.shape[0], "node logits", "one column per node, h.nodes order")
        if self.allowed is None:
            return depth_log_softmax(out, self.depth, self.max_depth)
        # each depth's softmax over its allowed nodes only (a depth with none: all -inf, not NaN)
        logp = depth_log_softmax(self.restricted(out), self.depth, self.max_depth)
        return logp.masked_fill(~self.allowed, float("-inf"))


class NodeLogitHead(_NodeColumnHead):
    """MLP [B, in_dim] -> node logits [B, N] (``h.nodes`` order), one flat softmax over the non-root nodes."""

    input_kind = "node_logits"
    has_node_probs = True

    def __init__(self, hierarchy, in_dim: int, nlayers: int = 2, hidden_dim: int = 2048) -> None:
        super().__init__()
        self.mlp = _init(build_mlp(nlayers, in_dim, len(hierarchy.nodes), hidden_dim))
        # under[v, u]: u is v or lies under it ([N, N]; h.ancestors[u, v] is "v at or above u")
        self.register_buffer("under", torch.as_tensor(hierarchy.ancestors.T.copy()), persistent=False)
        self.register_buffer("membership", torch.as_tensor(hierarchy.membership.copy()), persistent=False)
        self.register_buffer("allowed", None, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)

    def node_log_probs(self, out: Tensor) -> Tensor:
        check_width(out, self.under.shape[0], "node logits", "one column per node, h.nodes order")
        x = self.restricted(out.float())
        own = torch.cat([x.new_full((x.shape[0], 1), float("-inf")), torch.log_softmax(x[:, 1:], dim=1)], dim=1)
        # log P(v) = logsumexp over u under v (v included) of log p(u): [B, N, N] masked, N ~ 50
        return own[:, None, :].masked_fill(~self.under[None], float("-inf")).logsumexp(-1)


class EmbeddingHead(SupervisedHead):
    """[B, in_dim] -> L2-normalised embedding [B, F]: the input itself (``proj_dim=None``)
    or an MLP projection to ``proj_dim``."""

    input_kind = "embedding"

    def __init__(self, in_dim: int, proj_dim: int | None = None, nlayers: int = 2, hidden_dim: int = 2048) -> None:
        super().__init__()
        self.proj = nn.Identity() if proj_dim is None else _init(build_mlp(nlayers, in_dim, proj_dim, hidden_dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.proj(x), dim=-1, eps=1e-6 if x.dtype == torch.float16 else 1e-12)


def build_supervised_head(loss_name: str, hierarchy, in_dim: int, *, nlayers: int | None = None,
                          hidden_dim: int = 2048, proj_dim: int | None = None) -> SupervisedHead:
    """The head that feeds the loss ``loss_name``; ``nlayers`` defaults to 2 for the leaf-logit
    MLP and the embedding projection, 1 (linear) per depth for the multilevel head."""
    kind = input_kind(loss_name)
    if kind == "leaf_logits":
        return LeafLogitHead(hierarchy, in_dim, nlayers or 2, hidden_dim)
    if kind == "depth_logits":
        return DepthLogitHead(hierarchy, in_dim, nlayers or 1, hidden_dim)
    if kind == "node_logits":
        return NodeLogitHead(hierarchy, in_dim, nlayers or 2, hidden_dim)
    return EmbeddingHead(in_dim, proj_dim, nlayers or 2, hidden_dim)


def head_of_hidden_dim(loss_name: str, hierarchy, in_dim: int, hidden_dim: int) -> SupervisedHead:
    """The head as a config (``supervised.head_hidden_dim``) or a weights file
    (``sup_head_hidden_dim``) describes it: ``hidden_dim`` 0 is a linear head, otherwise one
    hidden layer of that width."""
    hidden_dim = int(hidden_dim or 0)
    return build_supervised_head(loss_name, hierarchy, in_dim, nlayers=2 if hidden_dim > 0 else 1,
                                 hidden_dim=max(hidden_dim, 1))
