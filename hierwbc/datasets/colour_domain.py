"""Deprecated: :mod:`hierwbc.datasets.color_domain` (kept for one release)."""

from ..deprecation import renamed_attributes, renamed_module
from .color_domain import *

renamed_module(__name__, "hierwbc.datasets.color_domain")
__getattr__ = renamed_attributes(__name__, {"ColourDomain": "ColorDomain"})
