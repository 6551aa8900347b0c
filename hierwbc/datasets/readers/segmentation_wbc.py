"""Reader for segmentation_wbc (Zheng et al. 2018, Micron 107:55-71), "Dataset 1".

``Class Labels of Dataset 1.csv`` (``image ID,class label``) next to ``Dataset 1/NNN.bmp``
(image N, three digits; note the space in ``Dataset 1``). Raw labels are the class codes as
text (``"1"`` neutrophil ... ``"5"`` basophil, through the ``segmentation_wbc`` label map).
A label row without its image (``no_image``), an image without a label row
(``no_label_row``) or an image listed twice (``several_label_rows``) is excluded and recorded
in ``manifest.attrs["excluded"]`` with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import finish, resolve_label_map
from .common import hierarchy_or_default, scan_images, skipped

NAME = "segmentation_wbc"
FOLDER = "Dataset 1"
LABELS = "Class Labels of Dataset 1.csv"


def locate(root=None, required: bool = True) -> Path | None:
    """The folder with ``Dataset 1/`` and its label CSV."""
    return find_dataset_dir(NAME, root, (NAME, ""),
                            lambda p: (p / FOLDER).is_dir() and (p / LABELS).is_file(), required=required)


def image_path(base: Path, image_id: int) -> str:
    return str(base / FOLDER / f"{image_id:03d}.bmp")


def read_segmentation_wbc(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
                          label_map: str | Mapping | LabelMap = NAME) -> pd.DataFrame:
    """Manifest of segmentation_wbc: one row per labelled BMP; extra column ``image_id``."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    csv_path = base / LABELS
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table.columns = [c.strip().casefold() for c in table.columns]
    if {"image id", "class label"} - set(table.columns):
        raise ValueError(f"{csv_path}: expected columns 'image ID,class label', found {list(table.columns)}")
    ids = pd.to_numeric(table["image id"].str.strip(), errors="coerce")
    if ids.isna().any():
        raise ValueError(f"{csv_path}: non-numeric image IDs {table.loc[ids.isna(), 'image id'].tolist()[:5]}")
    table["image_id"] = ids.astype(int)
    table["path"] = [image_path(base, i) for i in table["image_id"]]
    table["raw_label"] = table["class label"].str.strip()
    images, records = scan_images(base / FOLDER)
    present = set(images)
    dup = table["image_id"].duplicated(keep=False)
    lost = ~table["path"].isin(present)
    records += [skipped(p, "several_label_rows", f"image {i} has several rows in {LABELS}", r)
                for p, i, r in zip(table.loc[dup, "path"], table.loc[dup, "image_id"], table.loc[dup, "raw_label"])]
    records += [skipped(p, "no_image", f"{LABELS} lists image {i} but the file is missing", r)
                for p, i, r in zip(table.loc[lost & ~dup, "path"], table.loc[lost & ~dup, "image_id"],
                                   table.loc[lost & ~dup, "raw_label"])]
    unlabeled = sorted(present - set(table["path"]))
    records += [skipped(p, "no_label_row", f"image has no row in {LABELS}") for p in unlabeled]
    problems = [r for r in records if r["reason"] != "dot_file"]
    if problems:
        warnings.warn(f"segmentation_wbc ({base}): {len(problems)} image(s)/row(s) excluded "
                      f"({pd.Series([r['reason'] for r in problems]).value_counts().to_dict()}); "
                      "see manifest.attrs['excluded']", stacklevel=2)
    frame = table.loc[~dup & ~lost, ["path", "raw_label", "image_id"]].sort_values("image_id")
    return finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)
