"""One reader per dataset layout; :func:`hierwbc.datasets.read_dataset` dispatches to them."""

from .aslan import read_aslan
from .bccd import read_bccd
from .csv_file import read_csv_manifest
from .image_folder import read_image_folder
from .lisc import read_lisc
from .pbc import read_pbc
from .raabin import read_raabin
from .segmentation_wbc import read_segmentation_wbc

__all__ = ["read_aslan", "read_bccd", "read_csv_manifest", "read_image_folder", "read_lisc", "read_pbc",
           "read_raabin", "read_segmentation_wbc"]
