"""The editor's model: the current :class:`Hierarchy`, an undo stack of copies, and the message
to show. No widgets here, so every operation is testable without a browser.

Every operation runs one of :mod:`hierwbc.hierarchy`'s validated edits on a *copy* of the
current hierarchy; only when the edit succeeds does the copy become current (and the old one
go on the undo stack). A refused edit sets an error :class:`Message` holding the
:class:`HierarchyError` text and changes nothing. Operations return ``True``/``False``
(``save`` returns the paths written) instead of raising, because their caller is a button.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hierwbc.hierarchy import EXCLUDED, Hierarchy, HierarchyError, default_hierarchy
from hierwbc.hierarchy.tree import default_label

LEVELS = ("info", "ok", "warning", "error")


@dataclass(frozen=True)
class Message:
    """What the editor tells the user after an operation. ``level`` is one of :data:`LEVELS`."""

    level: str
    text: str


def save_hierarchy(hierarchy: Hierarchy, path: str | os.PathLike) -> list[Path]:
    """Write ``hierarchy`` atomically (:meth:`Hierarchy.write`); returns the paths written.

    A ``.json`` path also gets its Newick twin (same stem, ``.nwk``, topology only) beside it,
    so other tools can read the tree; a Newick path is written alone.
    """
    path = Path(path)
    written = [hierarchy.write(path)]
    if path.suffix.lower() == ".json":
        written.append(hierarchy.write(path.with_suffix(".nwk")))
    return written


def tree_rows(hierarchy: Hierarchy) -> list[tuple[str, str]]:
    """``(text, node name)`` per node in ``hierarchy.nodes`` order, for a list-style tree view.

    The text is the node's line of :meth:`Hierarchy.ascii` (``├──`` indentation) followed by
    ``· display label`` when the label differs from the name.
    """
    lines = hierarchy.ascii().splitlines()
    if len(lines) != len(hierarchy.nodes):
        raise AssertionError("Hierarchy.ascii() must give one line per node")
    rows = []
    for line, name in zip(lines, hierarchy.nodes):
        if not line.endswith(name):
            raise AssertionError(f"Hierarchy.ascii() line {line!r} is not node {name!r}")
        label = hierarchy.label(name)
        rows.append((line if label == default_label(name) else f"{line} · {label}", name))
    return rows


def _described(entries: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"{ds}: {raw!r} -> {node!r}" for ds, raw, node in entries)


class EditorState:
    """The hierarchy being edited, its undo stack and the last message.

    Parameters
    ----------
    hierarchy: the tree to edit; the editor works on its own copy (read the result from
        :attr:`hierarchy`). Default: the file at ``path`` when it exists, else
        :func:`default_hierarchy`.
    path: where :meth:`save` / :meth:`load` go by default (``.json`` or ``.nwk``).
    max_undo: how many earlier versions are kept.
    """

    def __init__(self, hierarchy: Hierarchy | None = None, path: str | os.PathLike | None = None,
                 max_undo: int = 100):
        self.path = Path(path) if path is not None else None
        if hierarchy is None:
            if self.path is not None and self.path.exists():
                hierarchy, source = Hierarchy.read(self.path), f"loaded {str(self.path)!r}"
            else:
                hierarchy, source = default_hierarchy(), "the default tree"
        elif isinstance(hierarchy, Hierarchy):
            source = "the given tree"
        else:
            raise TypeError(f"hierarchy must be a hierwbc Hierarchy, not {type(hierarchy).__name__}")
        self._hierarchy = hierarchy.copy()
        self._undo: list[tuple[str, Hierarchy]] = []
        self.max_undo = max_undo
        self.message = Message("info", f"editing {source}: {self._hierarchy!r}")

    # ------------------------------------------------------------------ state
    @property
    def hierarchy(self) -> Hierarchy:
        """The current hierarchy (replaced by a new object on every successful edit)."""
        return self._hierarchy

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def history(self) -> list[str]:
        """Descriptions of the edits that :meth:`undo` can take back, oldest first."""
        return [d for d, _ in self._undo]

    def _say(self, level: str, text: str) -> None:
        self.message = Message(level, text)

    def _edit(self, description: str, edit: Callable[[Hierarchy], object],
              hint: str = "") -> bool:
        new = self._hierarchy.copy()
        try:
            edit(new)
        except HierarchyError as e:
            self._say("error", f"refused: {description}: {e}{hint}")
            return False
        self._push(description)
        self._hierarchy = new
        self._say("ok", description)
        return True

    def _push(self, description: str) -> None:
        self._undo.append((description, self._hierarchy))
        del self._undo[:-self.max_undo]

    def undo(self) -> bool:
        """Go back to the version before the last edit (or load)."""
        if not self._undo:
            self._say("warning", "nothing to undo")
            return False
        description, self._hierarchy = self._undo.pop()
        self._say("ok", f"undid: {description}")
        return True

    # ------------------------------------------------------------------ nodes
    def rename(self, node: str, new: str) -> bool:
        """Rename ``node`` (label-map entries follow it)."""
        return self._edit(f"rename {node!r} to {new!r}", lambda h: h.rename_node(node, new))

    def set_label(self, node: str, label: str) -> bool:
        """Set the display label of ``node``."""
        return self._edit(f"set the display label of {node!r} to {label!r}",
                          lambda h: h.set_display_label(node, label))

    def add_child(self, parent: str, name: str, label: str | None = None) -> bool:
        """Add a leaf ``name`` under ``parent``; an empty ``label`` means the default label."""
        return self._edit(f"add {name!r} under {parent!r}",
                          lambda h: h.add_node(name, parent, label=label or None))

    def move(self, node: str, new_parent: str) -> bool:
        """Move ``node`` with its subtree under ``new_parent`` (cycles are refused)."""
        return self._edit(f"move {node!r} under {new_parent!r}", lambda h: h.move_node(node, new_parent))

    def affected_mappings(self, node: str, keep_children: bool = False) -> list[tuple[str, str, str]]:
        """``(dataset, raw label, target)`` of the label-map entries that deleting ``node``
        (alone with ``keep_children``, else with its subtree) would leave pointing nowhere."""
        h = self._hierarchy
        if node not in h:
            return []
        removed = {node} if keep_children else set(h.descendants(node, include_self=True))
        return [(ds, raw, target) for ds, lm in h.label_maps.items() for raw, target in lm.items()
                if target in removed]

    def delete(self, node: str, keep_children: bool = False, remap_to_parent: bool = False) -> bool:
        """Delete ``node`` with its subtree, or alone re-parenting its children (``keep_children``).

        Label-map entries pointing at deleted nodes make the edit fail (the message lists them)
        unless ``remap_to_parent`` points them at the deleted node's parent.
        """
        h = self._hierarchy
        parent = h.parent_of(node) if node in h else None
        affected = self.affected_mappings(node, keep_children)
        what = f"delete {node!r}" + (" (children re-parented)" if keep_children else " and its subtree")
        if remap_to_parent and affected:
            what += f", re-mapping {len(affected)} label-map entr{'y' if len(affected) == 1 else 'ies'} to {parent!r}"
        hint = (f" Tick 're-map to parent' to point them at {parent!r}."
                if affected and not remap_to_parent and parent is not None else "")
        return self._edit(what, lambda h: h.remove_node(node, keep_children=keep_children,
                                                        remap_to_parent=remap_to_parent), hint)

    # ------------------------------------------------------------------ label maps
    def set_mapping(self, dataset: str, raw: str, node: str | None) -> bool:
        """Map ``raw`` of ``dataset`` to ``node`` (``None`` = :data:`EXCLUDED`)."""
        target = "excluded" if node is EXCLUDED else repr(node)
        return self._edit(f"map {dataset}: {raw!r} -> {target}", lambda h: h.set_mapping(dataset, raw, node))

    def remove_mapping(self, dataset: str, raw: str) -> bool:
        return self._edit(f"remove {dataset}: {raw!r} from the label map",
                          lambda h: h.remove_mapping(dataset, raw))

    def add_label_map(self, dataset: str) -> bool:
        """Start an empty label map for a new dataset."""
        def edit(h: Hierarchy) -> None:
            if not dataset or dataset != dataset.strip():
                raise HierarchyError(f"dataset name {dataset!r} must be non-empty without outer spaces")
            if dataset in h.label_maps:
                raise HierarchyError(f"dataset {dataset!r} already has a label map")
            h.set_label_map(dataset, {})

        return self._edit(f"add a label map for dataset {dataset!r}", edit)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike | None = None) -> list[Path]:
        """Write the hierarchy (see :func:`save_hierarchy`); returns the paths written, ``[]``
        when it failed (the message says why)."""
        path = Path(path) if path not in (None, "") else self.path
        if path is None:
            self._say("error", "no file given: type a path ending in .json or .nwk")
            return []
        try:
            written = save_hierarchy(self._hierarchy, path)
        except (HierarchyError, OSError) as e:
            self._say("error", f"could not save {str(path)!r}: {e}")
            return []
        self.path = path
        names = " and ".join(str(p) for p in written)
        if path.suffix.lower() == ".json":
            self._say("ok", f"saved {names}")
        else:
            self._say("warning", f"saved {names}: Newick keeps the topology only (display labels "
                      "and label maps are not in it; save to a .json path to keep them)")
        return written

    def load(self, path: str | os.PathLike | None = None) -> bool:
        """Replace the hierarchy by the one in ``path`` (undoable)."""
        path = Path(path) if path not in (None, "") else self.path
        if path is None:
            self._say("error", "no file given: type a path ending in .json or .nwk")
            return False
        try:
            loaded = Hierarchy.read(path)
        except (HierarchyError, OSError) as e:
            self._say("error", f"could not load {str(path)!r}: {e}")
            return False
        self._push(f"load {str(path)!r}")
        self._hierarchy = loaded
        self.path = path
        if path.suffix.lower() == ".json":
            self._say("ok", f"loaded {str(path)!r}: {loaded!r}")
        else:
            self._say("warning", f"loaded {str(path)!r} (Newick: default display labels, no label maps)")
        return True
