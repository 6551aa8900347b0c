"""Derived arrays of a tree, computed once from the parent of each node.

All arrays index nodes in the hierarchy's fixed order (pre-order, root first, children in
their stored order), so that every lineage's nodes are contiguous. Leaves keep that order.

Definitions (N nodes, L leaves, D = maximum depth):

- ``depth[i]``: edges from the root (root 0).
- ``parent[i]``: index of the parent, ``-1`` for the root.
- ``membership[i, l]``: leaf ``l`` lies in the subtree of node ``i`` (N x L, bool).
- ``ancestors[i, j]``: ``j`` is ``i`` or an ancestor of ``i`` (N x N, bool, root included).
- ``ancestor_at_depth[i, d]``: index of ``i``'s ancestor at depth ``d`` (``i`` itself at its
  own depth), ``-1`` for ``d > depth[i]`` (N x (D+1), int).
- ``lca[i, j]``: index of the lowest common ancestor.
- ``lca_height[i, j] = max(depth[i], depth[j]) - depth[lca[i, j]]``: the mistake severity of
  predicting ``j`` for ``i`` (Bertinetto et al. 2020 use the LCA's height in trees whose leaves
  all sit at one depth; with leaves at different depths we count edges from the LCA down to the
  deeper of the two nodes, so it is 0 only for ``i == j`` and does not depend on unrelated
  branches below the LCA).
- ``tree_distance[i, j] = depth[i] + depth[j] - 2 depth[lca]``: path length in edges.
- ``lineage[i]``: index of the depth-1 ancestor (a depth-1 node is its own lineage; ``-1``
  for the root).
- ``height[i]``: longest path from ``i`` down to a leaf (0 for leaves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class TreeArrays:
    parent: np.ndarray
    depth: np.ndarray
    is_leaf: np.ndarray
    leaf_nodes: np.ndarray
    membership: np.ndarray
    ancestors: np.ndarray
    ancestor_at_depth: np.ndarray
    lca: np.ndarray
    lca_height: np.ndarray
    tree_distance: np.ndarray
    lineage: np.ndarray
    height: np.ndarray

    @property
    def max_depth(self) -> int:
        return int(self.depth.max())


def compute_arrays(parent: np.ndarray) -> TreeArrays:
    """Compute every derived array from ``parent`` (pre-order: each parent precedes its children).

    ``parent``: int array [N], ``parent[0] == -1`` (the root).
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = parent.shape[0]
    if n == 0 or parent[0] != -1 or np.any(parent[1:] >= np.arange(1, n)) or np.any(parent[1:] < 0):
        raise ValueError("parent must list nodes in pre-order with the root first")
    depth = np.zeros(n, dtype=np.int64)
    for i in range(1, n):  # pre-order: the parent's depth is already known
        depth[i] = depth[parent[i]] + 1
    max_depth = int(depth.max())

    # ancestor_at_depth: walk every node up one level per depth (D steps, vectorised over nodes)
    anc_d = np.full((n, max_depth + 1), -1, dtype=np.int64)
    cur = np.arange(n)
    cur_depth = depth.copy()
    for _ in range(max_depth + 1):
        alive = cur >= 0
        anc_d[np.nonzero(alive)[0], cur_depth[alive]] = cur[alive]
        nxt = np.where(alive, parent[np.maximum(cur, 0)], -1)
        cur, cur_depth = nxt, cur_depth - 1

    ancestors = np.zeros((n, n), dtype=bool)
    rows, cols = np.nonzero(anc_d >= 0)
    ancestors[rows, anc_d[rows, cols]] = True

    is_leaf = np.ones(n, dtype=bool)
    is_leaf[parent[1:]] = False
    leaf_nodes = np.nonzero(is_leaf)[0]
    membership = ancestors[leaf_nodes].T.copy()  # [N, L]: node i is an ancestor of leaf l

    # LCA: the deepest depth at which the two ancestor chains still agree
    same = (anc_d[:, None, :] == anc_d[None, :, :]) & (anc_d[:, None, :] >= 0)  # [N, N, D+1]
    lca_depth = max_depth - np.argmax(same[:, :, ::-1], axis=2)
    lca = np.take_along_axis(np.broadcast_to(anc_d[:, None, :], same.shape), lca_depth[..., None], 2)[..., 0]
    deeper = np.maximum(depth[:, None], depth[None, :])
    lca_height = deeper - lca_depth
    tree_distance = depth[:, None] + depth[None, :] - 2 * lca_depth

    lineage = anc_d[:, 1] if max_depth >= 1 else np.full(n, -1)
    height = np.zeros(n, dtype=np.int64)
    for i in range(n - 1, 0, -1):  # reverse pre-order: children before parents
        height[parent[i]] = max(height[parent[i]], height[i] + 1)

    return TreeArrays(
        parent=_frozen(parent.copy()),
        depth=_frozen(depth),
        is_leaf=_frozen(is_leaf),
        leaf_nodes=_frozen(leaf_nodes),
        membership=_frozen(membership),
        ancestors=_frozen(ancestors),
        ancestor_at_depth=_frozen(anc_d),
        lca=_frozen(np.ascontiguousarray(lca)),
        lca_height=_frozen(lca_height),
        tree_distance=_frozen(tree_distance),
        lineage=_frozen(np.ascontiguousarray(lineage)),
        height=_frozen(height),
    )
