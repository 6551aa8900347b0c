"""ipywidgets building blocks: a figure redrawn in place when its controls change, and a viewer
that shows a chosen cell's image.

- :class:`Explorer`: ``draw(**values) -> Figure`` plus a dict of controls; every change of a
  control redraws into an ``Output`` (the previous figure replaced). The figure for the initial
  values is drawn on construction, so a headless run (papermill) has it at
  ``explorer.figure`` to save; errors (an empty selection...) are shown as a message, not raised.
- :class:`CellViewer`: a class filter, a slider over the cells of that class, and an ``Output``
  with the cell's image and labels (:func:`hierwbc.plotting.gallery.cell_figure`); other widgets
  call :meth:`CellViewer.show` to display a cell (e.g. a matplotlib pick on a UMAP point, which
  fires with an interactive backend such as ipympl).
- :func:`use_widget_backend`: ``%matplotlib widget`` where ipympl is installed and a kernel runs;
  the explorers then show their figures as ipympl canvases, so a click on a point reaches the
  figure's ``pick_event`` handlers (without it they show static images, and every control still
  works).

The explorers of the analysis notebooks are in :mod:`hierwbc.plotting.explorers`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from hierwbc.hierarchy import Hierarchy

from .common import hierarchy_of, node_labels, save_figure, tree_order
from .gallery import cell_figure

ALL = "(all)"
_CLICKABLE = {"on": False}


def use_widget_backend(enable: bool = True) -> bool:
    """Turn clickable figures on (``%matplotlib widget``) where ipympl is importable and an
    IPython kernel is running; returns whether they are on. Safe everywhere: a plain Python
    process or a missing ipympl leaves the static figures."""
    if not enable:
        _CLICKABLE["on"] = False
        return False
    try:
        import ipympl  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    shell.run_line_magic("matplotlib", "widget")
    _CLICKABLE["on"] = True
    return True


def clickable(fig):
    """``fig`` on an ipympl canvas (a widget that sends mouse events back to the kernel): what
    :class:`Explorer` displays when :func:`use_widget_backend` is on. The figure's callbacks
    (``mpl_connect``) live on the figure, so they survive the change of canvas."""
    from ipympl.backend_nbagg import Canvas, FigureManager

    canvas = Canvas(fig)
    FigureManager(canvas, 0)
    canvas.header_visible = False
    return canvas


def show_figure(fig) -> object:
    """Display ``fig``: a clickable canvas when :func:`use_widget_backend` is on, else the
    figure (a static image); returns what was displayed."""
    shown = clickable(fig) if _CLICKABLE["on"] else fig
    display(shown)
    return shown


def dropdown(description: str, options: Sequence, value=None, **kw) -> widgets.Dropdown:
    options = list(options)
    if value is not None and value not in [o[1] if isinstance(o, tuple) else o for o in options]:
        raise ValueError(f"{description}: {value!r} is not one of {options}")
    default = value if value is not None else (options[0][1] if options and isinstance(options[0], tuple)
                                               else options[0] if options else None)
    return widgets.Dropdown(description=description, options=options, value=default,
                            style={"description_width": "initial"}, **kw)


class Explorer(widgets.VBox):
    """``draw(**{name: control.value}) -> Figure`` redrawn in place on every control change."""

    def __init__(self, draw: Callable[..., object], controls: Mapping[str, widgets.ValueWidget],
                 extra: Sequence[widgets.Widget] = ()):
        self.draw, self.controls = draw, dict(controls)
        self.output = widgets.Output()
        self.message = widgets.HTML()
        self.figure = None
        self.canvas = None
        self.n_draws = 0
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        bar = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([bar, self.message, self.output, *extra])
        self.redraw()

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _changed(self, _change) -> None:
        self.redraw()

    def redraw(self):
        """Draw the figure for the current control values into the output; returns it (None on error)."""
        try:
            fig = self.draw(**self.values)
        except (KeyError, ValueError) as e:
            self.message.value = f"<span style='color:#b00'>cannot draw: {e}</span>"
            self.output.clear_output()
            self._close_canvas()
            self.figure = None
            return None
        self.message.value = ""
        self._close_canvas()
        self.figure = fig
        self.n_draws += 1
        self.output.clear_output(wait=True)
        with self.output:
            self.canvas = show_figure(fig)
        return fig

    def refresh(self) -> None:
        """Show the current figure again after its artists changed in place (no new draw): a
        live canvas redraws itself, a static figure is displayed anew."""
        if self.figure is None:
            return
        if isinstance(self.canvas, widgets.Widget):
            self.canvas.draw_idle()
            return
        self.output.clear_output(wait=True)
        with self.output:
            display(self.figure)

    def _close_canvas(self) -> None:
        """Close the previous figure's widget canvas and its toolbar (their comms), if any."""
        canvas = getattr(self, "canvas", None)
        if isinstance(canvas, widgets.Widget):
            toolbar = getattr(canvas, "toolbar", None)
            canvas.close()
            if isinstance(toolbar, widgets.Widget):
                toolbar.close()
        self.canvas = None

    def save(self, path: str | os.PathLike):
        """Write the current figure (PNG, atomically)."""
        if self.figure is None:
            raise ValueError(f"nothing to save: {self.message.value or 'no figure drawn'}")
        return save_figure(self.figure, path)


