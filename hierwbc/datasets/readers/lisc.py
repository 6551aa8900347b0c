"""Reader for LISC (Rezatofighi & Soltanian-Zadeh 2011, Comput Med Imaging Graph 35:333).

Layout of the public re-packaging: ``lisc/<folder>/<n>.jpg`` (224x224 crops centred on each
expert-segmented WBC), folders ``Baoso``, ``eosi``, ``lymp``, ``mono``, ``neut`` (the
publisher's names, mapped by the ``lisc`` label map), and ``groups.csv``
(``file,label,source_group``) naming the source cell of every crop.

Each source cell gave several crops shifted around it, and one cell recurs in several source
groups of a folder (neighbours, and groups far apart). The manifest's ``group`` column (see
:func:`hierwbc.datasets.duplicates.cell_groups`) joins the crops of a source group and every
group holding a crop that is a near-duplicate of one of its crops (same folder;
:func:`hierwbc.datasets.near_duplicates.same_cell_pairs`). Splits and folds keep a ``group``
together. ``source_group`` keeps the publisher's group.

Errors name the file at fault: a missing ``groups.csv``, a row whose folder disagrees with its
``label``, a file listed twice. An image without a row (``no_group_row``) or a row without its
image (``no_image``) is excluded, recorded in ``manifest.attrs["excluded"]`` and warned about.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import finish, resolve_label_map
from ..near_duplicates import SAME_CELL, join, same_cell_pairs
from .common import class_folder_images, hierarchy_or_default, skipped

NAME = "lisc"
GROUPS = "groups.csv"


def locate(root=None, required: bool = True) -> Path | None:
    """The folder with ``groups.csv`` and the class folders."""
    return find_dataset_dir(NAME, root, (NAME, ""), lambda p: (p / GROUPS).is_file(), required=required)


def _group_rows(csv_path: Path) -> pd.DataFrame:
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    missing = {"file", "label", "source_group"} - set(table.columns)
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)}; found {list(table.columns)}")
    table = table.apply(lambda c: c.str.strip())
    twice = table["file"].duplicated(keep=False)
    if twice.any():
        raise ValueError(f"{csv_path}: file(s) listed more than once: {sorted(set(table.loc[twice, 'file']))[:5]}")
    folder = table["file"].str.split("/").str[0]
    wrong = folder != table["label"]
    if wrong.any():
        r = table.loc[wrong].iloc[0]
        raise ValueError(f"{csv_path}: {int(wrong.sum())} row(s) whose label is not their folder, e.g. "
                         f"{r['file']!r} labelled {r['label']!r}")
    empty = table["source_group"] == ""
    if empty.any():
        raise ValueError(f"{csv_path}: empty source_group for {table.loc[empty, 'file'].tolist()[:5]}")
    return table


def read_lisc(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
              label_map: str | Mapping | LabelMap = NAME, same_cell: float = SAME_CELL,
              progress: bool = True) -> pd.DataFrame:
    """Manifest of the LISC crops: ``folder``, ``source_group`` (the publisher's), ``group``
    (``lisc:<first source group>`` of the source groups joined through near-duplicate crops,
    correlation >= ``same_cell``)."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    table = _group_rows(base / GROUPS)
    found, records = class_folder_images(base)
    found["file"] = [str(Path(p).relative_to(base)).replace("\\", "/") for p in found["path"]]
    merged = found.merge(table, on="file", how="outer", indicator=True)
    no_row = merged["_merge"] == "left_only"
    no_image = merged["_merge"] == "right_only"
    records += [skipped(p, "no_group_row", f"not listed in {GROUPS}", f) for p, f in
                zip(merged.loc[no_row, "path"], merged.loc[no_row, "folder"])]
    records += [skipped(str(base / f), "no_image", f"{GROUPS} lists {f!r} but the file is missing", lab)
                for f, lab in zip(merged.loc[no_image, "file"], merged.loc[no_image, "label"])]
    if no_row.any() or no_image.any():
        warnings.warn(f"lisc ({base}): {int(no_row.sum())} image(s) without a row in {GROUPS} and "
                      f"{int(no_image.sum())} row(s) without an image excluded; see manifest.attrs['excluded']",
                      stacklevel=2)
    frame = merged.loc[merged["_merge"] == "both", ["path", "folder", "source_group"]]
    frame = frame.assign(raw_label=frame["folder"]).sort_values("path").reset_index(drop=True)
    pairs = same_cell_pairs(frame, within="folder", threshold=same_cell, progress=progress)
    frame["group"] = join(frame, pairs, group="source_group", prefix=f"{NAME}:")
    return finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)


def group_counts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Crops and cell groups per folder: ``folder, crops, source_groups, groups``."""
    g = manifest.groupby("folder")
    return pd.DataFrame({"crops": g.size(), "source_groups": g["source_group"].nunique(),
                         "groups": g["group"].nunique()}).reset_index()


__all__ = ["group_counts", "locate", "read_lisc"]
