"""The built book in a real browser: every page of ``_build/html`` in headless Chromium.

The site is served on 127.0.0.1 (a free port) and each page is opened by Debian's
Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright; Playwright's
own browser downloads are never used. On every page:

- no console errors, no uncaught exceptions, no failed or 4xx/5xx requests, and no
  request leaving the machine (the book must work offline: MathJax is served locally);
- every image loads (``naturalWidth > 0``) and has alt text; every figure has a caption;
- every formula is typeset by MathJax (no TeX errors) and no raw ``$...$``, ``\\(``
  or ``\\[`` is left in the text outside code;
- every dropdown (exercise solutions, folded cells) is closed and opens on click;
- every link into the site resolves: the file is served (no 404) and its ``#fragment``
  exists in the target page;
- a chapter's launch buttons (Colab, Binder) open its generated notebook
  ``book/<chapter>.ipynb``, which exists;
- no code block shown to the reader (cell inputs and outputs, included sources: every
  ``div.cell_input pre`` and ``div.highlight pre``, measured with its dropdown opened)
  scrolls sideways at the 1280-pixel viewport, and no code text contains ``glue(``:
  publishing machinery lives in ``remove-cell`` cells.

The grading pages (:mod:`coursetools.grading.feedback`: a student's feedback and the class
summary, written from a few grade rows; screenshots ``feedback__*.png``) are opened too: no
console errors, every score shown, reasons carrying HTML shown as text with no script run,
the summary's plots loaded.

A full-page screenshot of each page is saved to ``_build/screenshots/`` for review, with
``pages.tsv`` listing each page's load time and what was checked (``make bench`` reads it).
``BOOK_HTML=<dir>`` tests another build (``make book-student`` tests the student edition,
its screenshots going to ``<dir>/../screenshots``).

Skipped when the book has not been built (``make book``). ``make test`` runs it after the
build with ``BOOK_REQUIRED=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
HTML = REPO / os.environ.get("BOOK_HTML", "_build/html")
SCREENSHOTS = HTML.parent / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Playwright's launch() adds --headless and a fresh temporary --user-data-dir itself.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^\s$][^$\n]*\$")
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+; url=([^"]+)"', re.IGNORECASE)

pytestmark = pytest.mark.browser


def _unavailable() -> str | None:
    if not (HTML / "index.html").exists():
        return f"the book is not built ({HTML} is missing): run `make book` first"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)"
    return None


if (reason := _unavailable()) is not None:
    if os.environ.get("BOOK_REQUIRED"):
        pytest.fail(f"BOOK_REQUIRED is set but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (skipped above without a book)

PAGES = sorted(
    path.relative_to(HTML).as_posix()
    for path in HTML.rglob("*.html")
    if not path.relative_to(HTML).parts[0].startswith("_")
)
REPORT: dict[str, dict[str, object]] = {}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the signature is http.server's)
        pass


class _Ids(html.parser.HTMLParser):
    """Collects the ``id`` and ``name`` attributes of a page: the targets of #fragments."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for key, value in attrs if key in ("id", "name") and value)


@pytest.fixture(scope="module")
def site():
    """The built book served on a free port of 127.0.0.1; yields its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), shared by the pages; writes pages.tsv at the end."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()
    if not REPORT:  # only the feedback pages were opened: keep the book's report
        return
    columns = ["load_seconds", "images", "formulas", "dropdowns", "code_blocks", "links"]
    lines = ["\t".join(["page", *columns])]
    lines += ["\t".join([page, *(str(row[c]) for c in columns)]) for page, row in REPORT.items()]
    (SCREENSHOTS / "pages.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@functools.cache
def _served(url: str) -> tuple[int, frozenset[str]]:
    """HTTP status of a URL of the site and, for a page, the ids its fragments can target."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        return error.code, frozenset()
    parser = _Ids()
    if url.endswith(".html"):
        parser.feed(body.decode("utf-8"))
    return status, frozenset(parser.ids)


