"""``read_dataset(name, ...)``: the one entry point to every reader, and which real datasets
are present.

>>> m = read_dataset("pbc")                                  # data_root() / pbc / ...
>>> m = read_dataset("image_folder", "/data/raabin", label_map="raabin")
>>> m = read_dataset("csv", "/runs/x/manifest.csv")
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy

from .location import data_root
from .readers import (
    aslan,
    bccd,
    lisc,
    pbc,
    raabin,
    read_aslan,
    read_bccd,
    read_csv_manifest,
    read_image_folder,
    read_lisc,
    read_pbc,
    read_raabin,
    read_segmentation_wbc,
    segmentation_wbc,
)
from .synthetic import DATASET as SYNTHETIC  # the toy set drawn when no real data is found

READERS = {
    "pbc": read_pbc,
    "bccd": read_bccd,
    "segmentation_wbc": read_segmentation_wbc,
    "lisc": read_lisc,
    "raabin": read_raabin,
    "aslan": read_aslan,
    "image_folder": read_image_folder,
    "csv": read_csv_manifest,
}
REAL_DATASETS = {"pbc": pbc.locate, "bccd": bccd.locate, "segmentation_wbc": segmentation_wbc.locate,
                 "lisc": lisc.locate, "raabin": raabin.locate, "aslan": aslan.locate}
# The labs that may be trained on (PBC's train split, and all of the others); BCCD and
# segmentation_wbc are evaluation sets only, never trained on, not even unlabelled.
TRAINING_LABS = ("pbc", "lisc", "raabin", "aslan")
EVALUATION_ONLY = ("bccd", "segmentation_wbc")



def read_dataset(name: str, root: str | os.PathLike | None = None, hierarchy: Hierarchy | None = None,
                 unknown: str = "error", **kwargs) -> pd.DataFrame:
    """Manifest of dataset ``name`` (a key of :data:`READERS`).

    ``root``: the data folder or the dataset's own folder (default :func:`data_root`); for
    ``image_folder`` the folder of class folders, for ``csv`` the CSV file. ``unknown``:
    ``"error"`` (raise :class:`~hierwbc.hierarchy.UnknownLabelError` listing each unknown raw
    label with its count) or ``"drop"`` (drop, record in ``attrs`` and warn). Other keyword
    arguments go to the reader (``label_map=``, ``dataset=``, ``labels=``, ``base=``).
    """
    try:
        reader = READERS[name]
    except KeyError:
        raise ValueError(f"no reader {name!r}; readers: {sorted(READERS)}") from None
    return reader(root, hierarchy=hierarchy, unknown=unknown, **kwargs)


def available_datasets(root: str | os.PathLike | None = None) -> dict[str, Path]:
    """``{name: folder}`` for each real dataset (pbc, bccd, segmentation_wbc) found under
    ``root`` (default: :func:`data_root`, ``{}`` when there is no data folder)."""
    base = data_root(root, required=root is not None)
    if base is None:
        return {}
    found = {name: locate(base, required=False) for name, locate in REAL_DATASETS.items()}
    return {name: path for name, path in found.items() if path is not None}


def real_or_synthetic(root: str | os.PathLike | None, hierarchy: Hierarchy, synthetic_folder: str | os.PathLike,
                      required: bool = False, **synthetic) -> dict[str, pd.DataFrame]:
    """``{name: manifest}`` of every real dataset found under ``root`` (default: :func:`data_root`;
    ``required``: a missing ``root`` is an error), or, when there is none, ``{"synthetic": ...}``
    toy cells drawn into ``synthetic_folder`` (:func:`~hierwbc.datasets.synthetic.make_synthetic`
    with ``synthetic`` as its options): the one place the package falls back to them."""
    base = data_root(root, required=required)
    found = available_datasets(base) if base is not None else {}
    if found:
        return {name: read_dataset(name, base, hierarchy=hierarchy) for name in found}
    from .synthetic import make_synthetic

    return {SYNTHETIC: make_synthetic(synthetic_folder, hierarchy, **synthetic)}
