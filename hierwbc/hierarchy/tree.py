"""The :class:`Hierarchy`: a named ete3 tree of cell types with display labels, per-dataset
label maps, and derived arrays computed once and cached.

Node names are unique identifiers (``[A-Za-z0-9_.+-]``); display labels are free text and may
repeat ("immature" under several lineages). Every edit (see :mod:`.edits`) is validated first
and only then applied, so a refused edit leaves the hierarchy unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .arrays import TreeArrays, compute_arrays
from .edits import EditsMixin
from .errors import HierarchyError, did_you_mean, unknown_node_error, with_hint
from .io import FORMAT, VERSION, IOMixin
from .label_maps import LabelMap, MappedLabels
from .names import NAME_RE, check_name, default_label

__all__ = ["NAME_RE", "Hierarchy", "check_name", "default_label"]


class Hierarchy(EditsMixin, IOMixin):
    """A tree of cell types on an :class:`ete3.Tree`.

    Parameters
    ----------
    tree: an ete3 tree whose nodes all have unique, valid names (the root included).
    labels: ``{node name: display label}``; missing ones default to the name with spaces.
    label_maps: ``{dataset: {raw label: node name or None}}``.

    Node order (``nodes``, and every array) is pre-order, root first, children in stored order.
    """

    def __init__(self, tree, labels: Mapping[str, str] | None = None,
                 label_maps: Mapping[str, Mapping[str, str | None]] | None = None):
        self.tree = tree
        self._cache: dict[str, object] = {}
        seen: dict[str, object] = {}
        for node in tree.traverse("preorder"):
            check_name(node.name)
            if node.name in seen:
                raise HierarchyError(f"duplicate node name {node.name!r}: node names must be unique")
            seen[node.name] = node
        labels = dict(labels or {})
        unknown = sorted(set(labels) - set(seen))
        if unknown:
            raise HierarchyError("display labels given for nodes not in the tree: "
                                 + ", ".join(with_hint(repr(n), n, seen) for n in unknown))
        for name, node in seen.items():
            node.add_feature("label", str(labels.get(name, getattr(node, "label", None) or default_label(name))))
        self.label_maps: dict[str, LabelMap] = {}
        for dataset, entries in (label_maps or {}).items():
            self.label_maps[dataset] = LabelMap(dataset, entries)
        self._check_label_maps()

    # ------------------------------------------------------------------ structure queries
    def _invalidate(self) -> None:
        self._cache.clear()

    def _cached(self, key: str, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def _by_name(self) -> dict[str, object]:
        return self._cached("by_name", lambda: {n.name: n for n in self.tree.traverse("preorder")})

    def node(self, name: str):
        """The ete3 node of ``name``; :class:`HierarchyError` naming it if absent."""
        try:
            return self._by_name[name]
        except KeyError:
            raise unknown_node_error(name, self.nodes) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def root(self) -> str:
        return self.tree.name

    @property
    def nodes(self) -> tuple[str, ...]:
        """All node names in fixed pre-order (root first)."""
        return self._cached("nodes", lambda: tuple(self._by_name))

    @property
    def node_index(self) -> dict[str, int]:
        return self._cached("node_index", lambda: {n: i for i, n in enumerate(self.nodes)})

    @property
    def leaves(self) -> tuple[str, ...]:
        """Leaf names in the same pre-order."""
        return self._cached("leaves", lambda: tuple(self.nodes[i] for i in self.arrays.leaf_nodes))

    @property
    def leaf_index(self) -> dict[str, int]:
        """Position of each leaf among ``leaves`` (the column of ``membership``)."""
        return self._cached("leaf_index", lambda: {n: i for i, n in enumerate(self.leaves)})

    @property
    def arrays(self) -> TreeArrays:
        def make() -> TreeArrays:
            index = {n: i for i, n in enumerate(self.nodes)}
            parent = np.array([-1] + [index[self._by_name[n].up.name] for n in self.nodes[1:]])
            return compute_arrays(parent)

        return self._cached("arrays", make)

    # the derived arrays, by name (see hierwbc.hierarchy.arrays for definitions)
    parent = property(lambda self: self.arrays.parent)
    depth = property(lambda self: self.arrays.depth)
    height = property(lambda self: self.arrays.height)
    is_leaf = property(lambda self: self.arrays.is_leaf)
    leaf_nodes = property(lambda self: self.arrays.leaf_nodes)
    membership = property(lambda self: self.arrays.membership)
    ancestors = property(lambda self: self.arrays.ancestors)
    ancestor_at_depth = property(lambda self: self.arrays.ancestor_at_depth)
    lca = property(lambda self: self.arrays.lca)
    lca_height = property(lambda self: self.arrays.lca_height)
    tree_distance = property(lambda self: self.arrays.tree_distance)
    lineage = property(lambda self: self.arrays.lineage)
    max_depth = property(lambda self: self.arrays.max_depth)

    @property
    def lineages(self) -> tuple[str, ...]:
        """Names of the depth-1 nodes (one per lineage), in node order."""
        return tuple(n.name for n in self.tree.children)

    def label(self, name: str) -> str:
        """Display label of a node."""
        return self.node(name).label

    @property
    def labels(self) -> dict[str, str]:
        return {n: self._by_name[n].label for n in self.nodes}

    def children(self, name: str) -> list[str]:
        return [c.name for c in self.node(name).children]

    def parent_of(self, name: str) -> str | None:
        up = self.node(name).up
        return up.name if up is not None else None

    def path_to_root(self, name: str) -> list[str]:
        """``[name, parent, ..., root]``."""
        node, path = self.node(name), []
        while node is not None:
            path.append(node.name)
            node = node.up
        return path

    def descendants(self, name: str, include_self: bool = False) -> list[str]:
        node = self.node(name)
        out = [n.name for n in node.traverse("preorder")]
        return out if include_self else out[1:]

    def leaves_under(self, name: str) -> list[str]:
        return [self.leaves[j] for j in np.nonzero(self.membership[self.node_index[self.node(name).name]])[0]]

    def leaf_mask(self, names: Iterable[str]) -> np.ndarray:
        """bool [L] (``leaves`` order): which leaves are among ``names`` (a name that is no leaf raises)."""
        names = {str(n) for n in names}
        bad = sorted(n for n in names if n not in self.leaves)
        if bad:
            raise HierarchyError(f"not leaves of this tree: {bad}")
        return np.array([leaf in names for leaf in self.leaves], dtype=bool)

    def leaf_names(self, mask) -> list[str]:
        """The leaves a bool [L] mask (``leaves`` order) selects: the inverse of :meth:`leaf_mask`."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self.leaves),):
            raise ValueError(f"a leaf mask has one entry per leaf ({len(self.leaves)}), got shape {mask.shape}")
        return [leaf for leaf, keep in zip(self.leaves, mask) if keep]

    def supported_leaves(self, labels: Iterable[str]) -> np.ndarray:
        """bool [L] (``leaves`` order): the leaves a set of training labels gives evidence for.

        A leaf is supported when it is a label itself; a coarse label (an internal node) supports
        the leaves under it only when none of them is a label (its mass has nowhere else to go).
        A classifier fitted on these labels can tell the supported leaves apart and nothing else:
        a leaf never seen (e.g. ``faggot_cell`` beside PBC's ``promyelocyte``) gets no data
        pushing it up, only down, and off-domain its logit is arbitrary.
        """
        index = np.unique(self.indices({str(n) for n in labels}))
        rows = self.membership[index]                      # [u, L]: leaves under each label
        is_leaf = np.isin(index, self.leaf_nodes)
        direct = rows[is_leaf].any(0)
        coarse = rows[~is_leaf]
        uncovered = ~(coarse & direct).any(1)
        return direct | coarse[uncovered].any(0)

    def lineage_of(self, name: str) -> str | None:
        i = self.arrays.lineage[self.node_index[self.node(name).name]]
        return None if i < 0 else self.nodes[i]

    def indices(self, names: Iterable[str | None], missing: int = -1) -> np.ndarray:
        """Vector of node indices for node names (``None``/NaN give ``missing``; unknown names raise)."""
        index = self.node_index
        out = []
        for n in names:
            if n is None or (isinstance(n, float) and np.isnan(n)):
                out.append(missing)
            elif n in index:
                out.append(index[n])
            else:
                raise unknown_node_error(n, self.nodes)
        return np.asarray(out, dtype=np.int64)

    # ------------------------------------------------------------------ label maps
    def label_map(self, dataset: str) -> LabelMap:
        try:
            return self.label_maps[dataset]
        except KeyError:
            hint = did_you_mean(dataset, self.label_maps)
            raise HierarchyError(
                f"no label map for dataset {dataset!r}; " + (f"{hint} " if hint else "")
                + f"known: {sorted(self.label_maps)}"
            ) from None

    def map_labels(self, dataset: str, raw_labels: Sequence[object], unknown: str = "error",
                   source: str | None = None) -> MappedLabels:
        """Map a dataset's raw labels to node names (see :meth:`LabelMap.map`)."""
        return self.label_map(dataset).map(raw_labels, unknown=unknown, source=source)

    def _broken_entries(self, missing: set[str]) -> list[str]:
        return [f"{ds}: {raw!r} -> {node!r}" for ds, lm in self.label_maps.items()
                for raw, node in lm.items() if node is not None and node in missing]

    def _unknown_targets(self, maps: Iterable[LabelMap]) -> list[str]:
        """``dataset: raw -> node (did you mean ...?)`` for each entry whose node is not in the tree."""
        return [with_hint(f"{lm.dataset}: {raw!r} -> {node!r}", node, self.nodes)
                for lm in maps for raw, node in lm.items() if node is not None and node not in self]

    def _check_label_maps(self) -> None:
        broken = self._unknown_targets(self.label_maps.values())
        if broken:
            raise HierarchyError("label-map entries point at nodes not in the tree: " + "; ".join(broken))

    # ------------------------------------------------------------------ misc
    def copy(self) -> Hierarchy:
        return copy.deepcopy(self)

    def pruned_to(self, names: Iterable[str]) -> Hierarchy:
        """The tree cut down to ``names`` and their ancestors, each of ``names`` a leaf (what
        lies under it dropped); display labels kept, no label maps. Intermediate nodes with a
        single child stay (HierCE weighs edges by depth)."""
        names = list(names)
        keep = self.indices(names)
        if (keep < 0).any():
            bad = [n for n, i in zip(names, keep) if i < 0]
            raise unknown_node_error(bad[0], self.nodes)
        wanted = self.ancestors[keep].any(0)  # [N]: at or above some kept node
        stop = set(keep.tolist())
        index = self.node_index

        def node(n) -> dict:
            d = {"name": n.name, "label": n.label}
            if index[n.name] not in stop:
                kids = [node(c) for c in n.children if wanted[index[c.name]]]
                if kids:
                    d["children"] = kids
            return d

        return type(self).from_dict({"format": FORMAT, "version": VERSION, "tree": node(self.tree)})

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Hierarchy) and self.to_newick() == other.to_newick()
                and self.labels == other.labels and self.label_maps == other.label_maps)

    def __repr__(self) -> str:
        return (f"Hierarchy(root={self.root!r}, nodes={len(self.nodes)}, leaves={len(self.leaves)}, "
                f"max_depth={self.max_depth}, label_maps={sorted(self.label_maps)})")

    def ascii(self, labels: bool = False) -> str:
        """Text drawing of the tree, one node per line (``├──`` style, as ``shared/hierarchy.md``).

        With ``labels=True`` each line also shows the display label when it differs from the name.
        """
        def text(n) -> str:
            return f"{n.name}  ({n.label})" if labels and n.label != default_label(n.name) else n.name

        lines = [text(self.tree)]
        stack = [(c, "", i == len(self.tree.children) - 1) for i, c in reversed(list(enumerate(self.tree.children)))]
        while stack:
            node, prefix, last = stack.pop()
            lines.append(prefix + ("└── " if last else "├── ") + text(node))
            inner = prefix + ("    " if last else "│   ")
            kids = node.children
            stack.extend((c, inner, i == len(kids) - 1) for i, c in reversed(list(enumerate(kids))))
        return "\n".join(lines)
