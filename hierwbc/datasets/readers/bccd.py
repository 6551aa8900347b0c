"""Reader for BCCD (MIT licence): single-WBC crops from smear fields.

Layout: ``labels.csv`` (columns ``,Image,Category``; ``Image`` N is ``BloodImage_00NNN``) next
to ``BCCD/JPEGImages/*.jpg`` and ``BCCD/Annotations/*.xml`` (Pascal VOC boxes of WBC, RBC,
Platelets). A field gives one crop when its ``Category`` names exactly one cell type and its
annotation exactly one valid WBC box; that crop's raw label is the type (``NEUTROPHIL``). Every
other field is excluded, never guessed, and recorded in ``manifest.attrs["excluded"]`` with the
first reason that applies, in this order:

``several_label_rows`` (the field appears more than once in labels.csv), ``no_label_row``,
``empty_category``, ``several_labels`` (two or more comma-separated entries, even of one type:
two cells whose boxes cannot be told apart), ``no_image``, ``no_annotation``,
``bad_annotation`` (XML that does not parse), ``no_wbc_box``, ``several_wbc_boxes``,
``invalid_wbc_box`` (xmax <= xmin, ymax <= ymin, or not a number).

VOC boxes are 1-based and inclusive; the manifest box is 0-based, end exclusive:
``(xmin - 1, ymin - 1, xmax, ymax)``. Boxes touching the border are kept (crops are clamped).
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import excluded_counts, finish, resolve_label_map
from .common import hierarchy_or_default

NAME = "bccd"
LOG = logging.getLogger(__name__)
IMAGES, ANNOTATIONS = "BCCD/JPEGImages", "BCCD/Annotations"


def locate(root=None, required: bool = True) -> Path | None:
    """The folder with ``labels.csv`` and ``BCCD/``."""
    return find_dataset_dir(NAME, root, ("bccd", ""),
                            lambda p: (p / "labels.csv").is_file() and (p / ANNOTATIONS).is_dir(), required=required)


def field_name(n: int) -> str:
    return f"BloodImage_{n:05d}"


def _number(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def wbc_boxes(xml_path: Path) -> list[tuple[float, float, float, float]]:
    """The WBC boxes of one VOC annotation as written (``xmin, ymin, xmax, ymax``; NaN if not a number)."""
    return [tuple(_number(obj.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax"))
            for obj in ET.parse(xml_path).getroot().iter("object")
            if (obj.findtext("name") or "").strip().casefold() == "wbc"]


def _label_rows(csv_path: Path) -> pd.DataFrame:
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    missing = {"Image", "Category"} - set(table.columns)
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)}; found {list(table.columns)}")
    try:
        table["field"] = table["Image"].str.strip().astype(int)
    except ValueError:
        bad = table.loc[~table["Image"].str.strip().str.fullmatch(r"\d+"), "Image"].tolist()
        raise ValueError(f"{csv_path}: column 'Image' must hold field numbers; found {bad[:5]}") from None
    return table


def _fields(base: Path, labels: Path) -> pd.DataFrame:
    """One row per field (label row and/or image): category, entries, boxes, exclusion reasons."""
    table = _label_rows(labels)
    numbers = {int(p.stem.rsplit("_", 1)[-1]): p for p in (base / IMAGES).glob("BloodImage_*.jpg")}
    annots = {int(p.stem.rsplit("_", 1)[-1]): p for p in (base / ANNOTATIONS).glob("BloodImage_*.xml")}
    rows = []
    counts = table["field"].value_counts()
    categories = table.groupby("field")["Category"].agg(list).to_dict()
    for n in sorted(set(table["field"]) | set(numbers)):
        cats = categories.get(n, [])
        category = cats[0].strip() if len(cats) == 1 else " | ".join(cats)
        entries = [c.strip() for c in category.split(",") if c.strip()] if len(cats) == 1 else []
        image = numbers.get(n)
        reasons, boxes, n_boxes = [], [], -1
        if counts.get(n, 0) > 1:
            reasons.append(("several_label_rows", f"{counts[n]} rows in labels.csv"))
        elif n not in counts:
            reasons.append(("no_label_row", "image has no row in labels.csv"))
        elif not entries:
            reasons.append(("empty_category", "Category is empty"))
        elif len(entries) > 1:
            reasons.append(("several_labels", f"Category names {len(entries)} cells: {category!r}"))
        if image is None:
            reasons.append(("no_image", f"no {IMAGES}/{field_name(n)}.jpg"))
        elif n not in annots:
            reasons.append(("no_annotation", f"no {ANNOTATIONS}/{field_name(n)}.xml"))
        else:
            try:
                boxes = wbc_boxes(annots[n])
            except ET.ParseError as e:
                reasons.append(("bad_annotation", f"{annots[n]}: {e}"))
            else:
                n_boxes = len(boxes)
                if not boxes:
                    reasons.append(("no_wbc_box", "annotation has no WBC box"))
                elif len(boxes) > 1:
                    reasons.append(("several_wbc_boxes", f"annotation has {len(boxes)} WBC boxes"))
                elif not (boxes[0][2] > boxes[0][0] and boxes[0][3] > boxes[0][1]):
                    reasons.append(("invalid_wbc_box", f"WBC box {boxes[0]} is empty or not numeric"))
        rows.append({"field": n, "path": str(image if image is not None else base / IMAGES / f"{field_name(n)}.jpg"),
                     "category": category, "n_labels": len(entries), "n_wbc_boxes": n_boxes,
                     "entries": entries, "box": boxes[0] if len(boxes) == 1 else None,
                     "reason": reasons[0][0] if reasons else "", "detail": reasons[0][1] if reasons else "",
                     "all_reasons": "; ".join(r for r, _ in reasons)})
    return pd.DataFrame(rows)


def read_bccd(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
              label_map: str | Mapping | LabelMap = NAME, labels: str | os.PathLike | None = None) -> pd.DataFrame:
    """Manifest of BCCD single-WBC crops: ``path`` (= ``source_image``, the field JPEG),
    ``field``, ``category``, crop box columns. Excluded fields: ``manifest.attrs["excluded"]``
    (see :func:`hierwbc.datasets.excluded_table`), with columns ``field, category, n_labels,
    n_wbc_boxes, all_reasons``."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    fields = _fields(base, Path(labels) if labels else base / "labels.csv")
    ok = fields["reason"] == ""
    bad = fields.loc[~ok]
    records = [{"reason": r.reason, "path": r.path, "raw_label": r.category, "detail": r.detail, "field": r.field,
                "category": r.category, "n_labels": r.n_labels, "n_wbc_boxes": r.n_wbc_boxes,
                "all_reasons": r.all_reasons} for r in bad.itertuples()]
    good = fields.loc[ok]
    box = np.array([b for b in good["box"]], dtype=float).reshape(-1, 4) - np.array([1.0, 1.0, 0.0, 0.0])
    frame = pd.DataFrame({"path": good["path"].to_numpy(), "raw_label": [e[0] for e in good["entries"]],
                          "source_image": good["path"].to_numpy(), "field": good["field"].to_numpy(),
                          "category": good["category"].to_numpy(),
                          "box_xmin": box[:, 0], "box_ymin": box[:, 1], "box_xmax": box[:, 2], "box_ymax": box[:, 3]})
    out = finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base), excluded=records)
    LOG.info("bccd: %d single-WBC crops from %d fields; excluded %s", len(out), len(fields), excluded_counts(out))
    return out
