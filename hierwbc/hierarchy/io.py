"""Reading and writing a :class:`Hierarchy`: Newick (topology, root named) and JSON (topology,
display labels and label maps). Both round-trip exactly; nothing is ever unpickled.

JSON form::

    {"format": "hierwbc.hierarchy", "version": 1,
     "tree": {"name": "wbc", "label": "white blood cell",
              "children": [{"name": "lymphopoiesis", "label": "...", "children": [...]}, ...]},
     "label_maps": {"pbc": {"BA": "basophil", ...}, "bmc": {"NIF": null, ...}}}

``null`` marks an excluded label.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..io import atomic_write_text
from .errors import HierarchyError
from .newick import Node, format_newick, parse_newick

FORMAT = "hierwbc.hierarchy"
VERSION = 1
NEWICK_SUFFIXES = {".nwk", ".newick", ".tree", ".tre", ".txt"}


def _build_ete(nested: Node):
    from ete3 import Tree

    root = Tree(name=nested[0])
    stack = [(root, nested[1])]
    while stack:
        parent, children = stack.pop()
        for name, grandchildren in children:
            stack.append((parent.add_child(name=name), grandchildren))
    return root


def _nested(node) -> Node:
    return node.name, [_nested(c) for c in node.children]


def _parse_json_tree(obj, where: str, labels: dict[str, str], source: str) -> Node:
    if not isinstance(obj, dict):
        raise HierarchyError(f"{source}: {where}: a node must be an object, got {type(obj).__name__}")
    extra = set(obj) - {"name", "label", "children"}
    if extra:
        raise HierarchyError(f"{source}: {where}: unknown key(s) {sorted(extra)}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise HierarchyError(f"{source}: {where}: missing or non-string 'name'")
    where = f"{where} ({name!r})"
    if "label" in obj:
        if not isinstance(obj["label"], str):
            raise HierarchyError(f"{source}: {where}: 'label' must be a string")
        if name in labels:
            raise HierarchyError(f"{source}: {where}: duplicate node name {name!r}")
        labels[name] = obj["label"]
    children = obj.get("children", [])
    if not isinstance(children, list):
        raise HierarchyError(f"{source}: {where}: 'children' must be a list")
    return name, [_parse_json_tree(c, f"{where}.children[{i}]", labels, source) for i, c in enumerate(children)]


class IOMixin:
    """Newick / JSON conversion for :class:`Hierarchy`."""

    # ---- Newick
    def to_newick(self) -> str:
        return format_newick(_nested(self.tree))

    @classmethod
    def from_newick(cls, text: str, source: str = "<newick>"):
        return cls._from_nested(parse_newick(text, source), source=source)

    # ---- dict / JSON
    def to_dict(self) -> dict:
        def node(n) -> dict:
            d = {"name": n.name, "label": n.label}
            if n.children:
                d["children"] = [node(c) for c in n.children]
            return d

        return {"format": FORMAT, "version": VERSION, "tree": node(self.tree),
                "label_maps": {ds: lm.as_dict() for ds, lm in self.label_maps.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict, source: str = "<dict>"):
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise HierarchyError(f"{source}: not a hierwbc hierarchy (expected \"format\": \"{FORMAT}\")")
        if d.get("version") != VERSION:
            raise HierarchyError(f"{source}: unsupported hierarchy version {d.get('version')!r}")
        extra = set(d) - {"format", "version", "tree", "label_maps"}
        if extra:
            raise HierarchyError(f"{source}: unknown top-level key(s) {sorted(extra)}")
        labels: dict[str, str] = {}
        nested = _parse_json_tree(d.get("tree"), "tree", labels, source)
        maps = d.get("label_maps", {})
        if not isinstance(maps, dict):
            raise HierarchyError(f"{source}: 'label_maps' must be an object")
        for ds, entries in maps.items():
            if not isinstance(entries, dict):
                raise HierarchyError(f"{source}: label_maps.{ds} must be an object")
            for raw, node in entries.items():
                if node is not None and not isinstance(node, str):
                    raise HierarchyError(f"{source}: label_maps.{ds}.{raw}: node must be a string or null")
        return cls._from_nested(nested, labels, maps, source)

    @classmethod
    def from_json(cls, text: str, source: str = "<json>"):
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise HierarchyError(f"{source}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        return cls.from_dict(d, source)

    @classmethod
    def _from_nested(cls, nested: Node, labels=None, maps=None, source: str = "<tree>"):
        try:
            return cls(_build_ete(nested), labels, maps)
        except HierarchyError as e:
            raise HierarchyError(f"{source}: {e}") from None

    # ---- files
    @classmethod
    def read(cls, path: str | os.PathLike):
        """Read a ``.json`` hierarchy or a Newick file (``.nwk``, ``.newick``, ``.tree``, ...)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise HierarchyError(f"{path}: no such hierarchy file") from None
        except UnicodeDecodeError as e:
            raise HierarchyError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
        if path.suffix.lower() == ".json":
            return cls.from_json(text, str(path))
        return cls.from_newick(text, str(path))

    def write(self, path: str | os.PathLike) -> Path:
        """Write atomically: JSON for ``.json`` (everything), else Newick (topology only)."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            atomic_write_text(path, self.to_json())
        elif path.suffix.lower() in NEWICK_SUFFIXES:
            atomic_write_text(path, self.to_newick() + "\n")
        else:
            raise HierarchyError(f"{path}: unknown hierarchy file type (use .json or .nwk)")
        return path
