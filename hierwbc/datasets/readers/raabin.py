"""Reader for Raabin-WBC fields with the TXL-PBC re-annotation (Kouzehkhanan et al. 2022).

Layout: ``raabin/images/<id>.jpg`` (575x575 fields), ``raabin/labels/<id>.txt`` (YOLO: one box
a line, ``class x_centre y_centre width height`` as fractions of the field) and
``raabin/classes.txt`` (class names in index order: ``WBC``, ``RBC``, ``Platelet``).

One manifest row per box; the raw label is the class name, which the ``raabin`` label map sends
to the root ``wbc`` (the cell type is unknown: coarsest precision) or excludes (``RBC``,
``Platelet``; recorded as ``excluded_label``). A field with no WBC box is recorded as
``no_wbc_box``. Boxes of one field share a ``group`` (``raabin:<id>``) and so a split.

Named errors: a missing ``classes.txt`` or label file (:class:`FileNotFoundError`), a line
that is not five numbers or names a class index not in ``classes.txt``, a box outside the field
or empty (:class:`~hierwbc.datasets.readers.boxes.BoxError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import finish, resolve_label_map
from .boxes import BoxError, check_fractions, image_size, to_pixels, yolo_to_corners
from .common import hierarchy_or_default, scan_images, skipped

NAME = "raabin"
WBC = "WBC"


def locate(root=None, required: bool = True) -> Path | None:
    """The folder with ``images/``, ``labels/`` and ``classes.txt``."""
    return find_dataset_dir(NAME, root, (NAME, ""),
                            lambda p: (p / "images").is_dir() and (p / "labels").is_dir()
                            and (p / "classes.txt").is_file(), required=required)


def read_classes(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: no class names")
    return names


def read_yolo(path: Path, classes: list[str]) -> tuple[list[str], np.ndarray]:
    """Class names ``[m]`` and YOLO boxes ``[m, 4]`` of one label file (empty file: no boxes)."""
    names, rows = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            values = [float(v) for v in fields]
        except ValueError:
            raise BoxError(f"{path}:{number}: {line.strip()!r} is not five numbers") from None
        if len(values) != 5:
            raise BoxError(f"{path}:{number}: {len(values)} fields, a YOLO line has 5 (class x y w h)")
        index = values[0]
        if index != int(index) or not 0 <= index < len(classes):
            raise BoxError(f"{path}:{number}: class index {fields[0]} not in classes.txt ({len(classes)} classes)")
        names.append(classes[int(index)])
        rows.append(values[1:])
    return names, np.asarray(rows, dtype=float).reshape(-1, 4)


def read_raabin(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
                label_map: str | Mapping | LabelMap = NAME) -> pd.DataFrame:
    """Manifest of Raabin WBC boxes: ``path`` (= ``source_image``), ``field`` (the file stem),
    ``group``, crop box columns."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    classes = read_classes(base / "classes.txt")
    images, records = scan_images(base / "images")
    rows = []
    for path in images:
        field = Path(path).stem
        label_file = base / "labels" / f"{field}.txt"
        if not label_file.is_file():
            raise FileNotFoundError(f"{path}: no label file {label_file}")
        names, yolo = read_yolo(label_file, classes)
        corners = yolo_to_corners(yolo)
        check_fractions(corners, [f"{label_file} (box {i + 1})" for i in range(len(corners))])
        if WBC not in names:
            records.append(skipped(path, "no_wbc_box", f"{label_file.name} has no {WBC} box"))
        width, height = image_size(path)
        pixels = to_pixels(corners, np.full(len(names), width), np.full(len(names), height))
        rows += [(path, name, field, *box) for name, box in zip(names, pixels)]
    frame = pd.DataFrame(rows, columns=["path", "raw_label", "field", "box_xmin", "box_ymin", "box_xmax", "box_ymax"])
    frame.insert(2, "source_image", frame["path"])
    frame["group"] = NAME + ":" + frame["field"]
    return finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)


__all__ = ["locate", "read_raabin", "read_yolo"]
