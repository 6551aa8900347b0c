"""Datasets: manifests of labelled WBC images, one reader per layout, image decoding, splits.

>>> from hierwbc.datasets import read_dataset, assign_splits, load_image
>>> m = assign_splits(read_dataset("pbc"), {"train": 0.8, "test": 0.2}, seed=0)
>>> img = load_image(m.path[0])              # uint8 [H, W, 3]

A manifest is a DataFrame ``path, dataset, raw_label, node, split, fold`` (+ reader columns);
see :mod:`hierwbc.datasets.manifest` for the schema and the ``attrs`` report.
"""

from .coarsen import coarsen
from .duplicates import content_groups, duplicate_table, file_digests
from .images import (
    ImageError,
    ValidationError,
    ValidationReport,
    load_image,
    square_resize,
    validate,
)
from .location import DataNotFoundError, data_root
from .manifest import (
                       BOX_COLUMNS,
                       COLUMNS,
                       ManifestError,
                       boxes,
                       check_manifest,
                       excluded_counts,
                       excluded_table,
                       write_manifest,
)
from .read import READERS, SYNTHETIC, available_datasets, read_dataset, real_or_synthetic
from .splits import assign_folds, assign_splits, split_rows, stratified_subset
from .summary import count_table, summary

__all__ = [
    "BOX_COLUMNS",
    "COLUMNS",
    "READERS",
    "SYNTHETIC",
    "DataNotFoundError",
    "ImageError",
    "ManifestError",
    "ValidationError",
    "ValidationReport",
    "assign_folds",
    "assign_splits",
    "available_datasets",
    "boxes",
    "check_manifest",
    "coarsen",
    "content_groups",
    "count_table",
    "data_root",
    "duplicate_table",
    "excluded_counts",
    "excluded_table",
    "file_digests",
    "load_image",
    "read_dataset",
    "real_or_synthetic",
    "split_rows",
    "square_resize",
    "stratified_subset",
    "summary",
    "validate",
    "write_manifest",
]
