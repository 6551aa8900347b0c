"""A :class:`Hierarchy` stored in an AnnData's ``uns``: the one codec for ``uns["hierarchy"]``.

``embed`` writes ``uns["hierarchy"] = {"newick": ..., "json": ...}`` (:func:`hierarchy_to_uns`);
``evaluate``, ``plotting`` and ``predict`` read it back (:func:`hierarchy_from_uns`). The JSON
is the full record (topology, display labels, label maps); the Newick is for a human or another
tool. Works on any mapping, so this module needs no AnnData.

>>> uns = {"hierarchy": hierarchy_to_uns(h)}                        # doctest: +SKIP
>>> hierarchy_from_uns(uns) == h                                     # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Mapping

from .tree import Hierarchy

UNS_KEY = "hierarchy"


def hierarchy_to_uns(h: Hierarchy) -> dict[str, str]:
    """``{"newick", "json"}`` texts of ``h``, the value to store as ``uns["hierarchy"]``."""
    return {"newick": h.to_newick(), "json": h.to_json()}


def hierarchy_from_uns(uns: Mapping, source: str = f"adata.uns[{UNS_KEY!r}]") -> Hierarchy | None:
    """The hierarchy stored in ``uns`` (an AnnData's ``.uns``), or None when it holds none.

    ``uns["hierarchy"]`` is the dict :func:`hierarchy_to_uns` writes or, as older files have
    it, the JSON text alone. ``source`` names the place in errors (a malformed record raises
    :class:`~hierwbc.hierarchy.HierarchyError`).
    """
    stored = uns.get(UNS_KEY) if uns is not None else None
    if stored is None:
        return None
    text = stored.get("json") if isinstance(stored, Mapping) else stored
    return Hierarchy.from_json(str(text), source=source)
