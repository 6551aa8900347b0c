"""Deprecated: :mod:`hierwbc.plotting.labeling` (kept for one release)."""

from ..deprecation import renamed_module
from .labeling import *

renamed_module(__name__, "hierwbc.plotting.labeling")
