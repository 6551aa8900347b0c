"""Reader for any ``<root>/<class folder>/**/<image>`` layout plus a label map.

The raw label is the class folder's name; ``label_map`` is a dataset name known to the
hierarchy (e.g. ``"raabin"``, whose map has ``Neutrophil``, ``Lymphocyte`` ...) or a dict
``{folder name: node or None}`` (``None`` = excluded). Images are collected at any depth
below each class folder; dot-files and non-image files are recorded, not read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import DataNotFoundError
from ..manifest import finish, resolve_label_map
from .common import class_folder_images, hierarchy_or_default


def read_image_folder(root: str | os.PathLike, label_map: str | Mapping | LabelMap,
                      hierarchy: Hierarchy | None = None, unknown: str = "error",
                      dataset: str | None = None) -> pd.DataFrame:
    """Manifest of a class-folder layout; ``dataset`` defaults to the label map's name (a str
    ``label_map``) or the folder's name. Extra column ``folder``."""
    if root is None:
        raise TypeError("read_image_folder needs root= (the folder holding the class folders)")
    base = Path(root).expanduser().absolute()
    if not base.is_dir():
        raise DataNotFoundError(f"image folder {str(base)!r} does not exist")
    name = dataset or (label_map if isinstance(label_map, str) else label_map.dataset
                       if isinstance(label_map, LabelMap) else base.name)
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, name)
    found, records = class_folder_images(base, recursive=True)
    frame = pd.DataFrame({"path": found["path"], "raw_label": found["folder"], "folder": found["folder"]})
    return finish(frame, dataset=name, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)
