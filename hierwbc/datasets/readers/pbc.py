"""Reader for PBC (Acevedo et al. 2020, Data in Brief 30:105474): the release layout.

``PBC_dataset_normal_DIB/<class folder>/<PREFIX>_<number>.jpg``; the raw label is the
file-name prefix before the first ``_`` (``SNE_12345.jpg`` -> ``SNE``; ``IG`` and
``NEUTROPHIL`` are coarse labels that the ``pbc`` label map sends to internal nodes). The class
folder is kept in column ``folder``. Only names are read, so the original release (360x363
JPEG) and the re-encoded copy (224x224) read the same way. ``root`` may be the data folder,
``pbc/``, or ``PBC_dataset_normal_DIB/`` itself (also nested once, as the zip unpacks).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, LabelMap

from ..location import find_dataset_dir
from ..manifest import finish, resolve_label_map
from .common import class_folder_images, has_class_folders, hierarchy_or_default

NAME = "pbc"
RELEASE = "PBC_dataset_normal_DIB"
CANDIDATES = (f"pbc/{RELEASE}", RELEASE, f"pbc/{RELEASE}/{RELEASE}", f"{RELEASE}/{RELEASE}", "pbc", "")


def locate(root=None, required: bool = True) -> Path | None:
    """The folder that holds PBC's class folders."""
    return find_dataset_dir(NAME, root, CANDIDATES, has_class_folders, required=required)


def raw_label_of(filename: str) -> str:
    """``SNE_12345.jpg`` -> ``SNE``; a name without ``_`` gives its whole stem."""
    stem = os.path.splitext(filename)[0]
    return stem.split("_", 1)[0]


def read_pbc(root=None, hierarchy: Hierarchy | None = None, unknown: str = "error",
             label_map: str | Mapping | LabelMap = NAME) -> pd.DataFrame:
    """Manifest of PBC: one row per image; extra column ``folder`` (the class folder)."""
    h = hierarchy_or_default(hierarchy)
    lm = resolve_label_map(h, label_map, NAME)
    base = locate(root)
    found, records = class_folder_images(base)
    raw = [raw_label_of(os.path.basename(p)) for p in found["path"]]
    frame = pd.DataFrame({"path": found["path"], "raw_label": raw, "folder": found["folder"]})
    return finish(frame, dataset=NAME, hierarchy=h, label_map=lm, unknown=unknown, source=str(base),
                  excluded=records)
