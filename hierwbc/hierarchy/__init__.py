"""The tree of white-blood-cell types: the one source of truth about classes.

>>> from hierwbc.hierarchy import default_hierarchy
>>> h = default_hierarchy()
>>> h.lineage_of("myelocyte")
'granulopoiesis'
"""

from ..deprecation import renamed_attributes
from .default import default_hierarchy
from .errors import HierarchyError, UnknownLabelError
from .label_maps import EXCLUDED, LabelMap, MappedLabels, normalize_label
from .tree import Hierarchy
from .uns import hierarchy_from_uns, hierarchy_to_uns

__all__ = [
    "EXCLUDED",
    "Hierarchy",
    "HierarchyError",
    "LabelMap",
    "MappedLabels",
    "UnknownLabelError",
    "default_hierarchy",
    "hierarchy_from_uns",
    "hierarchy_to_uns",
    "normalize_label",
]

__getattr__ = renamed_attributes(__name__, {"normalise_label": "normalize_label"})
