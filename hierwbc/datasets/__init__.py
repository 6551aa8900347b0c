"""Datasets: manifests of labelled WBC images, one reader per layout, image decoding, splits,
and the plumbing every consumer of images shares (training, embedding, prediction, plotting):
:mod:`.manifest_images` (a manifest as a torch Dataset of resized cells) and :mod:`.model_input`
(uint8 -> the network's normalised input).

>>> from hierwbc.datasets import read_dataset, assign_splits, load_image, split_rows, stratified_subset
>>> m = assign_splits(read_dataset("pbc"), {"train": 0.8, "test": 0.2}, seed=0)
>>> img = load_image(m.path[0])              # uint8 [H, W, 3]
>>> test = split_rows(read_dataset("pbc"), "test", 0.2, 0)   # training's own train/test partition
>>> few = stratified_subset(test, 300, seed=0)              # at most 300 rows, in proportion per node

A manifest is a DataFrame ``path, dataset, raw_label, node, split, fold`` (+ reader columns);
see :mod:`hierwbc.datasets.manifest` for the schema and the ``attrs`` report.
"""

from .coarsening import coarsen
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
from .summaries import count_table, summary

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