def _open(browser, url: str):
    """Open a page in a fresh context, recording errors and blocking off-site requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))

    def route(route):
        if route.request.url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            problems.append(f"request leaving the machine: {route.request.url}")
            route.abort()

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_failed(request):
        if request.url.startswith(origin):
            problems.append(f"request failed: {request.url} ({request.failure})")

    def on_response(response):
        if response.status >= 400:
            problems.append(f"HTTP {response.status}: {response.url}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    return context, page, problems


def _check_images(page) -> tuple[int, list[str]]:
    images = page.evaluate(
        """async () => {
            const images = Array.from(document.images);
            images.forEach((img) => { img.loading = "eager"; });
            const settled = (img) => img.complete ? null : new Promise((done) => {
                img.addEventListener("load", done);
                img.addEventListener("error", done);
            });
            const timeout = new Promise((done) => setTimeout(done, 15000));
            await Promise.race([Promise.all(images.map(settled)), timeout]);
            return images.map((img) => ({
                src: img.currentSrc || img.src,
                loaded: img.complete && img.naturalWidth > 0,
                alt: (img.getAttribute("alt") || "").trim(),
            }));
        }"""
    )
    problems = [f"image did not load: {i['src']}" for i in images if not i["loaded"]]
    problems += [f"image without alt text: {i['src']}" for i in images if not i["alt"]]
    uncaptioned = page.evaluate(
        """() => Array.from(document.querySelectorAll("main figure"))
            .filter((figure) => !(figure.querySelector("figcaption")?.textContent.trim()))
            .map((figure) => figure.id || figure.querySelector("img")?.src || "?")"""
    )
    problems += [f"figure without caption: {name}" for name in uncaptioned]
    return len(images), problems


def _check_math(page) -> tuple[int, list[str]]:
    state = page.evaluate(
        """async () => {
            if (window.MathJax?.startup?.promise) await MathJax.startup.promise;
            const formulas = Array.from(document.querySelectorAll(".math"));
            const text = document.querySelector("main")?.cloneNode(true);
            text?.querySelectorAll("pre, code, script, style, textarea, mjx-container")
                .forEach((node) => node.remove());
            return {
                formulas: formulas.length,
                untypeset: formulas.filter((f) => !f.querySelector("mjx-container")).length,
                errors: Array.from(document.querySelectorAll("mjx-merror"))
                    .map((e) => e.getAttribute("data-mjx-error") || e.textContent),
                text: text ? text.textContent : "",
            };
        }"""
    )
    problems = [f"TeX error: {error}" for error in state["errors"]]
    if state["untypeset"]:
        problems.append(f"{state['untypeset']} of {state['formulas']} formulas not typeset")
    problems += [
        f"raw TeX in the text: ...{state['text'][max(m.start() - 30, 0) : m.end() + 30]!r}..."
        for m in RAW_MATH.finditer(state["text"])
    ]
    return state["formulas"], problems


def _check_dropdowns(page) -> tuple[int, list[str]]:
    problems = []
    toggles = page.locator("main .admonition.dropdown, main .admonition.toggle")
    for index in range(toggles.count()):
        dropdown = toggles.nth(index)
        name = dropdown.get_attribute("id")
        content = dropdown.locator(":scope > :not(.admonition-title)").first
        if content.is_visible():
            problems.append(f"dropdown {name} is open before a click")
        button = dropdown.locator(".toggle-button")
        if not button.count():
            problems.append(f"dropdown {name} has no toggle button")
            continue
        button.click()
        try:
            content.wait_for(state="visible", timeout=5_000)
        except Exception:
            problems.append(f"dropdown {name} did not open on click")
    details = page.locator("main details")
    for index in range(details.count()):
        element = details.nth(index)
        element.locator(":scope > summary").click()
        if element.get_attribute("open") is None:
            problems.append(f"<details> #{index} did not open on click")
    return toggles.count() + details.count(), problems


def _check_links(page, site: str) -> tuple[int, list[str]]:
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), (a) => a.href)")
    here = page.url.split("#")[0]
    problems = []
    internal = sorted({href for href in hrefs if href.startswith(site)})
    for href in internal:
        target, fragment = urldefrag(href)
        status, ids = _served(target)
        if status != 200:
            problems.append(f"broken link: {href} (HTTP {status})")
        elif fragment and target.endswith(".html"):
            exists = (
                page.evaluate("(id) => document.getElementById(id) !== null", unquote(fragment))
                if target == here
                else unquote(fragment) in ids
            )
            if not exists:
                problems.append(f"link to a missing anchor: {href}")
    return len(internal), problems


def _check_code_blocks(page) -> tuple[int, list[str]]:
    """Code the reader sees: no sideways scrolling, no ``glue(`` calls."""
    blocks = page.evaluate(
        """() => Array.from(
            document.querySelectorAll("main div.cell_input pre, main div.highlight pre"),
            (pre) => ({
                shown: pre.getClientRects().length > 0,
                scroll: pre.scrollWidth,
                client: pre.clientWidth,
                text: pre.textContent,
            }))"""
    )
    problems = []
    for block in blocks:
        first = next((line for line in block["text"].splitlines() if line.strip()), "")
        if block["shown"] and block["scroll"] > block["client"]:
            longest = max(block["text"].splitlines() or [""], key=len)
            problems.append(
                f"code block scrolls sideways ({block['scroll']} > {block['client']} px; "
                f"longest line {len(longest)} characters): {longest.strip()[:70]!r}"
            )
        if "glue(" in block["text"]:
            problems.append(f"glue( in code shown to the reader: {first.strip()[:70]!r}")
    return len(blocks), problems


def _check_launch_buttons(page) -> list[str]:
    links = page.evaluate(
        """() => Array.from(document.querySelectorAll(".dropdown-launch-buttons a"),
            (a) => a.href)"""
    )
    if not links:
        return []
    source = re.sub(r"\.html$", ".ipynb", urlsplit(page.url).path.lstrip("/"))
    problems = [f"launch link not to {source}: {url}" for url in links if source not in url]
    if len(links) != 2:
        problems.append(f"expected Colab and Binder launch links, got {links}")
    if not (REPO / source).exists():
        problems.append(f"launch notebook {source} missing: run `make launch-notebooks`")
    return problems


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_browser(page_path, site, browser):
    """Page loads cleanly offline; images, math, dropdowns, code, links and launch work."""
    url = site + page_path
    context, page, problems = _open(browser, url)
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="load")
        if redirect := REDIRECT.search((HTML / page_path).read_text(encoding="utf-8")):
            page.wait_for_url(urljoin(url, redirect.group(1)))  # the page it redirects to
            page.wait_for_load_state("load")
        n_formulas, math_problems = _check_math(page)
        page.evaluate("document.fonts.ready")
        n_images, image_problems = _check_images(page)
        load_seconds = time.perf_counter() - start
        page.screenshot(
            path=SCREENSHOTS / f"{page_path.removesuffix('.html').replace('/', '__')}.png",
            full_page=True,
        )
        n_dropdowns, dropdown_problems = _check_dropdowns(page)
        n_code, code_problems = _check_code_blocks(page)  # dropdowns now open
        n_links, link_problems = _check_links(page, site)
        problems += math_problems + image_problems + dropdown_problems + link_problems
        problems += code_problems
        problems += _check_launch_buttons(page)
    finally:
        context.close()
    REPORT[page_path] = {
        "load_seconds": f"{load_seconds:.2f}",
        "images": n_images,
        "formulas": n_formulas,
        "dropdowns": n_dropdowns,
        "code_blocks": n_code,
        "links": n_links,
    }
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------ grading feedback pages (issue 13)

FEEDBACK_QUESTIONS = {"q1": 2.0, "q2": 1.0, "q3": 3.0}
FEEDBACK_EVIL = (
    '<script>window.__pwned = "script"</script> & '
    '<img src="data:," alt="" onerror="window.__pwned = \'img\'">'
)
FEEDBACK_SCORES = {  # student: (scores of q1, q2, q3; late)
    "adalovelace": ((2.0, 1.0, 3.0), False),
    "bobzero": ((0.0, 0.0, 0.0), False),
    "cydlate": ((2.0, 0.0, 1.5), True),
}


@pytest.fixture(scope="module")
def feedback_pages(tmp_path_factory) -> dict[str, Path]:
    """Feedback pages of three students (full marks, zero with reasons carrying HTML, late
    and partial) and the class summary, written by ``coursetools.grading.feedback``."""
    from coursetools.grading import feedback
    from coursetools.grading.report import ALL_PASSED, GradeRow

    rows = []
    for student, (scores, late) in FEEDBACK_SCORES.items():
        for (question, possible), score in zip(FEEDBACK_QUESTIONS.items(), scores, strict=True):
            reason = ALL_PASSED if score >= possible else f"test_{question}: {FEEDBACK_EVIL}"
            rows.append(
                GradeRow(student, f"{student}.ipynb", "02-shrinkage", question, score,
                         possible, reason, "bwrap", late=late, source=f"{student}.ipynb",
                         name=student.title(), email=f"{student}@example.org")
            )  # fmt: skip
    folder = tmp_path_factory.mktemp("feedback")
    pages = feedback.write_feedback(rows, folder / "feedback")
    pages["summary"] = feedback.write_summary(rows, folder / "summary.html")
    return pages


@pytest.mark.parametrize("which", ["summary", *FEEDBACK_SCORES])
def test_feedback_page_in_browser(which, feedback_pages, browser):
    """A student's feedback page (or the class summary) opens cleanly: no console error,
    every question's score visible, reasons with HTML shown as text with no script run,
    the late flag shown; the summary's plots loaded, one per question."""
    url = feedback_pages[which].as_uri()
    context, page, problems = _open(browser, url)
    try:
        page.goto(url, wait_until="load")
        n_images, problems_images = _check_images(page)
        problems += problems_images
        page.screenshot(path=SCREENSHOTS / f"feedback__{which}.png", full_page=True)
        text = page.locator("body").inner_text()
        if not page.evaluate("() => window.__pwned === undefined"):
            problems.append(f"the page ran the student's code: {page.evaluate('window.__pwned')}")
        if page.locator("script, body img:not([src^='data:image/png'])").count():
            problems.append("an element from a reason became part of the page")
        if which == "summary":
            if n_images != len(FEEDBACK_QUESTIONS):
                problems.append(f"{n_images} plots for {len(FEEDBACK_QUESTIONS)} questions")
            for question in FEEDBACK_QUESTIONS:
                if not page.get_by_role("row").filter(has_text=question).first.is_visible():
                    problems.append(f"{question} missing from the summary table")
        else:
            scores, late = FEEDBACK_SCORES[which]
            for (question, possible), score in zip(FEEDBACK_QUESTIONS.items(), scores, strict=True):
                row = page.get_by_role("row").filter(has_text=question)
                if not (row.count() == 1 and row.is_visible()):
                    problems.append(f"no visible row for {question}")
                elif f"{score:g} / {possible:g}" not in row.inner_text():
                    problems.append(f"{question}: {score:g} / {possible:g} not shown")
            if any(s < p for s, p in zip(scores, FEEDBACK_QUESTIONS.values(), strict=True)):
                if FEEDBACK_EVIL not in text:
                    problems.append("the reason's HTML is not shown as text")
            if late != ("(submitted late)" in text):
                problems.append(f"late flag shown wrongly (late: {late})")
    finally:
        context.close()
    assert not problems, f"{which}:\n  " + "\n  ".join(problems)
