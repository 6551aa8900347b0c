"""The ipywidgets layout of the hierarchy editor. All logic is in :class:`EditorState`; this
file only wires widgets to it and redraws after every operation.

Every control carries a stable CSS class (``hierwbc-...``) so a browser test can find it:
``hierwbc-tree`` (the node list, a ``<select>``), ``hierwbc-new-name`` + ``hierwbc-rename``,
``hierwbc-new-label`` + ``hierwbc-set-label``, ``hierwbc-child-name`` / ``hierwbc-child-label``
+ ``hierwbc-add-child``, ``hierwbc-move-parent`` + ``hierwbc-move``, ``hierwbc-delete-mode``,
``hierwbc-remap``, ``hierwbc-delete-preview``, ``hierwbc-delete``, ``hierwbc-undo``,
``hierwbc-path`` + ``hierwbc-load`` / ``hierwbc-save``, ``hierwbc-message``, ``hierwbc-drawing``;
the label-map table's classes are listed in :mod:`.label_map_widget`.
"""

from __future__ import annotations

import html
import os

import ipywidgets as w

from hierwbc.hierarchy import Hierarchy

from .draw import render_tree_png
from .label_map_widget import LabelMapTable
from .state import EditorState, Message, tree_rows

COLORS = {"info": "#555", "ok": "#1a7f37", "warning": "#9a6700", "error": "#cf222e"}
STYLE = ("<style>.hierwbc-tree select {font-family: monospace; font-size: 12px;}"
         ".hierwbc-message {min-height: 1.6em;}</style>")


def message_html(message: Message) -> str:
    """The message as coloured HTML (text escaped)."""
    return (f'<div class="hierwbc-level-{message.level}" style="color:{COLORS[message.level]};'
            f'white-space:pre-wrap">{html.escape(message.text)}</div>')


def _classed(widget: w.DOMWidget, name: str) -> w.DOMWidget:
    widget.add_class(f"hierwbc-{name}")
    return widget


