"""JupyterLab on 127.0.0.1 driven by Debian's headless chromium (Playwright): the machinery the
browser tests share (``tests/hierarchy_editor/test_browser.py``, ``tests/plotting/test_browser_pick.py``).

- :func:`chromium`: the browser's path, after checking Playwright imports; when either is
  missing the test is skipped with the reason, except when the environment variable ``CI`` is
  set: then it fails, so CI cannot pass without running it (``.ci/run`` installs chromium).
- :func:`jupyterlab`: a server (free port, token auth, its own config/data/settings folders, no
  browser, the news plugin off, every cell kept in the DOM, kernels started without asking) on a
  root folder; shut down with its kernels on exit.
- :func:`wait_for_idle_kernel`, :func:`run_all_cells`, :func:`api`.
"""

from __future__ import annotations

import contextlib
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

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run (.ci/run installs chromium with apt)")
    pytest.skip(reason)


def chromium() -> Path:
    """Debian's chromium, with the playwright package importable (else skip / fail under CI)."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} not found (apt-get install -y chromium chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright Python package is not installed")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(lab: dict, path: str, method: str = "GET"):
    """A JupyterLab REST call (``/api/...``) with the server's token; the JSON answer."""
    req = urllib.request.Request(f"{lab['url']}{path}", method=method,
                                 headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def wait_for_idle_kernel(lab: dict, timeout: float = 120) -> None:
    """Until the server reports exactly one kernel, and it is idle."""
    deadline = time.monotonic() + timeout
    kernels: object = None
    while True:
        try:
            kernels = api(lab, "/api/kernels")
        except OSError as e:  # jupyter_server answers 500 while a kernel is still starting
            kernels = repr(e)
        if isinstance(kernels, list) and len(kernels) == 1 and kernels[0]["execution_state"] == "idle":
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no idle kernel after {timeout:.0f} s: {kernels}\n{lab['log'].read_text()[-3000:]}")
        time.sleep(0.5)


def run_all_cells(page, lab: dict, timeout_ms: int = 180_000) -> list[str]:
    """Run > Run All Cells, wait until every code cell has an execution number (or a traceback
    shows), fail on a traceback; the texts of the outputs."""
    from playwright.sync_api import expect

    wait_for_idle_kernel(lab)
    expect(page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")).to_have_attribute("data-status", "idle")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                   const done = p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent));
                   return done || document.body.innerText.includes('Traceback (most recent call last)'); }""",
        timeout=timeout_ms)
    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
    failed = [t for t in outputs if "Traceback (most recent call last)" in t]
    assert not failed, f"a notebook cell failed:\n{failed[0][-3000:]}"
    wait_for_idle_kernel(lab)
    return outputs


@contextlib.contextmanager
def jupyterlab(root: Path, workdir: Path):
    """A JupyterLab server serving ``root`` (its state under ``workdir``); yields ``{url, token,
    root, log}`` and shuts the kernels, then the server (its own process group), down."""
    jupyter = workdir / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_DATA_DIR=str(jupyter / "data"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"), IPYTHONDIR=str(jupyter / "ipython"),
               JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"))
    env.pop("MPLBACKEND", None)  # the kernel's own default (inline), as a user's
    # no news fetching (offline); start the notebook's kernel without asking; all cells attached
    # to the DOM (no virtual scrolling)
    _write_json(jupyter / "config" / "labconfig" / "page_config.json",
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    _write_json(jupyter / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
                {"windowingMode": "none", "autoStartDefaultKernel": True})
    token = secrets.token_hex(16)
    log_path = workdir / "jupyterlab.log"
    port = _free_port()
    lab = {"url": f"http://127.0.0.1:{port}", "token": token, "root": root, "log": log_path}
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
                api(lab, "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {lab['url']}:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield lab
    finally:
        try:
            for kernel in api(lab, "/api/kernels"):
                api(lab, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def notebook_page(lab: dict, notebook: str, artifact: str, height: int = 1400):
    """Headless chromium showing ``notebook`` of ``lab`` (a fresh workspace); yields ``(page,
    screenshot path)`` (``test-artifacts/<artifact>.png``, for the test to write). Stale
    artifacts are removed first; when the block fails, ``<artifact>_failure.png`` and the
    JupyterLab log ``<artifact>_jupyterlab.log`` are kept beside it."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{artifact}.png"
    failure, log = ARTIFACTS / f"{artifact}_failure.png", ARTIFACTS / f"{artifact}_jupyterlab.log"
    for stale in (shot, failure, log):
        stale.unlink(missing_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium()), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": height})
        page.set_default_timeout(90_000)
        try:
            page.goto(f"{lab['url']}/lab/tree/{notebook}?reset&token={lab['token']}")
            yield page, shot
        except BaseException:
            page.screenshot(path=str(failure))
            shutil.copy(lab["log"], log)
            raise
        finally:
            browser.close()
