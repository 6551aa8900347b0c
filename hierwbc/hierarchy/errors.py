"""Errors raised by :mod:`hierwbc.hierarchy`; each names the file, line, node or label at fault."""

from __future__ import annotations


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
    """

    def __init__(self, dataset: str, counts: dict[str, int], source: str | None = None):
        self.dataset = dataset
        self.counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
        listed = ", ".join(f"{k!r} ({v})" for k, v in self.counts.items())
        where = f" in {source}" if source else ""
        super().__init__(
            f"{len(self.counts)} unknown raw label(s) for dataset {dataset!r}{where}: {listed}. "
            f"Add them to the label map (Hierarchy.set_mapping, or map them to None to exclude "
            f"them), or pass unknown='drop' to drop those rows explicitly."
        )
