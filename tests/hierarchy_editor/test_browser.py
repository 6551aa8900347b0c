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

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hierwbc.hierarchy import Hierarchy, default_hierarchy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_hierarchy.ipynb"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OLD, NEW = "basophil", "basophil_renamed"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run (.ci/run installs chromium with apt)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{url}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _wait_for_idle_kernel(lab, timeout: float = 120) -> None:
    """Until the server reports exactly one kernel, and it is idle."""
    deadline = time.monotonic() + timeout
    kernels: object = None
    while True:
        try:
            kernels = _api(lab["url"], lab["token"], "/api/kernels")
        except OSError as e:  # jupyter_server answers 500 while a kernel is still starting
            kernels = repr(e)
        if isinstance(kernels, list) and len(kernels) == 1 and kernels[0]["execution_state"] == "idle":
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no idle kernel after {timeout:.0f} s: {kernels}\n{lab['log'].read_text()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture()
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a temp root that holds a copy of the notebook."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    jupyter = tmp_path / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_DATA_DIR=str(jupyter / "data"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"), IPYTHONDIR=str(jupyter / "ipython"),
               JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"))
    # no news fetching (offline); start the notebook's kernel without asking; all cells attached
    # to the DOM (no virtual scrolling)
    _write_json(jupyter / "config" / "labconfig" / "page_config.json",
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    _write_json(jupyter / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
                {"windowingMode": "none", "autoStartDefaultKernel": True})
    token = secrets.token_hex(16)
    log_path = tmp_path / "jupyterlab.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.allow_root=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                _api(url, token, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {url}:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root, "log": log_path}
    finally:
        try:  # shut the kernels down through the API, then the server (its own process group)
            for kernel in _api(url, token, "/api/kernels"):
                _api(url, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture()
def chromium() -> Path:
    """Debian's chromium and Playwright, checked before JupyterLab is started."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install -y chromium chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    return CHROMIUM


@pytest.mark.timeout(600)
def test_rename_and_save_in_jupyterlab(chromium, lab):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "hierarchy_editor_browser.png"
    for stale in (shot, ARTIFACTS / "hierarchy_editor_browser_failure.png",
                  ARTIFACTS / "hierarchy_editor_browser_jupyterlab.log"):
        stale.unlink(missing_ok=True)
    saved_json = lab["root"] / "runs" / "demo" / "hierarchy.json"
    saved_nwk = saved_json.with_suffix(".nwk")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        page.set_default_timeout(90_000)
        ok = False
        try:
            page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK.name}?reset&token={lab['token']}")
            _wait_for_idle_kernel(lab)
            status = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
            expect(status).to_have_attribute("data-status", "idle")
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            # every code cell executed (a number in its prompt), or a traceback shown
            page.wait_for_function(
                """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                           const done = p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent));
                           return done || document.body.innerText.includes('Traceback (most recent call last)'); }""",
                timeout=180_000)
            outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
            failed = [t for t in outputs if "Traceback (most recent call last)" in t]
            assert not failed, f"a notebook cell failed:\n{failed[0][-3000:]}"
            _wait_for_idle_kernel(lab)
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
            ok = True
        finally:
            if not ok:
                page.screenshot(path=str(ARTIFACTS / "hierarchy_editor_browser_failure.png"))
                shutil.copy(lab["log"], ARTIFACTS / "hierarchy_editor_browser_jupyterlab.log")
            browser.close()
    assert shot.exists() and shot.stat().st_size > 10_000
