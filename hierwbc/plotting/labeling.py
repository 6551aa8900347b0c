"""Label a few of your own cells in the notebook: a gallery of thumbnails, one type menu each.

:class:`LabelGallery` shows cells of a manifest (``path`` + optional crop box, e.g. a folder read
with :func:`hierwbc.workflow.folder_manifest` or a prediction's obs) as a grid of thumbnails with
a drop-down under each: the tree's five types of a differential count by default, or any nodes
given (``choices``), and "" for "not labelled". What the user picks is :attr:`labeled` (one row
per labelled cell: ``path``, crop box, ``node``), and :meth:`write` saves it as a manifest CSV that
``hierwbc adapt`` / ``predict --reference`` read (``reference_manifest``). Cells are shown in the
order given, ``page_size`` at a time (buttons page through them); a headless run (papermill) can
set labels with :meth:`set_labels` and gets the same CSV.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd
from PIL import Image

from hierwbc.datasets.manifest import BOX_COLUMNS
from hierwbc.evaluate.five_types import FIVE_TYPES
from hierwbc.hierarchy import Hierarchy
from hierwbc.io import atomic_write_text

from .common import hierarchy_of, node_labels
from .gallery import thumbnail

UNLABELED = ""


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


class LabelGallery(widgets.VBox):
    """A page of ``page_size`` thumbnails of ``cells`` with a type menu under each (module doc)."""

    def __init__(self, cells: pd.DataFrame, choices: Sequence[str] = FIVE_TYPES, *,
                 hierarchy: Hierarchy | None = None, page_size: int = 24, columns: int = 6, size: int = 72):
        if "path" not in cells:
            raise KeyError(f"cells need a 'path' column (have {list(cells.columns)})")
        h = hierarchy_of(None, hierarchy)
        unknown = [c for c in choices if c not in h.node_index]
        if unknown:
            raise ValueError(f"label choices {unknown} are not nodes of the tree")
        self.cells = cells.reset_index(drop=True)
        self.choices, self.page_size, self.columns, self.size = list(choices), int(page_size), int(columns), int(size)
        names = node_labels(h, self.choices)
        self._options = [("(not labelled)", UNLABELED)] + list(zip(names, self.choices))
        self._labels = np.full(len(self.cells), UNLABELED, dtype=object)
        self.page = 0
        self._grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns=f"repeat({self.columns}, auto)"))
        self._back, self._next = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
        self._back.on_click(lambda _: self.show_page(self.page - 1))
        self._next.on_click(lambda _: self.show_page(self.page + 1))
        self._status = widgets.HTML()
        super().__init__([widgets.HBox([self._back, self._next, self._status]), self._grid])
        self.show_page(0)

    @property
    def n_pages(self) -> int:
        return max(1, -(-len(self.cells) // self.page_size))

    def show_page(self, page: int) -> None:
        """Draw page ``page`` (clipped to the pages there are)."""
        self.page = int(min(max(page, 0), self.n_pages - 1))
        start = self.page * self.page_size
        tiles = []
        for i in range(start, min(start + self.page_size, len(self.cells))):
            menu = widgets.Dropdown(options=self._options, value=self._labels[i],
                                    layout=widgets.Layout(width=f"{self.size + 40}px"))
            menu.observe(lambda change, i=i: self._set(i, change["new"]), names="value")
            image = widgets.Image(value=_png(thumbnail(self.cells.iloc[i], self.size)), format="png",
                                  width=self.size, height=self.size)
            tiles.append(widgets.VBox([image, menu]))
        self._grid.children = tiles
        self._update_status()

    def _set(self, i: int, node: str) -> None:
        self._labels[i] = node
        self._update_status()

    def _update_status(self) -> None:
        counts = pd.Series(self._labels[self._labels != UNLABELED]).value_counts()
        text = ", ".join(f"{n}: {c}" for n, c in counts.items()) or "none yet"
        self._status.value = f"page {self.page + 1} of {self.n_pages} · labelled {text}"

    def set_labels(self, labels: Mapping[str, str] | Sequence[str]) -> None:
        """Label cells without clicking: ``{path: node}`` or one node ("" = none) per cell."""
        if isinstance(labels, Mapping):
            unknown = sorted(set(labels) - set(self.cells["path"].astype(str)))
            if unknown:
                raise KeyError(f"not among the gallery's cells: {unknown[:5]}")
            values = self.cells["path"].astype(str).map(labels).fillna(pd.Series(self._labels)).to_numpy(object)
        else:
            values = np.asarray(list(labels), dtype=object)
            if len(values) != len(self.cells):
                raise ValueError(f"{len(values)} labels for {len(self.cells)} cells")
        bad = sorted({str(v) for v in values if v != UNLABELED and v not in self.choices})
        if bad:
            raise ValueError(f"labels {bad} are not among the choices {self.choices}")
        self._labels = values
        self.show_page(self.page)

    @property
    def labeled(self) -> pd.DataFrame:
        """The labelled cells: ``path``, crop box columns (where the cells have them), ``node``."""
        keep = self._labels != UNLABELED
        cols = ["path"] + [c for c in BOX_COLUMNS if c in self.cells]
        return self.cells.loc[keep, cols].assign(node=self._labels[keep]).reset_index(drop=True)

    def write(self, path: str | os.PathLike) -> Path:
        """The labelled cells as a manifest CSV (``path``, box, ``node``, ``raw_label``), written
        atomically; raises when nothing is labelled."""
        table = self.labeled
        if table.empty:
            raise ValueError("no cell is labelled yet: pick a type under some of the thumbnails")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, table.assign(raw_label=table["node"]).to_csv(index=False))
        return path


__all__ = ["LabelGallery"]
