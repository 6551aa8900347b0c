"""Reader for a manifest CSV: at least ``path`` and ``raw_label`` or ``node``.

- Relative paths are taken relative to the CSV's folder (``base=`` overrides).
- ``raw_label`` only: mapped through ``label_map`` (a hierarchy dataset name or a dict) or,
  when none is given, through the hierarchy's map named by each row's ``dataset``.
- ``node`` given (with or without ``raw_label``): used as is; each must be a node of the
  hierarchy (unknown nodes: :class:`UnknownLabelError` listing each with its count, or
  dropped and reported with ``unknown="drop"``). A missing ``raw_label`` becomes the node.
- ``dataset`` column missing: ``dataset=`` or the CSV's file stem. ``split``/``fold`` and any
  other column (crop boxes included) pass through.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import DataNotFoundError
from ..manifest import ManifestError, check_manifest, finish, resolve_label_map
from .common import hierarchy_or_default

TEXT_COLUMNS = ("path", "raw_label", "node", "dataset", "split")


def read_csv_manifest(root: str | os.PathLike, hierarchy: Hierarchy | None = None, unknown: str = "error",
                      label_map: str | Mapping | LabelMap | None = None, dataset: str | None = None,
                      base: str | os.PathLike | None = None) -> pd.DataFrame:
    """Manifest from the CSV file ``root`` (see the module docstring)."""
    csv_path = Path(root).expanduser().absolute()
    if not csv_path.is_file():
        raise DataNotFoundError(f"manifest file {str(csv_path)!r} does not exist")
    table = pd.read_csv(csv_path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False)
    if "path" not in table or not ({"raw_label", "node"} & set(table.columns)):
        raise ManifestError(f"{csv_path}: needs columns 'path' and 'raw_label' or 'node'; found {list(table.columns)}")
    if table.empty:
        raise ManifestError(f"{csv_path}: the manifest has no rows")
    folder = Path(base).expanduser().absolute() if base else csv_path.parent
    table["path"] = [p if os.path.isabs(p) else os.path.normpath(os.path.join(folder, p)) for p in table["path"]]
    if "dataset" not in table:
        table["dataset"] = dataset or csv_path.stem
    h = hierarchy_or_default(hierarchy)
    given = resolve_label_map(h, label_map, dataset or csv_path.stem) if label_map is not None else None
    parts = []
    for name, part in table.groupby("dataset", sort=False):
        part = part.drop(columns="dataset")
        if "node" in part:
            raw = part["raw_label"] if "raw_label" in part else part["node"]
            part = part.drop(columns=[c for c in ("raw_label",) if c in part]).rename(columns={"node": "raw_label"})
            part["_raw"] = raw
            lm = LabelMap(f"{name} (node column)", {n: n for n in h.nodes})
        else:
            lm = given if given is not None else h.label_map(str(name))
        out = finish(part, dataset=str(name), hierarchy=h, label_map=lm, unknown=unknown, source=str(csv_path))
        if "_raw" in out:
            out["raw_label"] = out.pop("_raw").astype(str)
        parts.append(out)
    return _concat(parts)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-dataset manifests, merging their reports."""
    reports = [p.attrs for p in parts]
    out = pd.concat(parts, ignore_index=True)
    keys = list(dict.fromkeys(k for r in reports for k in r["excluded"]))
    out.attrs = {"dataset": ",".join(r["dataset"] for r in reports), "source": reports[0]["source"],
                 "excluded": {k: [v for r in reports for v in r["excluded"].get(k, [""] * len(r["excluded"]["reason"]))]
                              for k in keys}}
    return check_manifest(out)
