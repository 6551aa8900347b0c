"""The tree of white-blood-cell types: the one source of truth about classes.

>>> from hierwbc.hierarchy import default_hierarchy
>>> h = default_hierarchy()
>>> h.lineage_of("myelocyte")
'granulopoiesis'
"""

from .default import default_hierarchy
from .errors import HierarchyError, UnknownLabelError
from .label_maps import EXCLUDED, LabelMap, MappedLabels, normalise_label
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
    "normalise_label",
]
