"""Fixtures for the supervised-loss tests: random trees with leaves at different depths and
mixed leaf / internal / unlabelled node-index targets."""

from __future__ import annotations

import numpy as np
import pytest

from hierwbc.hierarchy import Hierarchy


def random_newick(rng: np.random.Generator, max_depth: int = 4, max_children: int = 3) -> str:
    """A random named tree; every internal node has 1..max_children children."""
    counter = iter(range(10_000))

    def node(depth: int) -> str:
        name = f"n{next(counter)}"
        internal = depth == 0 or (depth < max_depth and rng.random() < 0.6)
        if not internal:
            return name
        kids = [node(depth + 1) for _ in range(int(rng.integers(1, max_children + 1)))]
        return f"({','.join(kids)}){name}"

    return node(0) + ";"


def make_random_hierarchy(seed: int, max_depth: int = 4) -> Hierarchy:
    """A random tree with >= 3 leaves at >= 2 different depths and >= 2 internal non-root nodes."""
    rng = np.random.default_rng(seed)
    while True:
        h = Hierarchy.from_newick(random_newick(rng, max_depth))
        leaf_depths = set(h.depth[h.leaf_nodes].tolist())
        if len(h.leaves) >= 3 and len(leaf_depths) >= 2 and (~h.is_leaf).sum() >= 3:
            return h


def mixed_targets(h: Hierarchy, n: int, rng: np.random.Generator, p_internal: float = 0.3,
                  p_unlabelled: float = 0.1) -> np.ndarray:
    """Node-index targets: leaves, internal non-root nodes and -1, all present when n >= 10."""
    leaves = np.asarray(h.leaf_nodes)
    internal = np.nonzero(~h.is_leaf)[0][1:]
    kind = rng.random(n)
    out = rng.choice(leaves, n)
    out = np.where(kind < p_internal, rng.choice(internal, n), out)
    out = np.where(kind > 1 - p_unlabelled, -1, out)
    out[:3] = [leaves[0], internal[0], -1]  # every kind at least once
    return out.astype(np.int64)


@pytest.fixture(params=[0, 1, 2, 3])
def random_tree(request) -> Hierarchy:
    return make_random_hierarchy(100 + request.param)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def make_targets(rng):
    """``make_targets(h, n)``: :func:`mixed_targets` with the test's seeded generator."""
    return lambda h, n, **kw: mixed_targets(h, n, rng, **kw)