class CellViewer(widgets.VBox):
    """Pick a class, then a cell of it: its image and labels are shown (see the module docstring).

    ``obs``: a table with ``path`` (and optional crop-box columns) and a ``by`` column of classes,
    indexed by cell id (AnnData ``obs`` / a manifest).
    """

    def __init__(self, obs: pd.DataFrame, by: str = "node", hierarchy: Hierarchy | None = None,
                 extra: Callable[[str], dict] | None = None, size: int = 160):
        if "path" not in obs or by not in obs:
            raise KeyError(f"a cell viewer needs obs columns 'path' and {by!r} (has {list(obs.columns)})")
        self.obs, self.by, self.size, self.extra = obs, by, size, extra
        self.hierarchy = hierarchy_of(None, hierarchy)
        values = obs[by].astype(object)
        classes = (tree_order(self.hierarchy, values) if by == "node" else list(pd.unique(values.dropna())))
        labels = node_labels(self.hierarchy, classes) if by == "node" else [str(c) for c in classes]
        counts = values.value_counts()
        self.cls = dropdown("cells of", [(ALL, ALL)] + [(f"{lab} ({counts[c]})", c) for lab, c in zip(labels, classes)])
        self.slider = widgets.IntSlider(description="cell", min=0, max=max(len(obs) - 1, 0), value=0,
                                        continuous_update=False)
        self.output = widgets.Output()
        self.current: str | None = None
        self.figure = None
        self._listeners: list[Callable[[str], None]] = []
        self._selecting = False
        self.cls.observe(self._class_changed, names="value")
        self.slider.observe(lambda _c: self._show_position(), names="value")
        super().__init__([widgets.HBox([self.cls, self.slider]), self.output])
        self._class_changed(None)

    def _members(self) -> pd.Index:
        if self.cls.value == ALL:
            return self.obs.index
        return self.obs.index[(self.obs[self.by].astype(object) == self.cls.value).to_numpy()]

    def _class_changed(self, _change) -> None:
        n = len(self._members())
        with self._quiet():
            self.slider.value = 0
            self.slider.max = max(n - 1, 0)
        self._show_position()

    def _show_position(self) -> None:
        members = self._members()
        if len(members) and not self._selecting:
            self.show(members[min(self.slider.value, len(members) - 1)])

    @contextlib.contextmanager
    def _quiet(self):
        """Control changes inside show nothing (the controls are set together)."""
        before, self._selecting = self._selecting, True
        try:
            yield
        finally:
            self._selecting = before

    def on_show(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(obs_name)`` after every cell shown (e.g. to mark it on a UMAP)."""
        self._listeners.append(callback)

    def select(self, obs_name) -> object:
        """Show cell ``obs_name`` with the controls set to it: its class kept when it belongs to
        the chosen one, else all cells; the slider at its position. Returns its Figure."""
        if obs_name not in self.obs.index:
            raise KeyError(f"no cell {obs_name!r} in this viewer's table")
        with self._quiet():
            if obs_name not in self._members():
                self.cls.value = ALL
                self.slider.max = max(len(self.obs) - 1, 0)
            self.slider.value = int(self._members().get_loc(obs_name))
        return self.show(obs_name)

    def show(self, obs_name) -> object:
        """Display cell ``obs_name`` (an index value of ``obs``); returns its Figure."""
        if obs_name not in self.obs.index:
            raise KeyError(f"no cell {obs_name!r} in this viewer's table")
        self.current = obs_name
        extra = self.extra(obs_name) if self.extra is not None else None
        self.figure = cell_figure(self.obs.loc[obs_name], self.hierarchy, self.size, extra)
        self.output.clear_output(wait=True)
        with self.output:
            display(self.figure)
        for callback in self._listeners:
            callback(obs_name)
        return self.figure
