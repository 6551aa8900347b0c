"""The cells to label: a folder of images (recursive), a manifest CSV or a DataFrame -> one row per
image, with its ``folder`` and its true label when one is given."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.manifest import BOX_COLUMNS, ManifestError, resolve_label_map
from ..datasets.readers.common import IMAGE_EXTENSIONS, scan_images
from ..hierarchy import Hierarchy


def read_cells(source, hierarchy: Hierarchy, label_map=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(cells, skipped)``: one row per image of a folder (recursive) or per row of a manifest,
    a CSV file or a DataFrame (``path``; relative paths from the CSV's folder, or the working
    directory for a DataFrame), with ``folder``, ``node`` (true label or "") and crop boxes when
    the manifest has them; ``skipped`` lists non-image and hidden files."""
    skipped = pd.DataFrame(columns=["reason", "path", "detail"])
    src = Path("manifest") if isinstance(source, pd.DataFrame) else Path(source).expanduser().absolute()
    if isinstance(source, pd.DataFrame):
        table = source.reset_index(drop=True).astype({"path": str}) if "path" in source else source
        cells, raw = _cells_from_table(table, Path.cwd(), "the manifest DataFrame", hierarchy, label_map)
    elif src.is_dir():
        images, records = scan_images(src, recursive=True)
        rel = [os.path.relpath(p, src).split(os.sep) for p in images]
        cells = pd.DataFrame({"path": images, "folder": [r[0] if len(r) > 1 else "" for r in rel]})
        raw = cells["folder"]
        skipped = pd.DataFrame(records, columns=["reason", "path", "detail"]) if records else skipped
    elif src.is_file():
        table = pd.read_csv(src, dtype=str, keep_default_na=False)
        cells, raw = _cells_from_table(table, src.parent, str(src), hierarchy, label_map)
    else:
        raise FileNotFoundError(f"{str(src)!r} is neither a folder of images nor a manifest CSV file")
    if cells.empty:
        what = "the manifest DataFrame" if isinstance(source, pd.DataFrame) else str(src)
        listed = f"; skipped: {', '.join(skipped['path'].astype(str).head(3))}" if len(skipped) else ""
        raise ManifestError(f"{what}: no images found (recognised: {', '.join(sorted(IMAGE_EXTENSIONS))}){listed}")
    if label_map is not None:
        lm = resolve_label_map(hierarchy, label_map, str(label_map) if isinstance(label_map, str) else src.name)
        mapped = lm.map(raw.astype(str).to_numpy(), unknown="keep")
        cells["node"] = np.where(pd.isna(mapped.nodes), "", mapped.nodes).astype(object)
    return cells.reset_index(drop=True), skipped


def _cells_from_table(table: pd.DataFrame, base: Path, name: str, hierarchy: Hierarchy, label_map):
    """``(cells, raw labels)`` of a manifest table; relative paths are taken from ``base``."""
    if "path" not in table:
        raise FileNotFoundError(f"{name}: a manifest needs a 'path' column; found {list(table.columns)}")
    paths = [p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p)) for p in table["path"]]
    folder = table["folder"].astype(str) if "folder" in table else pd.Series("", index=table.index)
    cells = pd.DataFrame({"path": paths, "folder": folder})
    for c in BOX_COLUMNS:
        if c in table:
            cells[c] = pd.to_numeric(table[c].replace("", np.nan))
    raw = table["raw_label"] if "raw_label" in table else cells["folder"]
    if "node" in table and label_map is None:
        given = table["node"].to_numpy(dtype=object)
        cells["node"] = np.where([n in hierarchy for n in given], given, "")
    return cells, raw
