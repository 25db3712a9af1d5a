"""A launch notebook and an exercise notebook opened in JupyterLab, in headless Chromium.

JupyterLab is started on 127.0.0.1 (a free port, a random token, its folder a temporary
copy of ``book/shrinkage.ipynb`` -- the chapter without MCMC -- and
``exercises/02-shrinkage.ipynb``) and each notebook is opened by Debian's Chromium driven
by Playwright. In each:

- every Markdown cell is rendered, and its text holds no raw MyST (roles, directive
  fences, targets, labelled equations, definition lines) and no untypeset ``$$``;
- the pasted figures load, and the exercises' solutions are folded ``<details>``;
- all cells run (JupyterLab's own "run all" command; the install cell is a no-op here),
  and the saved notebook has no error output.

Skipped where JupyterLab or Chromium is missing, except under ``make browser-test``
(``BOOK_REQUIRED=1``), where a missing JupyterLab fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from coursetools.myst_markdown import RAW_MYST

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NOTEBOOKS = {
    "launch": REPO / "book" / "shrinkage.ipynb",
    "exercise": REPO / "exercises" / "02-shrinkage.ipynb",
}
RUN_TIMEOUT = 300

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port; yields (base URL, token, its folder)."""
    if os.environ.get("BOOK_REQUIRED"):
        import jupyterlab  # noqa: F401  (in requirements.lock: make browser-test needs it)
    else:
        pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    folder = tmp_path_factory.mktemp("lab")
    for path in NOTEBOOKS.values():
        shutil.copyfile(path, folder / path.name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = dict(
        os.environ, COMPANION_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline"
    )
    env["JUPYTER_CONFIG_DIR"] = str(folder / ".jupyter")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--allow-root", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start within 60 s")
            time.sleep(0.5)
    yield base, token, folder
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def _in_notebook(page, selector: str, function: str):
    """``function`` (JavaScript, of a list of nodes) applied to the nodes matching
    ``selector`` in the open notebook only (JupyterLab keeps other tabs in the page)."""
    return page.evaluate(
        f"""() => ({function})([...window.jupyterapp.shell.currentWidget.node
            .querySelectorAll({json.dumps(selector)})])"""
    )


def _errors(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


@pytest.mark.parametrize("kind", list(NOTEBOOKS))
def test_notebook_renders_and_runs_in_jupyterlab(kind, lab, browser):
    """The notebook's Markdown renders with no raw MyST, its figures load, and all its cells
    run without error (see the module docstring)."""
    base, token, folder = lab
    name = NOTEBOOKS[kind].name
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    # a workspace of its own: JupyterLab would otherwise restore the previous test's tab
    page.goto(f"{base}/lab/workspaces/{kind}/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")

    page.wait_for_function(
        """() => {
            const session = window.jupyterapp.shell.currentWidget.sessionContext.session;
            return session && session.kernel && session.kernel.status === "idle";
        }""",
        polling=500,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const widget = window.jupyterapp.shell.currentWidget;
            const cells = widget.content.model.cells;
            let code = 0, run = 0;
            for (let i = 0; i < cells.length; i++) {
                const cell = cells.get(i);
                if (cell.type === "code") { code++; if (cell.executionCount) run++; }
            }
            const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
            return code > 0 && run === code && kernel && kernel.status === "idle";
        }""",
        timeout=RUN_TIMEOUT * 1000,
        polling=1000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(2000)
    page.evaluate(
        "() => window.jupyterapp.commands.execute('notebook:render-all-markdown')"
    )  # rendered anyway; this also renders any cell a reader left in edit mode
    page.wait_for_timeout(1000)

    texts = _in_notebook(
        page, ".jp-MarkdownCell .jp-RenderedMarkdown", "nodes => nodes.map(n => n.textContent)"
    )
    cells = nbformat.read(NOTEBOOKS[kind], as_version=4).cells
    markdown = [cell for cell in cells if cell.cell_type == "markdown"]
    assert len(texts) == len(markdown)
    raw = [match[0] for text in texts for match in RAW_MYST.finditer(text)]
    assert raw == []
    assert not any("$$" in text for text in texts), "untypeset display maths"
    images = _in_notebook(
        page, ".jp-RenderedMarkdown img", "nodes => nodes.map(n => [n.complete, n.naturalWidth])"
    )
    assert all(complete and width > 0 for complete, width in images), images
    assert len(images) == sum(cell.source.count("<img ") for cell in markdown)
    if kind == "launch":
        summaries = _in_notebook(
            page, ".jp-RenderedMarkdown details summary", "nodes => nodes.map(n => n.textContent)"
        )
        assert summaries and all(re.match(r"Solution to Exercise \d+\.\d+", s) for s in summaries)
        assert len(summaries) == sum(cell.source.count("<details>") for cell in markdown)
        opened = _in_notebook(
            page, ".jp-RenderedMarkdown details", "nodes => nodes.filter(n => n.open).length"
        )
        assert opened == 0
    page.screenshot(path=str(folder / f"{kind}.png"), full_page=False)
    page.close()

    assert _errors(folder / name) == []
    executed = nbformat.read(folder / name, as_version=4)
    counts = [cell.execution_count for cell in executed.cells if cell.cell_type == "code"]
    assert counts and all(count is not None for count in counts), json.dumps(counts)
