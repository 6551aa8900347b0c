"""Turn ``--data`` specifications into one manifest: the names users type on the command line.

A source is one of

- a reader / real dataset name: ``pbc``, ``bccd``, ``segmentation_wbc`` (found under the data
  location);
- a manifest CSV file: ``path/to/manifest.csv``;
- a folder: a real dataset's own folder (its layout is recognised), or a folder of class
  sub-folders, mapped through ``folder:label_map`` (a label map of the hierarchy, e.g.
  ``/data/raabin:raabin``) or, without one, through sub-folder names that are node names.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy
from hierwbc.hierarchy.errors import did_you_mean

from .manifest import check_manifest
from .read import READERS, REAL_DATASETS, read_dataset


def read_source(spec: str, root: str | os.PathLike | None = None, hierarchy: Hierarchy | None = None,
                unknown: str = "error") -> pd.DataFrame:
    """The manifest of one source specification (see the module docstring)."""
    from ..hierarchy import default_hierarchy

    h = hierarchy if hierarchy is not None else default_hierarchy()
    if spec in READERS and spec not in ("image_folder", "csv"):
        return read_dataset(spec, root, hierarchy=h, unknown=unknown)
    path_text, _, label_map = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path = Path(path_text).expanduser()
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_dataset("csv", path, hierarchy=h, unknown=unknown)
    if path.is_dir():
        if label_map:
            return read_dataset("image_folder", path, hierarchy=h, unknown=unknown, label_map=label_map)
        for name, locate in REAL_DATASETS.items():
            if locate(path, required=False) is not None and name in path.name.lower() + str(path).lower():
                return read_dataset(name, path, hierarchy=h, unknown=unknown)
        identity = {n: n for n in h.nodes}
        return read_dataset("image_folder", path, hierarchy=h, unknown=unknown, label_map=identity,
                            dataset=path.name)
    hint = did_you_mean(spec, REAL_DATASETS)
    raise FileNotFoundError(
        f"data source {spec!r} is neither a dataset name ({', '.join(sorted(REAL_DATASETS))}), "
        "a manifest .csv file, nor a folder" + (f"; {hint}" if hint else ""))


def read_sources(specs: list[str] | str, root: str | os.PathLike | None = None,
                 hierarchy: Hierarchy | None = None, unknown: str = "error") -> pd.DataFrame:
    """One manifest from several sources (rows concatenated; each reader's report kept in
    ``attrs["sources"]``)."""
    specs = [specs] if isinstance(specs, str) else list(specs)
    if not specs:
        raise ValueError("no data source given")
    parts = [read_source(s, root, hierarchy, unknown) for s in specs]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
    out.attrs = {"dataset": ",".join(str(p.attrs.get("dataset", s)) for p, s in zip(parts, specs)),
                 "sources": {s: dict(p.attrs) for p, s in zip(parts, specs)},
                 "excluded": parts[0].attrs.get("excluded") if len(parts) == 1 else None}
    return check_manifest(out, hierarchy)
