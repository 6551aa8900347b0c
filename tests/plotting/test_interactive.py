"""Explorer redraws in place on every control change; CellViewer shows the chosen cell."""

import ipywidgets as widgets
import numpy as np
import pytest

from hierwbc.plotting import thumbnail
from hierwbc.plotting.common import figure
from hierwbc.plotting.interactive import ALL, CellViewer, Explorer, dropdown


def test_explorer_redraws_on_change_and_reports_errors(tmp_path):
    calls = []

    def draw(word, n):
        calls.append((word, n))
        if n < 0:
            raise ValueError("n must be >= 0")
        fig = figure(2, 2)
        fig.subplots().set_title(f"{word} {n}")
        return fig

    ex = Explorer(draw, {"word": dropdown("word", ["a", "b"]), "n": widgets.IntSlider(value=1, min=-1, max=3)})
    assert calls == [("a", 1)] and ex.figure.axes[0].get_title() == "a 1"
    ex.controls["word"].value = "b"
    assert ex.figure.axes[0].get_title() == "b 1" and ex.n_draws == 2
    ex.save(tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    ex.controls["n"].value = -1
    assert ex.figure is None and "cannot draw: n must be" in ex.message.value
    with pytest.raises(ValueError, match="nothing to save"):
        ex.save(tmp_path / "g.png")
    ex.controls["n"].value = 2
    assert ex.figure.axes[0].get_title() == "b 2" and ex.message.value == ""
    with pytest.raises(ValueError, match="'c' is not one of"):
        dropdown("word", ["a", "b"], "c")


def test_cell_viewer_filters_by_class_and_shows_the_image(manifest, h):
    obs = manifest.set_index(manifest.index.astype(str).map(lambda i: f"cell{i}"))
    viewer = CellViewer(obs, "node", h, size=32, extra=lambda name: {"id": name})
    assert viewer.current == obs.index[0]
    node = "eosinophil"
    viewer.cls.value = node
    members = obs.index[obs["node"] == node]
    assert viewer.slider.max == len(members) - 1 and viewer.current == members[0]
    viewer.slider.value = 2
    assert viewer.current == members[2]
    img = viewer.figure.axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(img, thumbnail(obs.loc[members[2]], 32))
    assert f"id: {members[2]}" in viewer.figure.axes[1].texts[0].get_text()
    viewer.cls.value = ALL
    assert viewer.slider.max == len(obs) - 1
    with pytest.raises(KeyError, match="nope"):
        viewer.show("nope")


def test_cell_viewer_select_sets_its_controls_and_tells_listeners(manifest, h):
    obs = manifest.set_index(manifest.index.astype(str).map(lambda i: f"cell{i}"))
    viewer = CellViewer(obs, "node", h, size=16)
    seen = []
    viewer.on_show(seen.append)
    node = "eosinophil"
    members = obs.index[obs["node"] == node]
    viewer.cls.value = node  # the slider was already at 0: the listeners still hear of the new cell
    assert seen == [members[0]]
    viewer.select(members[3])  # within the chosen class: the class is kept
    assert viewer.cls.value == node and viewer.slider.value == 3 and seen[-1] == members[3]
    other = obs.index[obs["node"] != node][4]
    seen.clear()
    viewer.select(other)  # outside it: all cells, the slider at its row; shown once, nothing in between
    assert viewer.cls.value == ALL and viewer.slider.value == obs.index.get_loc(other)
    assert viewer.current == other and seen == [other]
    viewer.slider.value += 1
    assert viewer.current == obs.index[obs.index.get_loc(other) + 1]
