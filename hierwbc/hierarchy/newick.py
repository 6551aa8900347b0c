"""A small, strict Newick reader and writer for named trees.

Newick is parsed here (not by ete3) so that a broken file gives a :class:`HierarchyError`
naming ``line:column`` and the token at fault. Branch lengths and ``[comments]`` are read and
ignored (the hierarchy is a topology); names may be quoted (``'band neutrophil'``, ``''``
escapes a quote). Every node, the root included, must be named.

The parsed form is a nested ``(name, [children])`` tuple, turned into an ete3 tree by
:mod:`hierwbc.hierarchy.tree`.
"""

from __future__ import annotations

import re

from .errors import HierarchyError

Node = tuple[str, list["Node"]]
_PLAIN = re.compile(r"[^\s(),:;\[\]']+")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class _Reader:
    def __init__(self, text: str, source: str):
        self.text, self.source, self.pos = text, source, 0

    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"{self.source}:{line}:{col}"

    def fail(self, msg: str, pos: int | None = None) -> HierarchyError:
        pos = self.pos if pos is None else pos
        near = self.text[pos : pos + 20].split("\n")[0]
        return HierarchyError(f"{self.where(pos)}: {msg} (near {near!r})" if near else f"{self.where(pos)}: {msg}")

    def skip(self) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch.isspace():
                self.pos += 1
            elif ch == "[":
                end = self.text.find("]", self.pos)
                if end < 0:
                    raise self.fail("unclosed [comment]")
                self.pos = end + 1
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def name(self) -> str:
        self.skip()
        if self.peek() == "'":
            out, i = [], self.pos + 1
            while True:
                j = self.text.find("'", i)
                if j < 0:
                    raise self.fail("unclosed quoted name")
                out.append(self.text[i:j])
                if self.text.startswith("''", j):
                    out.append("'")
                    i = j + 2
                    continue
                self.pos = j + 1
                return "".join(out)
        m = _PLAIN.match(self.text, self.pos)
        if not m:
            return ""
        self.pos = m.end()
        return m.group(0)

    def node(self, depth: int) -> Node:
        if depth > 500:
            raise self.fail("tree nested too deeply")
        children: list[Node] = []
        start = self.pos
        if self.peek() == "(":
            self.pos += 1
            while True:
                children.append(self.node(depth + 1))
                ch = self.peek()
                if ch == ",":
                    self.pos += 1
                    continue
                if ch == ")":
                    self.pos += 1
                    break
                raise self.fail("expected ',' or ')'" if ch else f"unclosed '(' opened at {self.where(start)}")
        name_pos = self.pos
        name = self.name()
        if self.peek() == ":":
            self.pos += 1
            self.skip()
            m = _NUMBER.match(self.text, self.pos)
            if not m:
                raise self.fail("expected a branch length after ':'")
            self.pos = m.end()
        if not name:
            what = "an internal node" if children else "a leaf"
            raise self.fail(f"{what} has no name (every node of a hierarchy is named)", name_pos)
        return name, children


def parse_newick(text: str, source: str = "<newick>") -> Node:
    """Parse one named Newick tree into nested ``(name, children)`` tuples.

    Raises :class:`HierarchyError` naming ``source:line:col`` for any syntax error, an unnamed
    node, a missing ``;`` or trailing text.
    """
    r = _Reader(text, source)
    if not r.peek():
        raise r.fail("empty Newick text")
    root = r.node(0)
    if r.peek() != ";":
        raise r.fail("expected ';' at the end of the tree" if not r.peek() else "unexpected text")
    r.pos += 1
    if r.peek():
        raise r.fail("text after the final ';'")
    return root


def quote_name(name: str) -> str:
    """Quote a node name for Newick when it is not a plain token."""
    if _PLAIN.fullmatch(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def format_newick(node: Node) -> str:
    """Write nested ``(name, children)`` tuples as Newick, root named, ending in ``;``."""

    def fmt(n: Node) -> str:
        name, children = n
        inner = "(" + ",".join(fmt(c) for c in children) + ")" if children else ""
        return inner + quote_name(name)

    return fmt(node) + ";"
