"""Counts for people: images per raw label and per mapped node, and a text summary of a
manifest with what its reader left out (used by ``hierwbc demo``)."""

from __future__ import annotations

import pandas as pd

from hierwbc.hierarchy import Hierarchy

from .manifest import excluded_counts, excluded_table


def count_table(manifest: pd.DataFrame, by: str | tuple[str, ...] = ("dataset", "raw_label", "node"),
                hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Rows per distinct ``by`` combination, column ``count``.

    Default: one row per (dataset, raw label, node); ``by="node"`` counts per mapped node. Rows
    are in hierarchy node order when a hierarchy is given and ``node`` is grouped on, else by
    decreasing count.
    """
    by = [by] if isinstance(by, str) else list(by)
    table = manifest.groupby(by, sort=False, dropna=False).size().rename("count").reset_index()
    if hierarchy is not None and "node" in by:
        order = table["node"].map(hierarchy.node_index)
        table = table.assign(_o=order).sort_values(["_o", *[c for c in by if c != "node"]], kind="stable")
        return table.drop(columns="_o").reset_index(drop=True)
    return table.sort_values(["count", *by], ascending=[False] + [True] * len(by), kind="stable").reset_index(drop=True)


def summary(manifest: pd.DataFrame, hierarchy: Hierarchy | None = None) -> str:
    """A few lines: row count and source, images per raw label -> node, per node, and the
    reader's exclusions by reason (with the first few files of each)."""
    name = manifest.attrs.get("dataset") or ",".join(sorted(manifest["dataset"].unique()))
    lines = [f"{name}: {len(manifest):,} images" + (f" from {manifest.attrs['source']}"
                                                   if manifest.attrs.get("source") else "")]
    lines.append("  per raw label -> node:")
    for r in count_table(manifest, ("raw_label", "node"), hierarchy).itertuples():
        lines.append(f"    {r.raw_label:<24} -> {r.node:<28} {r.count:>7,}")
    lines.append("  per node:")
    for r in count_table(manifest, "node", hierarchy).itertuples():
        lines.append(f"    {r.node:<28} {r.count:>7,}")
    counts = excluded_counts(manifest)
    if counts:
        table = excluded_table(manifest)
        lines.append(f"  left out: {sum(counts.values()):,} ({', '.join(f'{k} {v}' for k, v in counts.items())})")
        for reason, group in table.groupby("reason", sort=False):
            shown = ", ".join(f"{p.rsplit('/', 1)[-1]}" for p in group["path"].head(5))
            more = f" ... (+{len(group) - 5})" if len(group) > 5 else ""
            lines.append(f"    {reason}: {shown}{more}")
    return "\n".join(lines)
