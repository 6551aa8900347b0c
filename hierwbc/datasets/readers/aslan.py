"""Reader for Aslan 2020, "Blood Cell Detection Dataset" (Ankara Yildirim Beyazit University).

Layout: ``aslan/images/image-<n>.png`` (256x256 RGBA tiles; :func:`~hierwbc.datasets.load_image`
makes them RGB, and their alpha is fully opaque, so that is dropping the alpha channel) and
``aslan/annotations.csv`` (``image_id,image,xmin,ymin,xmax,ymax,label``, coordinates as
fractions of the tile, labels ``rbc`` / ``wbc``).

One manifest row per box; the ``aslan`` label map sends ``wbc`` to the root (type unknown) and
excludes ``rbc`` (recorded as ``excluded_label``). A tile with no WBC box is recorded as
``no_wbc_box``. Tiles were cut from larger fields with overlap, so one WBC may be boxed in two
tiles: WBC boxes whose surroundings (a :data:`WINDOW` px square centred on the box) are
near-duplicates (:func:`~hierwbc.datasets.near_duplicates.same_cell_pairs`) share a ``group``,
as boxes of one tile do, and so a split.

Named errors: a missing ``annotations.csv`` or column, a row naming a missing tile, a box that
is not numeric, leaves the tile or is empty (:class:`~hierwbc.datasets.readers.boxes.BoxError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import finish, resolve_label_map
from ..near_duplicates import SAME_CELL, join, same_cell_pairs
from .boxes import check_fractions, image_size, to_pixels
from .common import hierarchy_or_default, scan_images, skipped

NAME = "aslan"
ANNOTATIONS = "annotations.csv"
WINDOW = 128  # px: wider than the median WBC box (96 px), so a cell cut by a tile edge still overlaps
COLUMNS = ("image", "xmin", "ymin", "xmax", "ymax", "label")


def locate(root=None, required: bool = True) -> Path | None:
    """The folder with ``images/`` and ``annotations.csv``."""
    return find_dataset_dir(NAME, root, (NAME, ""),
                            lambda p: (p / "images").is_dir() and (p / ANNOTATIONS).is_file(), required=required)


def read_aslan(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
               label_map: str | Mapping | LabelMap = NAME, same_cell: float = SAME_CELL,
               progress: bool = True) -> pd.DataFrame:
    """Manifest of Aslan WBC boxes: ``path`` (= ``source_image``), ``image_id``, ``group``,
    crop box columns."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    csv_path = base / ANNOTATIONS
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)}; found {list(table.columns)}")
    table["path"] = [str(base / "images" / name.strip()) for name in table["image"]]
    images, records = scan_images(base / "images")
    lost = ~table["path"].isin(set(images))
    if lost.any():
        raise FileNotFoundError(f"{csv_path}: {int(lost.sum())} row(s) name tiles not in images/, e.g. "
                                f"{table.loc[lost, 'image'].iloc[0]!r}")
    corners = table[["xmin", "ymin", "xmax", "ymax"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    check_fractions(corners, [f"{csv_path} (line {i + 2}, {name})" for i, name in enumerate(table["image"])])
    sizes = {p: image_size(p) for p in table["path"].unique()}
    width = np.array([sizes[p][0] for p in table["path"]])
    height = np.array([sizes[p][1] for p in table["path"]])
    pixels = to_pixels(corners, width, height)
    frame = pd.DataFrame({"path": table["path"], "raw_label": table["label"].str.strip(),
                          "source_image": table["path"], "image_id": table.get("image_id", table["image"]),
                          "box_xmin": pixels[:, 0], "box_ymin": pixels[:, 1],
                          "box_xmax": pixels[:, 2], "box_ymax": pixels[:, 3]})
    wbc = frame["raw_label"].str.casefold() == "wbc"
    records += [skipped(p, "no_wbc_box", f"{ANNOTATIONS} has no wbc box for this tile")
                for p in sorted(set(images) - set(frame.loc[wbc, "path"]))]
    frame["group"] = ""
    cells = frame.loc[wbc].reset_index(drop=True)
    pairs = same_cell_pairs(cells, threshold=same_cell, window=WINDOW, progress=progress)
    frame.loc[wbc, "group"] = join(cells, pairs, group="image_id", prefix=f"{NAME}:")
    return finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)


__all__ = ["locate", "read_aslan"]