class HierarchyEditor:
    """Edit a :class:`Hierarchy` in JupyterLab: tree list, node edits, label maps, undo,
    save/load, drawing. Display it as the last expression of a cell (or ``display(editor)``).

    Parameters
    ----------
    hierarchy: the tree to edit (the editor works on a copy; read :attr:`hierarchy`); default:
        the file at ``path`` when it exists, else the default tree.
    path: the file the Save/Load buttons start with (``.json`` also writes a ``.nwk`` twin).
    auto_draw: redraw the tree picture after every change (else only on "Draw").
    draw_engine: ``"auto"``, ``"ete3"`` or ``"matplotlib"`` (see :func:`render_tree_png`).
    """

    def __init__(self, hierarchy: Hierarchy | None = None, path: str | os.PathLike | None = None,
                 auto_draw: bool = True, draw_engine: str = "auto"):
        self.state = EditorState(hierarchy, path)
        self.draw_engine = draw_engine
        self._drawn: Hierarchy | None = None  # the version shown in the drawing
        self._updating = False
        B, T = w.Button, w.Text
        wide = w.Layout(width="220px")
        # file bar and message
        self.path = _classed(T(value="" if path is None else str(path), description="File",
                               placeholder="runs/demo/hierarchy.json", layout=w.Layout(width="420px")), "path")
        self.load = _classed(B(description="Load", icon="folder-open"), "load")
        self.save = _classed(B(description="Save", icon="save", button_style="primary"), "save")
        self.undo = _classed(B(description="Undo", icon="undo"), "undo")
        self.message = _classed(w.HTML(), "message")
        # tree and node panel
        self.tree = _classed(w.Select(rows=22, layout=w.Layout(width="520px")), "tree")
        self.selected = _classed(w.HTML(), "selected")
        self.new_name = _classed(T(placeholder="new name", layout=wide), "new-name")
        self.rename = _classed(B(description="Rename"), "rename")
        self.new_label = _classed(T(placeholder="display label", layout=wide), "new-label")
        self.set_label = _classed(B(description="Set label"), "set-label")
        self.child_name = _classed(T(placeholder="child name", layout=w.Layout(width="140px")), "child-name")
        self.child_label = _classed(T(placeholder="label (optional)", layout=w.Layout(width="140px")),
                                    "child-label")
        self.add_child = _classed(B(description="Add child", icon="plus"), "add-child")
        self.move_parent = _classed(w.Dropdown(layout=wide), "move-parent")
        self.move = _classed(B(description="Move under"), "move")
        self.delete_mode = _classed(w.RadioButtons(options=[("with its subtree", "subtree"),
                                                            ("keep its children (re-parent)", "keep")]),
                                    "delete-mode")
        self.remap = _classed(w.Checkbox(description="re-map to parent", indent=False), "remap")
        self.delete_preview = _classed(w.HTML(), "delete-preview")
        self.delete = _classed(B(description="Delete", icon="trash", button_style="danger"), "delete")
        # label maps and drawing
        self.label_maps = LabelMapTable(self.state, self._after_edit)
        self.auto_draw = w.Checkbox(value=auto_draw, description="redraw after each change", indent=False)
        self.draw = _classed(B(description="Draw"), "draw")
        self.drawing = _classed(w.Image(format="png", layout=w.Layout(max_width="100%")), "drawing")

        node_panel = w.VBox([
            self.selected,
            w.HBox([self.new_name, self.rename]),
            w.HBox([self.new_label, self.set_label]),
            w.HBox([self.child_name, self.child_label, self.add_child]),
            w.HBox([self.move_parent, self.move]),
            w.HTML("<b>Delete</b>"), self.delete_mode, self.remap, self.delete_preview, self.delete,
        ], layout=w.Layout(padding="0 0 0 12px"))
        self.widget = _classed(w.VBox([
            w.HTML(STYLE),
            w.HBox([self.path, self.load, self.save, self.undo]),
            self.message,
            w.HBox([self.tree, node_panel]),
            self.label_maps.widget,
            w.HBox([self.draw, self.auto_draw]),
            self.drawing,
        ]), "editor")

        self.tree.observe(lambda _: self._updating or self._show_node(), names="value")
        self.delete_mode.observe(lambda _: self._updating or self._show_delete_preview(), names="value")
        self.rename.on_click(lambda _: self._do(self.state.rename(self.node, self.new_name.value.strip()),
                                                select=self.new_name.value.strip()))
        self.set_label.on_click(lambda _: self._do(self.state.set_label(self.node, self.new_label.value.strip())))
        self.add_child.on_click(self._on_add_child)
        self.move.on_click(lambda _: self._do(self.state.move(self.node, self.move_parent.value)))
        self.delete.on_click(self._on_delete)
        self.undo.on_click(lambda _: self._do(self.state.undo()))
        self.save.on_click(lambda _: self._do(bool(self.state.save(self.path.value.strip()))))
        self.load.on_click(lambda _: self._do(self.state.load(self.path.value.strip())))
        self.draw.on_click(lambda _: self.redraw())
        self.refresh()

    # ------------------------------------------------------------------ public
    @property
    def hierarchy(self) -> Hierarchy:
        """The hierarchy as edited so far."""
        return self.state.hierarchy

    @property
    def node(self) -> str | None:
        """The node selected in the tree list."""
        return self.tree.value

    def select(self, name: str) -> None:
        """Select a node in the tree list (as a click would)."""
        self.tree.value = name

    def redraw(self) -> None:
        self.drawing.value = render_tree_png(self.hierarchy, engine=self.draw_engine)
        self._drawn = self.hierarchy

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"HierarchyEditor({self.hierarchy!r}) (an ipywidgets editor: open in JupyterLab)"
        return bundle

    # ------------------------------------------------------------------ actions
    def _do(self, changed: bool, select: str | None = None) -> None:
        self.refresh(select=select if changed else None)

    def _after_edit(self) -> None:
        self.refresh()

    def _on_add_child(self, _=None) -> None:
        name = self.child_name.value.strip()
        changed = self.state.add_child(self.node, name, self.child_label.value.strip() or None)
        if changed:
            self.child_name.value = self.child_label.value = ""
        self._do(changed, select=name)

    def _on_delete(self, _=None) -> None:
        parent = self.hierarchy.parent_of(self.node) if self.node in self.hierarchy else None
        changed = self.state.delete(self.node, keep_children=self.delete_mode.value == "keep",
                                    remap_to_parent=self.remap.value)
        if changed:
            self.remap.value = False
        self._do(changed, select=parent)

    # ------------------------------------------------------------------ redraw
    def refresh(self, select: str | None = None) -> None:
        """Show the state: tree list (keeping or moving the selection), node panel, label maps,
        message, undo button, drawing."""
        h = self.hierarchy
        keep = select if select in h else (self.tree.value if self.tree.value in h else h.root)
        self._updating = True
        try:
            self.tree.options = tree_rows(h)
            self.tree.value = keep
            self.move_parent.options = [(f"{n} · {h.label(n)}", n) for n in h.nodes]
        finally:
            self._updating = False
        self._show_node()
        self.label_maps.refresh()
        self.message.value = message_html(self.state.message)
        self.undo.disabled = not self.state.can_undo
        if self.state.path is not None and self.path.value.strip() != str(self.state.path):
            self.path.value = str(self.state.path)
        if self.auto_draw.value and self._drawn is not self.hierarchy:  # every edit makes a new object
            self.redraw()

    def _show_node(self) -> None:
        h, name = self.hierarchy, self.node
        if name is None:
            return
        parent = h.parent_of(name)
        self.selected.value = (f"<b>{html.escape(name)}</b> · {html.escape(h.label(name))}"
                               f"<br>parent: {html.escape(str(parent))} · lineage: "
                               f"{html.escape(str(h.lineage_of(name)))} · depth {h.depth[h.node_index[name]]}")
        self.new_name.value = name
        self.new_label.value = h.label(name)
        self._updating = True
        try:
            self.move_parent.value = parent if parent is not None else name
        finally:
            self._updating = False
        for button in (self.move, self.delete):
            button.disabled = parent is None  # the root cannot be moved or deleted
        self._show_delete_preview()

    def _show_delete_preview(self) -> None:
        name = self.node
        if self.hierarchy.parent_of(name) is None:
            self.delete_preview.value = "<i>the root cannot be deleted</i>"
            return
        affected = self.state.affected_mappings(name, keep_children=self.delete_mode.value == "keep")
        if not affected:
            self.delete_preview.value = "<i>no label-map entry points into what would be deleted</i>"
            return
        items = "".join(f"<li>{html.escape(ds)}: {html.escape(repr(raw))} → {html.escape(t)}</li>"
                        for ds, raw, t in affected)
        self.delete_preview.value = (
            f"<span style='color:{COLORS['warning']}'>{len(affected)} label-map entr"
            f"{'y' if len(affected) == 1 else 'ies'} would break; deleting needs "
            f"“re-map to parent” (→ {html.escape(str(self.hierarchy.parent_of(name)))})</span>"
            f"<ul style='margin:0'>{items}</ul>")
