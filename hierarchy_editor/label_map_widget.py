"""The label-map table of the editor: pick a dataset, then one row per raw label with a node
dropdown (``(excluded)`` first) and a remove button, plus a row to add an entry and a box to
start a new dataset's map. Edits go through :class:`EditorState`; ``on_edit`` is called after
each so the editor can redraw everything.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from hierwbc.hierarchy import EXCLUDED

from .state import EditorState

EXCLUDED_OPTION = "(excluded)"  # not a valid node name, so it cannot clash with one


def node_options(state: EditorState) -> list[tuple[str, str]]:
    """Dropdown options ``(text, value)``: excluded first, then every node in tree order."""
    h = state.hierarchy
    return [(EXCLUDED_OPTION, EXCLUDED_OPTION)] + [(f"{n} · {h.label(n)}", n) for n in h.nodes]


def _node_of(value: str) -> str | None:
    return EXCLUDED if value == EXCLUDED_OPTION else value


class LabelMapTable:
    """Widgets editing one dataset's label map at a time (``.widget`` is the box)."""

    def __init__(self, state: EditorState, on_edit: Callable[[], None]):
        self.state = state
        self.on_edit = on_edit
        self.dataset = w.Dropdown(description="Dataset", layout=w.Layout(width="320px"))
        self.dataset.add_class("hierwbc-dataset")
        self._refreshing = False
        self.dataset.observe(lambda _: self._refreshing or self._build_rows(), names="value")
        self.rows = w.VBox(layout=w.Layout(max_height="360px", overflow="auto"))
        self.rows.add_class("hierwbc-map-rows")
        self.row_widgets: dict[str, tuple[w.Dropdown, w.Button]] = {}  # raw label -> its row's controls
        self._row_parts: list[w.Widget] = []
        self.new_raw = w.Text(placeholder="raw label", layout=w.Layout(width="160px"))
        self.new_raw.add_class("hierwbc-map-raw")
        self.new_node = w.Dropdown(layout=w.Layout(width="300px"))
        self.new_node.add_class("hierwbc-map-new-node")
        self.add = w.Button(description="Add entry", icon="plus")
        self.add.add_class("hierwbc-map-add")
        self.add.on_click(lambda _: self._apply(self.state.set_mapping(
            self.dataset.value, self.new_raw.value, _node_of(self.new_node.value))))
        self.new_dataset = w.Text(placeholder="new dataset name", layout=w.Layout(width="180px"))
        self.new_dataset.add_class("hierwbc-new-dataset")
        self.add_dataset = w.Button(description="New label map")
        self.add_dataset.add_class("hierwbc-add-dataset")
        self.add_dataset.on_click(self._on_add_dataset)
        self.widget = w.VBox([
            w.HTML("<b>Label maps</b> (raw label → node; <i>(excluded)</i> = known, not used)"),
            w.HBox([self.dataset, self.new_dataset, self.add_dataset]),
            self.rows,
            w.HBox([self.new_raw, self.new_node, self.add]),
        ])
        self.widget.add_class("hierwbc-label-maps")
        self.refresh()

    def _apply(self, changed: bool) -> None:
        if changed:
            self.new_raw.value = ""
        self.on_edit()

    def _on_add_dataset(self, _=None) -> None:
        name = self.new_dataset.value
        if self.state.add_label_map(name):
            self.new_dataset.value = ""
            self.refresh(dataset=name)
        self.on_edit()

    def refresh(self, dataset: str | None = None) -> None:
        """Re-read datasets and nodes from the state (keeps the chosen dataset if it still exists)."""
        datasets = list(self.state.hierarchy.label_maps)
        keep = dataset if dataset in datasets else self.dataset.value
        chosen = self.new_node.value
        self.new_node.options = node_options(self.state)
        self.new_node.value = chosen if chosen in self.state.hierarchy else EXCLUDED_OPTION
        self._refreshing = True
        try:
            self.dataset.options = datasets
            self.dataset.value = keep if keep in datasets else (datasets[0] if datasets else None)
        finally:
            self._refreshing = False
        self._build_rows()

    def _build_rows(self) -> None:
        old, self._row_parts, self.row_widgets = self._row_parts, [], {}
        ds = self.dataset.value
        rows = []
        if ds is not None:
            options = node_options(self.state)
            for raw, node in self.state.hierarchy.label_map(ds).items():
                dropdown = w.Dropdown(options=options, value=EXCLUDED_OPTION if node is None else node,
                                      layout=w.Layout(width="300px"))
                dropdown.add_class("hierwbc-map-node")
                dropdown.observe(self._on_change(ds, raw), names="value")
                remove = w.Button(description="remove", layout=w.Layout(width="80px"))
                remove.add_class("hierwbc-map-remove")
                remove.on_click(lambda _, raw=raw: self._apply(self.state.remove_mapping(ds, raw)))
                self.row_widgets[raw] = (dropdown, remove)
                rows.append(w.HBox([w.Label(raw, layout=w.Layout(width="160px")), dropdown, remove]))
                self._row_parts += [*rows[-1].children, rows[-1]]
        if not rows:
            rows = [w.HTML("<i>no label maps</i>" if ds is None else "<i>empty: add entries below</i>")]
            self._row_parts += rows
        self.rows.children = rows
        for part in old:
            part.close()

    def _on_change(self, dataset: str, raw: str):
        def handler(change) -> None:
            self._apply(self.state.set_mapping(dataset, raw, _node_of(change["new"])))
        return handler
