"""Clicking a point of notebook 05's UMAP explorer in a real browser shows that cell.

A notebook written here builds :func:`~hierwbc.plotting.explorers.umap_explorer` on a small
AnnData (synthetic cells, a fixed UMAP) after ``hp.use_widget_backend()`` (``%matplotlib
widget``: the explorer's figure is an ipympl canvas); it prints the pixel of one cell's point.
JupyterLab runs it in headless chromium, the test clicks that pixel on the canvas, then re-runs
the notebook's last cell, which prints the cell the explorer's viewer now shows: it must be the
clicked one (a different cell was shown before). Screenshot: ``test-artifacts/umap_pick_browser.png``.
Markers: ``browser`` and ``slow``; skipped / failed under CI as ``tests/browser_lab.py`` says.
"""

import json

import nbformat
import numpy as np
import pytest

from tests.browser_lab import chromium, jupyterlab, notebook_page, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """\
import json
import anndata as ad
import numpy as np
import hierwbc.plotting as hp
from hierwbc.plotting.explorers import umap_explorer

clickable = hp.use_widget_backend()
cells = ad.read_h5ad("cells.h5ad")
explorer = umap_explorer(cells, color="lineage")
explorer.figure.canvas.draw()  # the layout the browser shows
x, y = explorer.figure.axes[0].transData.transform(cells.obsm["X_umap"][TARGET])
print("CLICK " + json.dumps({"x": float(x), "y": float(explorer.figure.bbox.height - y), "clickable": clickable}))
explorer
"""
REPORT = 'print("SHOWN " + str(explorer.viewer.current))'


def _isolated_point(coords: np.ndarray) -> int:
    """The point farthest from its nearest neighbour (a click there can hit only it)."""
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)[1:]) + 1)  # not cell 0: the viewer shows it at the start


@pytest.mark.timeout(600)
def test_clicking_a_umap_point_shows_its_cell(adata, tmp_path):
    from playwright.sync_api import expect

    chromium()  # checked before JupyterLab is started
    root = tmp_path / "root"
    root.mkdir()
    target = _isolated_point(np.asarray(adata.obsm["X_umap"]))
    adata.write_h5ad(root / "cells.h5ad")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.replace("TARGET", str(target))), nbformat.v4.new_code_cell(REPORT)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "pick.ipynb")
    with (jupyterlab(root, tmp_path) as lab,
          notebook_page(lab, "pick.ipynb", "umap_pick_browser", height=1600) as (page, shot)):
        outputs = run_all_cells(page, lab)
        click = json.loads(next(t for t in outputs if t.startswith("CLICK ")).split(" ", 1)[1])
        assert click["clickable"] is True, "use_widget_backend() found no ipympl in the kernel"
        before = next(t for t in outputs if t.startswith("SHOWN ")).split(" ", 1)[1].strip()
        assert before == adata.obs_names[0] != adata.obs_names[target]
        canvas = page.locator(".jupyter-matplotlib-canvas-div").first
        canvas.scroll_into_view_if_needed()
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + click["x"], box["y"] + click["y"])
        report = page.locator(".jp-CodeCell").nth(1)
        deadline_ms = 60_000
        page.wait_for_timeout(1500)  # the click's round trip to the kernel and the redraw
        report.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        expect(report.locator(".jp-OutputArea-output")).to_contain_text(
            f"SHOWN {adata.obs_names[target]}", timeout=deadline_ms)
        page.locator(".jupyter-matplotlib-canvas-div").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
    assert shot.exists() and shot.stat().st_size > 10_000
