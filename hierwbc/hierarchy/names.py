"""Node names and display labels: the rules every module of :mod:`hierwbc.hierarchy` shares.

A leaf module (it imports only :mod:`.errors`), so that :mod:`.tree` and :mod:`.edits` both
use it without importing each other.
"""

from __future__ import annotations

import re

from .errors import HierarchyError

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def default_label(name: str) -> str:
    """The display label a node gets when none is given: its name with spaces."""
    return name.replace("_", " ")


def check_name(name: object) -> str:
    """``name`` if it is a valid node name; :class:`HierarchyError` otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise HierarchyError(
            f"invalid node name {name!r}: names are identifiers of letters, digits and _ . + - "
            "(use the display label for free text)"
        )
    return name
