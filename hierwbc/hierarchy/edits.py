"""Validated edits of a :class:`Hierarchy`: add, rename, move, remove nodes; edit label maps.

Each edit checks everything first and raises :class:`HierarchyError` (naming the node, and
for label maps the ``dataset: raw -> node`` entries concerned) before changing anything, so a
refused edit leaves the hierarchy as it was. Derived arrays are recomputed lazily afterwards.

Imports only the leaf modules :mod:`.errors`, :mod:`.label_maps` and :mod:`.names`; :mod:`.tree`
imports this one (one direction, no cycle).
"""

from __future__ import annotations

from .errors import HierarchyError
from .label_maps import LabelMap
from .names import check_name, default_label


class EditsMixin:
    """Edit operations of :class:`Hierarchy` (mixed in; uses its queries and caches)."""

    def _require_new_name(self, name: str) -> None:
        check_name(name)
        if name in self:
            raise HierarchyError(f"a node named {name!r} already exists (names must be unique)")

    def add_node(self, name: str, parent: str, label: str | None = None, position: int | None = None) -> None:
        """Add a leaf ``name`` under ``parent`` (at ``position`` among its children, default last)."""
        self._require_new_name(name)
        up = self.node(parent)
        child = up.add_child(name=name)
        child.add_feature("label", label if label is not None else default_label(name))
        if position is not None:
            up.children.remove(child)
            up.children.insert(position, child)
        self._invalidate()

    def rename_node(self, old: str, new: str) -> None:
        """Rename a node; label-map entries follow it, and a default display label too."""
        node = self.node(old)
        if new == old:
            return
        self._require_new_name(new)
        if node.label == default_label(old):
            node.label = default_label(new)
        node.name = new
        for lm in self.label_maps.values():
            for raw, target in list(lm.items()):
                if target == old:
                    lm.set(raw, new)
        self._invalidate()

    def set_display_label(self, name: str, label: str) -> None:
        if not isinstance(label, str) or not label.strip():
            raise HierarchyError(f"display label of {name!r} must be a non-empty string")
        self.node(name).label = label
        self._invalidate()

    def move_node(self, name: str, new_parent: str, position: int | None = None) -> None:
        """Move ``name`` (with its subtree) under ``new_parent``; refuses cycles and the root."""
        node, target = self.node(name), self.node(new_parent)
        if node.up is None:
            raise HierarchyError(f"cannot move the root {name!r}")
        if new_parent in self.descendants(name, include_self=True):
            raise HierarchyError(
                f"cannot move {name!r} under {new_parent!r}: {new_parent!r} is inside the subtree of "
                f"{name!r} (that would make a cycle)")
        node.detach()
        if position is None:
            target.add_child(node)
        else:
            target.children.insert(position, node)
            node.up = target
        self._invalidate()

    def remove_node(self, name: str, keep_children: bool = False, remap_to_parent: bool = False) -> list[str]:
        """Remove ``name`` with its subtree, or (``keep_children``) re-parent its children to its
        parent in its place. Label-map entries pointing at removed nodes break the edit unless
        ``remap_to_parent`` points them at the removed node's parent. Returns the removed names.
        """
        node = self.node(name)
        if node.up is None:
            raise HierarchyError(f"cannot remove the root {name!r}")
        removed = [name] if keep_children else self.descendants(name, include_self=True)
        broken = self._broken_entries(set(removed))
        if broken and not remap_to_parent:
            raise HierarchyError(
                f"removing {name!r} would break {len(broken)} label-map entr{'y' if len(broken) == 1 else 'ies'}: "
                + "; ".join(broken)
                + ". Re-map them first, or pass remap_to_parent=True to point them at "
                f"{node.up.name!r}.")
        parent = node.up
        if keep_children:
            pos = parent.children.index(node)
            kids = list(node.children)
            for kid in kids:
                kid.detach()
            node.detach()
            for offset, kid in enumerate(kids):
                parent.children.insert(pos + offset, kid)
                kid.up = parent
        else:
            node.detach()
        for lm in self.label_maps.values():
            for raw, target in list(lm.items()):
                if target in removed:
                    lm.set(raw, parent.name)
        self._invalidate()
        return removed

    # ---- label maps
    def set_mapping(self, dataset: str, raw: str, node: str | None) -> None:
        """Map ``raw`` of ``dataset`` to ``node`` (``None`` = excluded); creates the map if new."""
        if node is not None:
            self.node(node)
        self.label_maps.setdefault(dataset, LabelMap(dataset)).set(raw, node)

    def remove_mapping(self, dataset: str, raw: str) -> None:
        self.label_map(dataset).remove(raw)

    def set_label_map(self, dataset: str, entries: dict[str, str | None]) -> None:
        """Replace a dataset's whole label map (validated before it is stored)."""
        lm = LabelMap(dataset, entries)
        broken = self._unknown_targets([lm])
        if broken:
            raise HierarchyError("label-map entries point at nodes not in the tree: " + "; ".join(broken))
        self.label_maps[dataset] = lm

    def remove_label_map(self, dataset: str) -> None:
        self.label_map(dataset)
        del self.label_maps[dataset]
