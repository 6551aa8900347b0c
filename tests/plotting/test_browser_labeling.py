"""Picking a type under a thumbnail of notebook 11's label gallery in a real browser labels
that cell.

A notebook written here shows :class:`~hierwbc.plotting.labeling.LabelGallery` on a few
synthetic cells; JupyterLab runs it in headless chromium, the test picks "monocyte" in the menu
under the second thumbnail, then re-runs the last cell, which prints the gallery's labelled
cells: exactly that cell, as a monocyte. Screenshot: ``test-artifacts/label_gallery_browser.png``.
Markers: ``browser`` and ``slow``; skipped / failed under CI as ``tests/browser_lab.py`` says.
"""

import nbformat
import pytest

from tests.browser_lab import chromium, jupyterlab, notebook_page, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """\
import pandas as pd
from hierwbc.plotting.labeling import LabelGallery

gallery = LabelGallery(pd.read_csv("cells.csv"), page_size=6)
gallery
"""
REPORT = 'print("LABELLED " + gallery.labeled.to_json(orient="records"))'


@pytest.mark.timeout(600)
def test_picking_a_type_in_the_browser_labels_the_cell(manifest, tmp_path):
    import json

    from playwright.sync_api import expect

    chromium()  # checked before JupyterLab is started
    root = tmp_path / "root"
    root.mkdir()
    cells = manifest.head(6)
    cells.to_csv(root / "cells.csv", index=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(REPORT)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "label.ipynb")
    with (jupyterlab(root, tmp_path) as lab,
          notebook_page(lab, "label.ipynb", "label_gallery_browser", height=1400) as (page, shot)):
        outputs = run_all_cells(page, lab)
        assert any(t.startswith("LABELLED []") for t in outputs)  # nothing picked yet
        menus = page.locator(".widget-dropdown select")
        expect(menus.nth(1)).to_be_visible()
        assert menus.count() == 6
        menus.nth(1).select_option(label="monocyte")
        page.wait_for_timeout(1500)  # the change's round trip to the kernel
        report = page.locator(".jp-CodeCell").nth(1)
        report.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        expect(report.locator(".jp-OutputArea-output")).to_contain_text("monocyte", timeout=60_000)
        text = report.locator(".jp-OutputArea-output").inner_text()
        page.screenshot(path=str(shot))
    labeled = json.loads(text.split("LABELLED ", 1)[1])
    assert [(r["path"], r["node"]) for r in labeled] == [(cells["path"].iloc[1], "monocyte")]
    assert shot.exists() and shot.stat().st_size > 10_000
