"""The editor in a real browser: JupyterLab on 127.0.0.1 + Debian's headless chromium (Playwright).

What it does: copy ``notebooks/01_hierarchy.ipynb`` into a temporary root folder, start
JupyterLab there (free port, token auth, its own config/data/settings folders, no browser, the
news plugin off, every cell kept in the DOM), open the notebook in chromium, run all cells, then
select ``basophil`` in the editor, type a new name, click Rename and Save, and check the JSON
and Newick files the notebook's editor writes (``runs/demo/hierarchy.*`` under the root) now
hold the new name. A screenshot is kept in ``test-artifacts/hierarchy_editor_browser.png``
(``..._failure.png`` when it fails), with the JupyterLab log beside it.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium chromium-driver``; ``.ci/run`` does it)
and the ``playwright`` Python package (no downloaded browsers: chromium is launched from its
Debian path). When either is missing the test is skipped with the reason, except when the
environment variable ``CI`` is set: then it fails, so CI cannot pass without running it.
Markers: ``browser`` and ``slow`` (about a minute on 2 CPU cores).
"""

import shutil
import time
from pathlib import Path

import pytest

from hierwbc.hierarchy import Hierarchy, default_hierarchy
from tests.browser_lab import chromium, jupyterlab, notebook_page, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_hierarchy.ipynb"
OLD, NEW = "basophil", "basophil_renamed"


@pytest.fixture()
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a temp root that holds a copy of the notebook."""
    chromium()  # checked before JupyterLab is started
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    with jupyterlab(root, tmp_path) as lab:
        yield lab


@pytest.mark.timeout(600)
def test_rename_and_save_in_jupyterlab(lab):
    from playwright.sync_api import expect

    saved_json = lab["root"] / "runs" / "demo" / "hierarchy.json"
    saved_nwk = saved_json.with_suffix(".nwk")
    with notebook_page(lab, NOTEBOOK.name, "hierarchy_editor_browser") as (page, shot):
        run_all_cells(page, lab)
        assert saved_json.exists(), "the notebook's last cell did not save the hierarchy"
        before_json, before_nwk = saved_json.read_text(), saved_nwk.read_text()
        assert NEW not in before_json

        tree = page.locator(".hierwbc-tree select")
        tree.scroll_into_view_if_needed()
        tree.select_option(index=default_hierarchy().node_index[OLD])
        name = page.locator(".hierwbc-new-name input")
        expect(name).to_have_value(OLD)  # the kernel saw the selection and filled the panel
        name.fill(NEW)
        page.locator(".hierwbc-rename").click()
        message = page.locator(".hierwbc-message")
        expect(message).to_contain_text(f"rename '{OLD}' to '{NEW}'")
        expect(tree.locator("option", has_text=NEW)).to_have_count(1)
        page.locator(".hierwbc-save").click()
        expect(message).to_contain_text("saved runs/demo/hierarchy.json")
        deadline = time.monotonic() + 30
        while NEW not in saved_json.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        page.locator(".hierwbc-editor").scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        after = Hierarchy.read(saved_json)
        assert saved_json.read_text() != before_json and saved_nwk.read_text() != before_nwk
        assert NEW in after and OLD not in after
        assert after.parent_of(NEW) == "granulocytic_mature"
        assert after.label_map("pbc").lookup("BA") == NEW  # the rename went through Hierarchy edits
        assert f",{NEW})granulocytic_mature" in saved_nwk.read_text()
    assert shot.exists() and shot.stat().st_size > 10_000
