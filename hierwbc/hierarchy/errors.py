"""Errors raised by :mod:`hierwbc.hierarchy`; each names the file, line, node or label at fault,
and an unknown name comes with the closest known ones (:func:`did_you_mean`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HierarchyError(ValueError):
    """A tree or label-map problem: a broken file, an invalid edit, an unknown node.

    The message always names what is at fault (``file:line:col``, the node name, or the
    ``dataset: raw label -> node`` entries concerned).
    """


class UnknownLabelError(HierarchyError):
    """Raw labels that a dataset's label map does not know.

    Attributes
    ----------
    dataset: the label map's dataset name.
    counts: ``{raw label: number of occurrences}`` for every unknown value.

    ``known`` (the map's raw labels) adds the closest known label to each unknown one.
    """

    def __init__(self, dataset: str, counts: dict[str, int], source: str | None = None,
                 known: Iterable[str] = ()):
        self.dataset = dataset
        self.counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
        known = list(known)
        listed = ", ".join(with_hint(f"{k!r} ({v})", k, known) for k, v in self.counts.items())
        where = f" in {source}" if source else ""
        super().__init__(
            f"{len(self.counts)} unknown raw label(s) for dataset {dataset!r}{where}: {listed}. "
            f"Add them to the label map (Hierarchy.set_mapping, or map them to None to exclude "
            f"them), or pass unknown='drop' to drop those rows explicitly."
        )


def did_you_mean(name: object, choices: Iterable[str], n: int = 1) -> str:
    """``"did you mean a?"`` naming the choice closest to ``name`` (the ``n`` closest: ``"did you
    mean a or b?"``) by :func:`difflib.get_close_matches`, ignoring case; ``""`` when none is close.

    >>> did_you_mean("lymphocyte_typicl", ["lymphocyte_typical", "monocyte"])
    'did you mean lymphocyte_typical?'
    """
    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(str(choice).casefold(), str(choice))
    close = [by_key[k] for k in difflib.get_close_matches(str(name).casefold(), list(by_key), n=n)]
    if not close:
        return ""
    names = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f"did you mean {names}?"


def with_hint(text: str, name: object, choices: Iterable[str]) -> str:
    """``text`` followed by :func:`did_you_mean`'s hint for ``name`` in parentheses, when there
    is one (for entries of a list of unknown names)."""
    hint = did_you_mean(name, choices)
    return f"{text} ({hint})" if hint else text


def unknown_node_error(name: object, nodes: Iterable[str]) -> HierarchyError:
    """The error for a node name not in the tree, suggesting the closest node name:
    ``no node named 'lymphocyte_typicl' in the hierarchy; did you mean lymphocyte_typical?``."""
    hint = did_you_mean(name, nodes)
    return HierarchyError(f"no node named {name!r} in the hierarchy" + (f"; {hint}" if hint else ""))
