"""The manifest: one pandas DataFrame row per labelled image (or image crop).

Schema (every reader returns it; :func:`check_manifest` enforces it)

==============  ========  ==========================================================
column          dtype     meaning
==============  ========  ==========================================================
``path``        str       absolute path of the image file
``dataset``     str       dataset name (``pbc``, ``bccd``, ``synthetic``, ...)
``raw_label``   str       the label as the dataset spells it (file prefix, CSV code)
``node``        str       node name in the hierarchy (leaf, or internal = coarse label)
``split``       str       ``""`` until assigned (:func:`hierwbc.datasets.assign_splits`)
``fold``        int64     ``-1`` until assigned (:func:`hierwbc.datasets.assign_folds`)
``box_xmin`` …  float64   optional crop box, all four or none: ``box_xmin, box_ymin,
                          box_xmax, box_ymax`` in pixels, 0-based, end exclusive (PIL's
                          ``Image.crop`` convention); NaN = the whole image
==============  ========  ==========================================================

Readers add their own columns (``folder``, ``source_image``, ``field``, ``image_id``, ...).

Reporting: ``manifest.attrs`` holds ``dataset``, ``source`` and ``excluded``, a column-wise
table (dict of equal-length lists; see :func:`excluded_table`) with one record per file,
field or row left out, each with a ``reason`` (e.g. ``excluded_label``: the label map
excludes it; ``unknown_label``: dropped by ``unknown="drop"``; ``dot_file``; reader-specific
reasons such as BCCD's ``empty_category``) and a human-readable ``detail``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hierwbc.hierarchy import (
    Hierarchy,
    HierarchyError,
    LabelMap,
    UnknownLabelError,
)
from hierwbc.hierarchy.errors import did_you_mean, with_hint
from hierwbc.io import atomic_write_text

COLUMNS = ("path", "dataset", "raw_label", "node", "split", "fold")
BOX_COLUMNS = ("box_xmin", "box_ymin", "box_xmax", "box_ymax")
UNASSIGNED_SPLIT = ""
UNASSIGNED_FOLD = -1
UNKNOWN_MODES = ("error", "drop")


class ManifestError(ValueError):
    """A manifest that breaks the schema; the message names the columns and rows at fault."""


def _rows(mask: np.ndarray, df: pd.DataFrame, limit: int = 5) -> str:
    idx = list(df.index[mask][:limit])
    more = int(mask.sum()) - len(idx)
    return f"{idx}" + (f" and {more} more" if more > 0 else "")


def check_manifest(df: pd.DataFrame, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Raise :class:`ManifestError` unless ``df`` follows the schema; returns ``df``.

    With a ``hierarchy``, every ``node`` must be one of its nodes (the error lists each
    unknown node with its count).
    """
    if not isinstance(df, pd.DataFrame):
        raise ManifestError(f"a manifest is a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"manifest lacks column(s) {missing}; required: {list(COLUMNS)}")
    for col in ("path", "dataset", "raw_label", "node", "split"):
        values = df[col].to_numpy(dtype=object)
        bad = np.array([not isinstance(v, str) for v in values], dtype=bool)
        if bad.any():
            raise ManifestError(f"column {col!r} must hold strings; rows {_rows(bad, df)} do not "
                                f"(e.g. {values[bad][0]!r})")
        if col != "split" and col != "raw_label":
            empty = values == ""
            if empty.any():
                raise ManifestError(f"column {col!r} is empty in rows {_rows(empty, df)}")
    paths = df["path"].to_numpy(dtype=object)
    relative = np.array([not os.path.isabs(p) for p in paths], dtype=bool)
    if relative.any():
        raise ManifestError(f"paths must be absolute; rows {_rows(relative, df)} are not "
                            f"(e.g. {paths[relative][0]!r})")
    if not pd.api.types.is_integer_dtype(df["fold"]):
        raise ManifestError(f"column 'fold' must be integers (-1 = unassigned), not {df['fold'].dtype}")
    present = [c for c in BOX_COLUMNS if c in df.columns]
    if present and len(present) != 4:
        raise ManifestError(f"crop box columns come all four or none: have {present}")
    if present:
        box = df[list(BOX_COLUMNS)].to_numpy(dtype=float)
        nan = np.isnan(box)
        partial = nan.any(1) & ~nan.all(1)
        if partial.any():
            raise ManifestError(f"crop box partly missing in rows {_rows(partial, df)}")
        full = ~nan.any(1)
        empty = full & ((box[:, 2] <= box[:, 0]) | (box[:, 3] <= box[:, 1]))
        if empty.any():
            raise ManifestError(f"crop box with xmax <= xmin or ymax <= ymin in rows {_rows(empty, df)}")
    key = df[["path", *present]]
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        raise ManifestError(f"the same image{' and box' if present else ''} appears more than once: "
                            f"rows {_rows(dup, df)} (e.g. {paths[dup][0]!r})")
    if hierarchy is not None:
        nodes = df["node"].to_numpy(dtype=object)
        unknown = np.array([n not in hierarchy for n in nodes], dtype=bool) if len(nodes) else np.zeros(0, bool)
        if unknown.any():
            counts = pd.Series(nodes[unknown]).value_counts().to_dict()
            hints = [f"{n!r}: {hint}" for n in counts if (hint := did_you_mean(n, hierarchy.nodes))]
            raise ManifestError(f"node(s) not in the hierarchy: {counts}"
                                + (f"; {', '.join(hints)}" if hints else ""))
    return df


def boxes(df: pd.DataFrame) -> np.ndarray:
    """Crop boxes ``[n, 4]`` float (``xmin, ymin, xmax, ymax``); NaN rows = whole image."""
    if all(c in df.columns for c in BOX_COLUMNS):
        return df[list(BOX_COLUMNS)].to_numpy(dtype=float)
    return np.full((len(df), 4), np.nan)


def resolve_label_map(hierarchy: Hierarchy, label_map: str | Mapping | LabelMap, dataset: str) -> LabelMap:
    """A :class:`LabelMap`: the hierarchy's map of that name, or one built from a dict
    ``{raw label: node or None}`` whose nodes must all be in the hierarchy."""
    if isinstance(label_map, LabelMap):
        lm = label_map
    elif isinstance(label_map, str):
        return hierarchy.label_map(label_map)
    elif isinstance(label_map, Mapping):
        lm = LabelMap(dataset, dict(label_map))
    else:
        raise TypeError(f"label_map must be a dataset name, a dict or a LabelMap, not {type(label_map).__name__}")
    broken = [with_hint(f"{raw!r} -> {node!r}", node, hierarchy.nodes)
              for raw, node in lm.items() if node is not None and node not in hierarchy]
    if broken:
        raise HierarchyError(f"label map {lm.dataset!r} points at nodes not in the hierarchy: {'; '.join(broken)}")
    return lm


def finish(frame: pd.DataFrame, *, dataset: str, hierarchy: Hierarchy, label_map: LabelMap,
           unknown: str, source: str, excluded: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Map ``frame.raw_label`` to nodes and return a checked manifest with its report.

    ``frame`` has ``path``, ``raw_label`` and any reader columns. Rows whose label the map
    excludes are removed and recorded (``excluded_label``); unknown labels raise
    :class:`UnknownLabelError` (``unknown="error"``) or are removed, recorded
    (``unknown_label``) and warned about (``unknown="drop"``).
    """
    if unknown not in UNKNOWN_MODES:
        raise ValueError(f"unknown must be one of {UNKNOWN_MODES}, not {unknown!r}")
    records = [dict(r) for r in excluded]
    frame = frame.reset_index(drop=True)
    raw = frame["raw_label"].astype(str).to_numpy(dtype=object)
    mapped = label_map.map(raw, unknown="keep")
    if mapped.unknown.any() and unknown == "error":
        raise UnknownLabelError(label_map.dataset, mapped.unknown_counts, source,
                                known=[raw for raw, _ in label_map.items()])
    for mask, reason, why in ((mapped.excluded, "excluded_label", "excluded by the label map"),
                              (mapped.unknown, "unknown_label", "not in the label map; dropped (unknown='drop')")):
        records += [{"reason": reason, "path": p, "raw_label": r, "detail": f"{r!r} {why}"}
                    for p, r in zip(frame["path"].to_numpy()[mask], raw[mask])]
    if mapped.unknown.any():
        warnings.warn(f"dataset {dataset!r} ({source}): dropped {int(mapped.unknown.sum())} row(s) with unknown "
                      f"raw labels {mapped.unknown_counts} (unknown='drop'); see manifest.attrs['excluded']",
                      stacklevel=3)
    keep = ~(mapped.excluded | mapped.unknown)
    out = frame.loc[keep].copy()
    out.insert(1, "dataset", dataset)
    out["raw_label"] = raw[keep].astype(str)
    out.insert(3, "node", mapped.nodes[keep].astype(object))
    if "split" not in out:
        out["split"] = UNASSIGNED_SPLIT
    if "fold" not in out:
        out["fold"] = UNASSIGNED_FOLD
    out["fold"] = out["fold"].astype(np.int64)
    out = out[list(COLUMNS) + [c for c in out.columns if c not in COLUMNS]].reset_index(drop=True)
    out.attrs = {"dataset": dataset, "source": str(source), "excluded": _columnar(records)}
    return check_manifest(out, hierarchy)


def _columnar(records: Sequence[Mapping]) -> dict[str, list]:
    keys = ["reason", "path", "raw_label", "detail"]
    for r in records:
        keys += [k for k in r if k not in keys]
    return {k: [r.get(k, "") for r in records] for k in keys}


def excluded_table(df: pd.DataFrame) -> pd.DataFrame:
    """Everything a reader left out, one row each: ``reason, path, raw_label, detail, ...``."""
    return pd.DataFrame(df.attrs.get("excluded") or {"reason": [], "path": [], "raw_label": [], "detail": []})


def excluded_counts(df: pd.DataFrame) -> dict[str, int]:
    """``{reason: number of files/fields/rows left out}``."""
    return excluded_table(df)["reason"].value_counts().to_dict()


def write_manifest(df: pd.DataFrame, path: str | os.PathLike, relative: bool = False) -> None:
    """Write a manifest as CSV atomically (read it back with ``read_dataset("csv", path)``);
    ``relative=True`` stores paths relative to the CSV's folder."""
    check_manifest(df)
    if relative:
        folder = os.path.dirname(os.path.abspath(path))
        df = df.assign(path=[os.path.relpath(p, folder) for p in df["path"]])
    atomic_write_text(path, df.to_csv(index=False))
