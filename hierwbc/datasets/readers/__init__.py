"""One reader per dataset layout; :func:`hierwbc.datasets.read_dataset` dispatches to them."""

from .bccd import read_bccd
from .csv_file import read_csv_manifest
from .image_folder import read_image_folder
from .pbc import read_pbc
from .segmentation_wbc import read_segmentation_wbc

__all__ = ["read_bccd", "read_csv_manifest", "read_image_folder", "read_pbc", "read_segmentation_wbc"]
