"""Drawings of a :class:`Hierarchy`: a matplotlib dendrogram (always available) and ete3's
TreeStyle rendering (when PyQt5 is importable). Each lineage has its own colour; nodes are
labelled with their display labels.
"""

from __future__ import annotations

import importlib.util
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hierwbc.deprecation import renamed_attributes
from hierwbc.hierarchy import Hierarchy


def node_colors(hierarchy: Hierarchy) -> list[str]:
    """Colour of every node (``hierarchy.nodes`` order): its lineage's colour, the root grey;
    the same colours as every figure of :mod:`hierwbc.plotting` (``plotting.colors``)."""
    from hierwbc.plotting.colors import text_colors

    colors = text_colors(hierarchy, hierarchy.nodes)
    return [colors[name] for name in hierarchy.nodes]


def tree_layout(hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    """Dendrogram coordinates ``(x [N], y [N])``: ``x`` = depth, ``y`` = leaf rank for a leaf
    and the middle of its leaves' span for an internal node (leaves under a node are contiguous
    in pre-order, so the span is ``[first, last]`` of its ``membership`` row)."""
    m = hierarchy.membership
    n_leaves = m.shape[1]
    first = m.argmax(axis=1)
    last = n_leaves - 1 - m[:, ::-1].argmax(axis=1)
    return hierarchy.depth.astype(float), (first + last) / 2.0


def draw_tree(hierarchy: Hierarchy, ax=None, show_names: bool = False, title: str | None = None) -> Figure:
    """Draw the tree as a left-to-right dendrogram with elbow edges coloured by lineage.

    One text per node (its display label, or ``label [name]`` with ``show_names``): leaves to
    the right of their tip, internal nodes just above their junction. Returns the figure
    (a new one unless ``ax`` is given).
    """
    x, y = tree_layout(hierarchy)
    colors = node_colors(hierarchy)
    parent = hierarchy.parent
    n_leaves = len(hierarchy.leaves)
    if ax is None:
        fig = Figure(figsize=(2.2 * (hierarchy.max_depth + 1) + 2, 0.26 * n_leaves + 1.2))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    child = np.nonzero(parent >= 0)[0]
    px = x[parent[child]]
    py = y[parent[child]]
    elbows = np.stack([np.stack([px, py], 1), np.stack([px, y[child]], 1),
                       np.stack([x[child], y[child]], 1)], axis=1)  # [E, 3, 2]
    ax.add_collection(LineCollection(elbows, colors=[colors[i] for i in child], linewidths=1.6))
    ax.scatter(x, y, s=np.where(hierarchy.is_leaf, 14, 26), c=colors, zorder=3)
    for i, name in enumerate(hierarchy.nodes):
        text = hierarchy.label(name) + (f" [{name}]" if show_names else "")
        if hierarchy.is_leaf[i]:
            ax.text(x[i] + 0.08, y[i], text, va="center", ha="left", fontsize=8, color=colors[i])
        else:
            ax.text(x[i] - 0.04, y[i] - 0.18, text, va="bottom", ha="right", fontsize=7.5,
                    color=colors[i], fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlim(-0.9, hierarchy.max_depth + 1.6)
    ax.set_ylim(n_leaves - 0.5, -0.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def ete3_available() -> bool:
    """Whether ete3's TreeStyle rendering can be used (it needs PyQt5)."""
    return importlib.util.find_spec("PyQt5") is not None


def ete3_tree(hierarchy: Hierarchy):
    """A styled copy of the hierarchy's ete3 tree and its ``TreeStyle`` (needs PyQt5)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ete3 import NodeStyle, TextFace, TreeStyle

    tree = hierarchy.copy().tree
    color = dict(zip(hierarchy.nodes, node_colors(hierarchy)))
    for node in tree.traverse("preorder"):
        style = NodeStyle()
        style["fgcolor"] = style["hz_line_color"] = style["vt_line_color"] = color[node.name]
        style["hz_line_width"] = style["vt_line_width"] = 2
        style["size"] = 4 if node.is_leaf() else 6
        node.set_style(style)
        face = TextFace(f" {node.label}", fsize=9, fgcolor=color[node.name], bold=not node.is_leaf())
        node.add_face(face, column=0, position="branch-right" if node.is_leaf() else "branch-top")
    style = TreeStyle()
    style.show_leaf_name = False
    style.show_scale = False
    style.branch_vertical_margin = 6
    return tree, style


def render_tree_png(hierarchy: Hierarchy, engine: str = "auto", dpi: int = 90) -> bytes:
    """PNG bytes of a drawing of the tree.

    ``engine``: ``"ete3"`` (TreeStyle, needs PyQt5), ``"matplotlib"`` (:func:`draw_tree`), or
    ``"auto"`` (ete3 when PyQt5 is importable, matplotlib otherwise).
    """
    if engine not in ("auto", "ete3", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'ete3' or 'matplotlib', not {engine!r}")
    if engine == "ete3" or (engine == "auto" and ete3_available()):
        tree, style = ete3_tree(hierarchy)
        with tempfile.TemporaryDirectory(prefix="hierwbc-tree-") as tmp:
            out = Path(tmp) / "tree.png"
            tree.render(str(out), tree_style=style, dpi=dpi)
            return out.read_bytes()
    buf = io.BytesIO()
    draw_tree(hierarchy).savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()

__getattr__ = renamed_attributes(__name__, {"node_colours": "node_colors"})
