"""The hierarchy's label maps as pandas tables (for notebooks)."""

from __future__ import annotations

import pandas as pd

from hierwbc.hierarchy import Hierarchy

COLUMNS = ["dataset", "raw label", "node", "display label", "lineage"]


def label_map_frame(hierarchy: Hierarchy, dataset: str | None = None) -> pd.DataFrame:
    """One row per label-map entry: dataset, raw label, node (``None`` = excluded), its display
    label (``"(excluded)"``) and lineage, in the maps' stored order. ``dataset`` keeps one map
    (an unknown dataset raises :class:`HierarchyError` naming the known ones)."""
    maps = [hierarchy.label_map(dataset)] if dataset is not None else list(hierarchy.label_maps.values())
    rows = [(lm.dataset, raw, node,
             "(excluded)" if node is None else hierarchy.label(node),
             None if node is None else hierarchy.lineage_of(node))
            for lm in maps for raw, node in lm.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def label_map_summary(hierarchy: Hierarchy) -> pd.DataFrame:
    """Per dataset: number of entries, of excluded entries, of distinct target nodes, and the
    lineages the map reaches (comma-separated, in tree order)."""
    frame = label_map_frame(hierarchy)
    order = {name: i for i, name in enumerate(hierarchy.lineages)}
    rows = []
    for ds in hierarchy.label_maps:
        part = frame[frame["dataset"] == ds]
        lineages = sorted({x for x in part["lineage"] if x is not None}, key=order.__getitem__)
        rows.append((ds, len(part), int(part["node"].isna().sum()), part["node"].nunique(),
                     ", ".join(lineages)))
    return pd.DataFrame(rows, columns=["dataset", "entries", "excluded", "nodes", "lineages"]).set_index("dataset")
