"""ipywidgets editor of a :class:`hierwbc.hierarchy.Hierarchy` (JupyterLab).

>>> from hierarchy_editor import HierarchyEditor
>>> editor = HierarchyEditor(path="runs/demo/hierarchy.json")   # default tree unless the file exists
>>> editor                                                        # shows the widget in JupyterLab
>>> editor.hierarchy                                              # the edited tree

The model (:class:`EditorState`: validated edits, undo stack, messages, save/load) is separate
from the widgets (:class:`HierarchyEditor`) and the drawings (:func:`draw_tree`,
:func:`render_tree_png`).

Dependencies: of hierwbc, :mod:`hierwbc.hierarchy` (the model and the tables) and
:mod:`hierwbc.plotting.colors` (the drawings' lineage colours, the same as every figure's;
imported on the first drawing, and with it the rest of :mod:`hierwbc.plotting`) and
:mod:`hierwbc.deprecation` (the old name ``node_colours``, one release); otherwise
ipywidgets (the widgets), matplotlib (the drawings), pandas (the tables), and ete3's
TreeStyle rendering when PyQt5 is installed (``pip install hierwbc[render]``).
"""

from hierwbc.deprecation import renamed_attributes

from .draw import draw_tree, ete3_available, node_colors, render_tree_png, tree_layout
from .state import EditorState, Message, save_hierarchy, tree_rows
from .tables import label_map_frame, label_map_summary
from .widgets import HierarchyEditor

__all__ = [
    "EditorState",
    "HierarchyEditor",
    "Message",
    "draw_tree",
    "ete3_available",
    "label_map_frame",
    "label_map_summary",
    "node_colors",
    "render_tree_png",
    "save_hierarchy",
    "tree_layout",
    "tree_rows",
]

__getattr__ = renamed_attributes(__name__, {"node_colours": "node_colors"})
