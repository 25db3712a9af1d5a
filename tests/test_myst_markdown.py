"""Tests of coursetools.myst_markdown: the chapters' MyST Markdown made plain for Jupyter.

Expected outputs are written out by hand for small inputs; glue formatting is compared with
MyST-NB's own function; the numbers of figures, equations and exercises with the numbers
Sphinx printed in the built HTML (for pages built from their current source); and every
generated notebook -- launch, exercise and solution -- is searched for raw MyST.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from myst_nb.core.variables import format_plain_text

from coursetools import book
from coursetools.myst_markdown import (
    GLUE_TITLE,
    PENDING_TITLE,
    RAW_MYST,
    BookIndex,
    Label,
    book_url,
    convert,
    format_glue_text,
    mask_glue,
)

REPO = Path(__file__).resolve().parents[1]
BASE = "https://o.github.io/r/"
GENERATED = sorted(
    [
        *(REPO / "book").glob("*.ipynb"),
        *(REPO / "exercises").glob("*.ipynb"),
        *(REPO / "solutions").glob("*.ipynb"),
    ]
)


def _index() -> BookIndex:
    index = BookIndex(base_url=BASE)
    index.labels |= {
        "sec-a": Label("book/a", "sec-a", "A section"),
        "fig-a": Label("book/a", "fig-a", "Fig. 1.2", "1.2"),
        "eq-a": Label("book/a", "equation-eq-a", "(1.3)", "1.3"),
        "ex-a": Label("book/a", "ex-a", "Exercise 1.1", "1.1"),
    }
    index.titles |= {"book/a": "Chapter A", "book/b": "Chapter B"}
    index.citations |= {"rubin1981": ("Rubin", "1981"), "gh2007": ("Gelman and Hill", "2007")}
    return index


def _convert(text: str, glue: dict | None = None) -> str:
    converted, problems = convert(text, docname="book/a", index=_index(), glue=glue, root=REPO)
    assert problems == []
    return converted


def test_references_become_links_into_the_online_book():
    """ref, numref (plain and with %s), eq, doc and both cite forms become Markdown links
    with the text the book shows."""
    text = (
        "{ref}`sec-a`, {ref}`here <sec-a>`, {numref}`fig-a`, {numref}`Figure %s <fig-a>`, "
        "{eq}`eq-a`, {doc}`b`, {doc}`the other <../book/b>`, {cite}`rubin1981,gh2007`, "
        "{cite:t}`gh2007`, {ref}`ex-a`."
    )
    url = f"{BASE}book/a.html"
    bib = f"{BASE}book/bibliography.html"
    assert _convert(text) == (
        f"[A section]({url}#sec-a), [here]({url}#sec-a), [Fig. 1.2]({url}#fig-a), "
        f"[Figure 1.2]({url}#fig-a), [(1.3)]({url}#equation-eq-a), "
        f"[Chapter B]({BASE}book/b.html), [the other]({BASE}book/b.html), "
        f"([Rubin, 1981]({bib}); [Gelman and Hill, 2007]({bib})), "
        f"[Gelman and Hill (2007)]({bib}), [Exercise 1.1]({url}#ex-a)."
    )


def test_glue_text_becomes_the_formatted_value_or_a_pending_mark():
    """A glued value is pasted, formatted as the role asks and marked; without the built
    book the text names the value and says the cells compute it."""
    glue = {"tau": {"text/plain": "3.14159"}, "name": {"text/plain": "'school A'"}}
    assert _convert("tau is {glue:text}`tau:.2f` ({glue}`name`)", glue) == (
        f'tau is <span title="{GLUE_TITLE}">3.14</span> '
        f'(<span title="{GLUE_TITLE}">school A</span>)'
    )
    assert _convert("tau is {glue:text}`tau:.2f`") == (
        f'tau is <span title="{PENDING_TITLE}">[`tau`]({BASE}book/a.html)</span>'
    )


@given(
    value=st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(alphabet="abc xyz", max_size=8),
    ),
    spec=st.sampled_from(["", ".2f", ".0f", ".1%", ".3g", "s", ",.1f"]),
)
def test_glue_format_agrees_with_myst_nb(value, spec):
    """format_glue_text formats a glued text/plain value as MyST-NB's own function does."""
    text = repr(value)
    try:
        expected = format_plain_text(text, spec)
    except (ValueError, TypeError):
        with pytest.raises((ValueError, TypeError)):
            format_glue_text(text, spec)
        return
    assert format_glue_text(text, spec) == expected


def test_directives_become_quotes_details_figures_and_math():
    """An admonition becomes a titled quote, an exercise a numbered quote, its solution a
    folded <details>, a glued figure the image and its numbered caption, a labelled equation
    keeps its number with \\tag, and targets and definition lists go."""
    text = """\
(sec-a)=
## Title

:::{admonition} Learning objectives
:class: tip

You will {ref}`sec-a`.
:::

```{exercise}
:label: ex-a

Compute it.
```

````{solution} ex-a
:class: dropdown

It is

```python
1 + 1
```
````

```{glue:figure} fig_key
:name: fig-a
:alt: A plot

The caption.
```

$$
x = 1
$$ (eq-a)

Term
: Its definition,
  on two lines."""
    glue = {"fig_key": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}
    expected = f"""\
## Title

> **Learning objectives**
>
> You will [A section]({BASE}book/a.html#sec-a).

> **Exercise 1.1**
>
> Compute it.

<details>
<summary>Solution to Exercise 1.1</summary>

It is

```python
1 + 1
```

</details>

<!-- glue: fig_key -->
<img src="data:image/png;base64,iVBORw0KGgo=" alt="A plot" title="{GLUE_TITLE}"/>
<!-- /glue -->

**Fig. 1.2** The caption.

$$
x = 1
\\tag{{1.3}}
$$

- **Term**: Its definition,
  on two lines."""
    assert _convert(text, glue) == expected
    assert not RAW_MYST.search(_convert(text, glue))


