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

__all__ = [
    "EXCLUDED",
    "Hierarchy",
    "HierarchyError",
    "LabelMap",
    "MappedLabels",
    "UnknownLabelError",
    "default_hierarchy",
    "normalise_label",
]
