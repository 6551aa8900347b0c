"""Per-dataset maps from raw labels to tree nodes.

A raw label matches an entry after trimming white space and case-folding; anything else is
unknown. An entry maps to a node name (a leaf, or an internal node for a coarse label) or to
``None`` (:data:`EXCLUDED`): a known label deliberately not used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..deprecation import renamed_attributes
from .errors import HierarchyError, UnknownLabelError

EXCLUDED = None
"""The target of a label-map entry that is known but deliberately not used."""


def normalize_label(raw: object) -> str:
    """The matching key of a raw label: ``str(raw).strip().casefold()``."""
    return str(raw).strip().casefold()


@dataclass(frozen=True)
class MappedLabels:
    """The result of mapping raw labels: one entry per input label.

    ``nodes``: object array of node names (``None`` where excluded or unknown);
    ``excluded`` / ``unknown``: bool masks.
    """

    dataset: str
    raw: np.ndarray
    nodes: np.ndarray
    excluded: np.ndarray
    unknown: np.ndarray

    def counts(self, mask: np.ndarray) -> dict[str, int]:
        return dict(Counter(str(r) for r in self.raw[mask]))

    @property
    def unknown_counts(self) -> dict[str, int]:
        return self.counts(self.unknown)

    @property
    def excluded_counts(self) -> dict[str, int]:
        return self.counts(self.excluded)


class LabelMap:
    """Raw label -> node name (or ``None``) for one dataset; keys keep their spelling."""

    def __init__(self, dataset: str, entries: Mapping[str, str | None] | None = None):
        self.dataset = dataset
        self._entries: dict[str, str | None] = {}
        self._keys: dict[str, str] = {}
        for raw, node in (entries or {}).items():
            self.set(raw, node)

    def set(self, raw: object, node: str | None) -> None:
        key = normalize_label(raw)
        if not key:
            raise HierarchyError(f"label map {self.dataset!r}: empty raw label")
        old = self._keys.get(key)
        if old is not None and old != str(raw).strip():
            del self._entries[old]
        self._keys[key] = str(raw).strip()
        self._entries[str(raw).strip()] = node

    def remove(self, raw: object) -> None:
        key = normalize_label(raw)
        if key not in self._keys:
            raise HierarchyError(f"label map {self.dataset!r} has no entry {raw!r}")
        del self._entries[self._keys.pop(key)]

    def lookup(self, raw: object) -> str | None:
        """The node of one raw label (``None`` if excluded); ``KeyError`` if unknown."""
        return self._entries[self._keys[normalize_label(raw)]]

    def __contains__(self, raw: object) -> bool:
        return normalize_label(raw) in self._keys

    def items(self) -> Iterable[tuple[str, str | None]]:
        return self._entries.items()

    def as_dict(self) -> dict[str, str | None]:
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelMap) and self.dataset == other.dataset and self._entries == other._entries

    def map(self, raw_labels: Iterable[object], unknown: str = "error", source: str | None = None) -> MappedLabels:
        """Map many raw labels at once (one dictionary look-up per distinct value).

        ``unknown="error"`` raises :class:`UnknownLabelError` listing every unknown value with
        its count; ``unknown="keep"`` returns them flagged in ``MappedLabels.unknown``.
        """
        if unknown not in ("error", "keep"):
            raise ValueError(f"unknown must be 'error' or 'keep', not {unknown!r}")
        raw = np.asarray(list(raw_labels), dtype=object)
        distinct, inverse = np.unique(raw.astype(str), return_inverse=True)
        status = np.zeros(len(distinct), dtype=np.int8)  # 0 mapped, 1 excluded, 2 unknown
        targets = np.empty(len(distinct), dtype=object)
        for k, value in enumerate(distinct):
            if value in self:
                targets[k] = self.lookup(value)
                status[k] = 1 if targets[k] is None else 0
            else:
                status[k] = 2
        result = MappedLabels(
            dataset=self.dataset,
            raw=raw,
            nodes=targets[inverse] if len(raw) else np.empty(0, dtype=object),
            excluded=status[inverse] == 1 if len(raw) else np.zeros(0, bool),
            unknown=status[inverse] == 2 if len(raw) else np.zeros(0, bool),
        )
        if unknown == "error" and result.unknown.any():
            raise UnknownLabelError(self.dataset, result.unknown_counts, source, known=self._entries)
        return result

__getattr__ = renamed_attributes(__name__, {"normalise_label": "normalize_label"})