def test_code_blocks_are_left_alone():
    """Roles and targets inside a code block are code, not MyST."""
    text = "```python\nx = '{ref}`sec-a`'\n(sec-a)=\n```"
    assert _convert(text) == text


def test_literalinclude_becomes_the_included_code(tmp_path):
    """{literalinclude} with :pyobject:, :start-at:, :end-before: and :dedent: gives the
    lines Sphinx would include, as a fenced block."""
    (tmp_path / "book").mkdir()
    (tmp_path / "m.py").write_text(
        "def other():\n    pass\n\n\ndef f(x):\n    '''Doc.'''\n    y = x + 1\n"
        "    z = y * 2\n    return z\n"
    )
    text = (
        "```{literalinclude} ../m.py\n:pyobject: f\n:start-at: y = x\n"
        ':end-before: "    return z"\n:dedent: 4\n```'
    )
    converted, problems = convert(text, docname="book/a", index=_index(), glue=None, root=tmp_path)
    assert problems == []
    assert converted == "```python\ny = x + 1\nz = y * 2\n```"


def test_unknown_constructs_are_reported_not_left_raw():
    """An unknown role or label is reported and shown as readable text."""
    converted, problems = convert(
        "{ref}`nowhere` and {abbr}`HMC`", docname="book/a", index=_index(), glue=None, root=REPO
    )
    assert converted == "nowhere and `HMC`"
    assert problems == [
        "book/a: unknown label 'nowhere' in {ref}",
        "book/a: unknown role {abbr}",
    ]


def test_masking_makes_built_and_unbuilt_notebooks_equal():
    """Computed values (pasted or pending, inline or a figure) are masked alike, so that a
    notebook is not stale because another machine drew other MCMC samples."""
    text = "x {glue:text}`tau:.2f` y\n\n```{glue:figure} fig_key\n:name: fig-a\n\nCap.\n```"
    built = _convert(text, {"tau": {"text/plain": "1.5"}, "fig_key": {"image/png": "AAAA"}})
    other = _convert(text, {"tau": {"text/plain": "1.7"}, "fig_key": {"image/png": "BBBB"}})
    pending = _convert(text)
    assert built != other != pending
    assert mask_glue(built) == mask_glue(other) == mask_glue(pending)
    assert mask_glue(_convert(text.replace("y", "z"))) != mask_glue(pending)


def test_book_url_comes_from_the_repository_setting():
    """The online book is the repository's GitHub Pages site unless html.baseurl says."""
    assert book_url("https://github.com/Some-Org/course") == "https://some-org.github.io/course/"
    assert book_url("https://github.com/o/r.git", "https://x.org/b") == "https://x.org/b/"


def _built_number(html: str, anchor: str) -> str | None:
    if anchor.startswith("equation-"):
        found = re.search(
            rf'class="eqno">\(([\d.]+)\)<a class="headerlink" href="#{re.escape(anchor)}"', html
        )
        return found[1] if found else None
    start = html.find(f'id="{anchor}"')
    if start < 0:
        return None
    found = re.search(r'class="caption-number">(?:Fig\.|Exercise) ([\d.]+)', html[start:])
    return found[1] if found else None


@pytest.mark.browser  # needs the built book: make browser-test runs it after make book
def test_numbers_match_the_built_book():
    """Every numbered figure, equation and exercise gets the number Sphinx printed in the
    built page (pages built before their source last changed are skipped)."""
    index = book.book_index(REPO)
    checked = 0
    for label, target in index.labels.items():
        page = REPO / "_build" / "html" / f"{target.docname}.html"
        source = REPO / f"{target.docname}.md"
        if not target.number or not page.is_file() or page.stat().st_mtime < source.stat().st_mtime:
            continue
        assert _built_number(page.read_text(encoding="utf-8"), target.anchor) == target.number, (
            label
        )
        checked += 1
    if not checked and os.environ.get("BOOK_REQUIRED"):
        pytest.fail("BOOK_REQUIRED is set but no page of the built book is current")
    if not checked:
        pytest.skip("no page of the built book is current (make book)")


@pytest.mark.parametrize("path", GENERATED, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_no_raw_myst_in_generated_notebooks(path):
    """No Markdown cell of a launch, exercise or solution notebook holds a MyST role,
    directive, target, labelled equation or definition line."""
    notebook = nbformat.read(path, as_version=4)
    raw = [
        match[0]
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for match in RAW_MYST.finditer(cell.source)
    ]
    assert raw == []


def test_the_chapters_convert_without_problems():
    """Every role, directive and label of every chapter is one the converter knows."""
    problems: list[str] = []
    url, branch = book.repository_setting(REPO)
    index = book.book_index(REPO, url)
    for source in book.chapter_sources(REPO):
        book.launch_notebook(
            source, repository_url=url, branch=branch, index=index, problems=problems
        )
    assert problems == []
