"""MyST Markdown to the Markdown that plain Jupyter (JupyterLab, Notebook, Colab) renders.

The launch notebooks (:func:`coursetools.book.launch_notebook`) carry the chapters'
Markdown cells, written for Jupyter Book: roles (``{glue:text}``, ``{ref}``, ``{numref}``,
``{eq}``, ``{doc}``, ``{cite}``), directives (admonitions, ``{exercise}``/``{solution}``
from sphinx-exercise, ``{glue:figure}``, ``{glue:math}``, ``{literalinclude}``), targets
``(label)=``, labelled display maths ``$$ ... $$ (label)`` and definition lists. Jupyter
shows all of them as raw text. :func:`convert` rewrites them:

- glue roles become the values the book computed (``<chapter>.glue.json``, written by
  MyST-NB under ``_build/jupyter_execute`` when the book is built), formatted as the role
  asks and marked ``<span title="...">``; a glued figure becomes the image itself with its
  caption, a glued equation its LaTeX. Without a built value the text says that the cells
  compute it and links to the page;
- admonitions become block quotes headed by their title, exercises block quotes headed
  "Exercise 1.2" (numbered as the book numbers them), solutions ``<details>`` that fold;
- references and citations become links into the online book (:func:`book_url`), with the
  text the book shows: a section's title, "Fig. 1.2", "(3.1)", "Exercise 1.2", a page's
  title, "(Rubin, 1981)" / "Rubin (1981)". Numbers are counted from the sources in the
  book's order (``_toc.yml``), as Sphinx counts them; equations keep theirs with
  ``\\tag``;
- ``{literalinclude}`` becomes the included code, ``(label)=`` lines go, definition lists
  become bullet lists.

What it cannot convert it leaves as readable text and reports in ``problems``.

Why not sphinx-tojupyter
------------------------
QuantEcon's sphinx-tojupyter 0.6.0 (a Sphinx builder writing notebooks from the doctree)
was tried first, on a page with each construct the chapters use, beside this book's lock:
it resolves with the lock's pins but adds 39 packages (dask and distributed, nbdime,
jupyter-server, GitPython, ...) and needs a second Sphinx build of the whole book. Its
output pastes glue text values, but: of the admonitions only ``note`` becomes a quote (a
titled admonition becomes a section heading, a ``warning`` loses its kind), exercises and
solutions become plain headings (the solution is not folded), a glued figure is written
with its whole base64 image as alt text too, citations link to an in-page bibliography
that chapters do not have, and cells tagged ``remove-cell`` (the glue cells, which the
text depends on when run) are dropped. Converting the Markdown cells of the sources, as
here, keeps the code cells exactly as jupytext reads them and costs no extra build.
"""

from __future__ import annotations

import ast
import html
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = [
    "GLUE_TITLE",
    "PENDING_TITLE",
    "mask_glue",
    "BookIndex",
    "Label",
    "RAW_MYST",
    "book_url",
    "convert",
    "format_glue_text",
    "load_glue",
]

GLUE_TITLE = "computed by the cells of this notebook when the book was built"
"""The ``title`` of the ``<span>`` around every pasted glue value."""
PENDING_TITLE = "computed by the cells of this notebook when you run them"
"""The ``title`` of the ``<span>`` that stands for a value the book has not computed yet."""
_GLUED_SPAN = re.compile(rf'<span title="(?:{GLUE_TITLE}|{PENDING_TITLE})">.*?</span>', re.S)
_GLUED_BLOCK = re.compile(r"<!-- glue: (\S+) -->\n.*?\n<!-- /glue -->", re.S)

RAW_MYST = re.compile(
    r"\{[a-zA-Z][\w:.-]*\}`"  # a role
    r"|^\s*(?:`{3,}|:{3,})\s*\{[\w:.-]+\}"  # a directive fence
    r"|^\s*\([\w:.-]+\)=\s*$"  # a target
    r"|\$\$\s*\([\w:.-]+\)\s*$"  # a labelled equation
    r"|^:\s",  # a definition
    flags=re.M,
)
"""What raw MyST looks like in Markdown (used by the tests on every generated notebook)."""

_ROLE = re.compile(r"\{(?P<name>[a-zA-Z][\w:.-]*)\}`(?P<content>[^`]*)`")
_FENCE_OPEN = re.compile(
    r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$"
)
_TARGET = re.compile(r"^\s*\((?P<label>[\w:.-]+)\)=\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LABELLED_MATH_END = re.compile(r"^(?P<before>.*?)\$\$\s*\((?P<label>[\w:.-]+)\)\s*$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s?(?P<value>.*)$")
_ADMONITIONS = {
    "attention", "caution", "danger", "error", "hint", "important", "note", "seealso",
    "tip", "warning",
}  # fmt: skip


@dataclass(frozen=True)
class Label:
    """A reference target: the page, the anchor there and the text a reference shows."""

    docname: str
    anchor: str
    text: str
    number: str = ""


@dataclass
class BookIndex:
    """Every label of the book's pages, their titles and the bibliography."""

    labels: dict[str, Label] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)
    base_url: str = ""

    @classmethod
    def from_book(cls, root: Path, base_url: str) -> BookIndex:
        """Read ``_toc.yml``, every page it lists and ``references.bib`` under ``root``."""
        index = cls(base_url=base_url.rstrip("/") + "/")
        for docname, chapter in _toc_pages(root):
            path = root / f"{docname}.md"
            if path.is_file():
                index._read_page(docname, chapter, path.read_text(encoding="utf-8"))
        bib = root / "references.bib"
        if bib.is_file():
            index.citations = _read_bibliography(bib)
        return index

    def url(self, docname: str, anchor: str = "") -> str:
        """The online address of a page (and an anchor on it)."""
        return f"{self.base_url}{docname}.html" + (f"#{anchor}" if anchor else "")

    def _read_page(self, docname: str, chapter: str, text: str) -> None:
        prefix = f"{chapter}." if chapter else ""
        counts = {"figure": 0, "equation": 0, "exercise": 0}
        lines = _outside_code(text.splitlines())
        pending: list[str] = []
        for number, line in lines:
            if target := _TARGET.match(line):
                pending.append(target["label"])
                continue
            if heading := _HEADING.match(line):
                title = _plain(heading[2])
                self.titles.setdefault(docname, title)
                for label in pending:
                    self.labels[label] = Label(docname, _anchor(label), title)
                pending = []
                continue
            if line.strip() and pending:
                for label in pending:
                    self.labels[label] = Label(docname, _anchor(label), label)
                pending = []
            if opened := _FENCE_OPEN.match(line):
                name, options = opened["name"], _options_after(text.splitlines(), number)
                if name == "glue:figure" and options.get("name"):
                    counts["figure"] += 1
                    tag = f"{prefix}{counts['figure']}"
                    label = options["name"]
                    self.labels[label] = Label(docname, _anchor(label), f"Fig. {tag}", tag)
                elif name in ("glue:math", "math") and options.get("label"):
                    counts["equation"] += 1
                    tag = f"{prefix}{counts['equation']}"
                    label = options["label"]
                    self.labels[label] = Label(docname, f"equation-{label}", f"({tag})", tag)
                elif name == "exercise":
                    counts["exercise"] += 1
                    tag = f"{prefix}{counts['exercise']}"
                    if options.get("label"):
                        label = options["label"]
                        self.labels[label] = Label(docname, label, f"Exercise {tag}", tag)
            elif math := _LABELLED_MATH_END.match(line):
                counts["equation"] += 1
                tag = f"{prefix}{counts['equation']}"
                label = math["label"]
                self.labels[label] = Label(docname, f"equation-{label}", f"({tag})", tag)


def _anchor(label: str) -> str:
    """Sphinx's id for a label: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _plain(text: str) -> str:
    """A heading's text without Markdown emphasis, code marks or roles."""
    text = _ROLE.sub(lambda match: match["content"], text)
    return re.sub(r"[*_`]", "", text).strip()


def _outside_code(lines: list[str]) -> list[tuple[int, str]]:
    """``(index, line)`` of the lines outside literal code blocks (directive fences and
    their content are kept)."""
    kept: list[tuple[int, str]] = []
    directives: list[str] = []
    code = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if code:
            if stripped and set(stripped) == {code[0]} and len(stripped) >= len(code):
                code = None
            continue
        if directives and stripped == directives[-1]:
            directives.pop()
            continue
        if opened := _FENCE_OPEN.match(line):
            directives.append(opened["fence"])
        elif fence := re.match(r"^(`{3,}|~{3,})", stripped):
            code = fence[1]
            continue
        kept.append((number, line))
    return kept


def _options_after(lines: list[str], number: int) -> dict[str, str]:
    options = {}
    for line in lines[number + 1 :]:
        option = _OPTION.match(line)
        if not option:
            break
        options[option["key"]] = option["value"].strip()
    return options


def _toc_pages(root: Path) -> list[tuple[str, str]]:
    """``(docname, chapter number or "")`` of every page in ``_toc.yml``, in order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [(toc["root"], "")]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        numbered = bool(part.get("numbered"))
        for position, entry in enumerate(part.get("chapters", []), 1):
            pages.append((entry["file"], str(position) if numbered else ""))
    return pages


def _read_bibliography(path: Path) -> dict[str, tuple[str, str]]:
    """``key -> (authors, year)`` as the book's author-year citations show them."""
    from pybtex.database import parse_file

    entries = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(person.last_names).replace("{", "").replace("}", "") for person in people]
        if len(names) > 2:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        entries[key] = (authors, entry.fields.get("year", "n.d."))
    return entries


def book_url(repository_url: str, configured: str | None = None) -> str:
    """The online book's address: ``html.baseurl`` of ``_config.yml`` when set, otherwise the
    GitHub Pages site of the repository (``https://<owner>.github.io/<name>/``)."""
    if configured:
        return configured.rstrip("/") + "/"
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repository_url)
    if not match:
        return repository_url.rstrip("/") + "/"
    return f"https://{match[1].lower()}.github.io/{match[2]}/"


def load_glue(path: Path) -> dict[str, dict] | None:
    """The glued outputs of one executed chapter (``<chapter>.glue.json``): key -> MIME data."""
    if not Path(path).is_file():
        return None
    outputs = json.loads(Path(path).read_text(encoding="utf-8"))
    return {key: output.get("data", {}) for key, output in outputs.items()}


def format_glue_text(text: str, spec: str) -> str:
    """A glued ``text/plain`` value as ``{glue:text}`key:spec``` shows it (MyST-NB's rule:
    the text is evaluated as a literal, then formatted by the type character of ``spec``)."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, spec)


@dataclass
class _Converter:
    docname: str
    index: BookIndex
    glue: dict[str, dict] | None
    root: Path
    problems: list[str] = field(default_factory=list)

    # -- roles ---------------------------------------------------------------------------

    def role(self, match: re.Match) -> str:
        name, content = match["name"], match["content"]
        if name in ("glue", "glue:text", "glue:any"):
            return self.glue_text(content)
        if name == "glue:md":
            return self.glue_text(content)
        if name == "math":
            return f"${content}$"
        if name in ("ref", "numref", "eq"):
            return self.reference(name, content)
        if name == "doc":
            return self.document(content)
        if name.startswith("cite"):
            return self.cite(name, content)
        self.problems.append(f"{self.docname}: unknown role {{{name}}}")
        return f"`{content}`"

    def glue_text(self, content: str) -> str:
        key, _, spec = content.partition(":")
        key = key.split("::")[-1]
        data = (self.glue or {}).get(key)
        if data is None or "text/plain" not in data:
            return f'<span title="{PENDING_TITLE}">[`{key}`]({self.index.url(self.docname)})</span>'

        try:
            value = format_glue_text(data["text/plain"], spec)
        except (ValueError, TypeError) as error:
            self.problems.append(f"{self.docname}: glue {key!r} with format {spec!r}: {error}")
            value = data["text/plain"]
        return f'<span title="{GLUE_TITLE}">{html.escape(value, quote=False)}</span>'

    def _target(self, content: str) -> tuple[str | None, str]:
        explicit = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", content)
        return (explicit[1], explicit[2]) if explicit else (None, content)

    def reference(self, name: str, content: str) -> str:
        text, label = self._target(content)
        target = self.index.labels.get(label)
        if target is None:
            self.problems.append(f"{self.docname}: unknown label {label!r} in {{{name}}}")
            return text or label
        if text is None:
            text = target.text
        elif name == "numref":
            text = text.replace("%s", target.number).replace("{number}", target.number)
        return f"[{text}]({self.index.url(target.docname, target.anchor)})"

    def document(self, content: str) -> str:
        text, path = self._target(content)
        if path.startswith("/"):
            docname = path.lstrip("/")
        else:
            base = Path(self.docname).parent
            docname = (base / path).as_posix()
            parts: list[str] = []
            for part in docname.split("/"):
                if part == "..":
                    parts = parts[:-1]
                elif part not in ("", "."):
                    parts.append(part)
            docname = "/".join(parts)
        docname = docname.removesuffix(".md").removesuffix(".ipynb")
        title = text or self.index.titles.get(docname)
        if title is None:
            self.problems.append(f"{self.docname}: unknown page {path!r} in {{doc}}")
            title = docname
        return f"[{title}]({self.index.url(docname)})"

    def cite(self, name: str, content: str) -> str:
        links = []
        for key in [key.strip() for key in content.split(",") if key.strip()]:
            authors, year = self.index.citations.get(key, (key, ""))
            if key not in self.index.citations:
                self.problems.append(f"{self.docname}: unknown citation {key!r}")
            url = self.index.url("book/bibliography")
            textual = name in ("cite:t", "cite:ts")
            shown = f"{authors} ({year})" if textual else f"{authors}, {year}"
            links.append(f"[{shown}]({url})")
        if name in ("cite:t", "cite:ts"):
            return ", ".join(links)
        return "(" + "; ".join(links) + ")"

    # -- directives ----------------------------------------------------------------------

    def directive(self, name: str, arg: str, options: dict, body: str) -> str:
        if name in _ADMONITIONS or name == "admonition":
            title = arg.strip() or name.capitalize()
            return _quote(f"**{self.inline(title)}**\n\n{self.convert(body)}")
        if name == "exercise":
            label = self.index.labels.get(options.get("label", ""))
            heading = label.text if label else "Exercise"
            if arg.strip():
                heading += f" ({self.inline(arg.strip())})"
            return _quote(f"**{heading}**\n\n{self.convert(body)}")
        if name == "solution":
            label = self.index.labels.get(arg.strip())
            target = label.text if label else "the exercise"
            return (
                f"<details>\n<summary>Solution to {target}</summary>\n\n"
                f"{self.convert(body)}\n\n</details>"
            )
        if name == "glue:figure":
            return self.figure(arg.strip(), options, body)
        if name in ("glue:math", "math"):
            return self.math(name, arg.strip(), options, body)
        if name == "literalinclude":
            return self.literalinclude(arg.strip(), options)
        if name in ("code-block", "code", "sourcecode"):
            return f"```{arg.strip()}\n{body}\n```"
        self.problems.append(f"{self.docname}: unknown directive {{{name}}}")
        return _quote(f"**{name}** {arg}\n\n{self.convert(body)}")

    def figure(self, key: str, options: dict, caption: str) -> str:
        label = self.index.labels.get(options.get("name", ""))
        number = f"**{label.text}** " if label else ""
        caption = self.convert(caption).strip()
        data = (self.glue or {}).get(key.split("::")[-1]) or {}
        image = next((mime for mime in ("image/png", "image/jpeg") if mime in data), None)
        if image is None:
            url = self.index.url(self.docname, label.anchor if label else "")
            picture = (
                f'<span title="{PENDING_TITLE}">*[The figure]({url}) is drawn by the cells '
                "above when you run them.*</span>"
            )
        else:
            alt = html.escape(options.get("alt", key), quote=True)
            source = "".join(data[image]).replace("\n", "")
            picture = f'<img src="data:{image};base64,{source}" alt="{alt}" title="{GLUE_TITLE}"/>'
        return f"{_glued(key, picture)}\n\n{number}{caption}".rstrip()

    def math(self, name: str, key: str, options: dict, body: str) -> str:
        label = self.index.labels.get(options.get("label", ""))
        tag = f"\n\\tag{{{label.number}}}" if label and label.number else ""
        if name == "math":
            return f"$$\n{body.strip()}{tag}\n$$"
        data = (self.glue or {}).get(key.split("::")[-1]) or {}
        if "text/latex" not in data:
            url = self.index.url(self.docname, label.anchor if label else "")
            return _glued(
                key,
                f'<span title="{PENDING_TITLE}">*[The equation]({url}) is derived by the cells '
                "above when you run them.*</span>",
            )
        latex = "".join(data["text/latex"]).strip()
        for start, end in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")):
            if latex.startswith(start) and latex.endswith(end):
                latex = latex[len(start) : -len(end)].strip()
                break
        return _glued(key, f"$$\n{latex}{tag}\n$$")

    def literalinclude(self, path: str, options: dict) -> str:
        source = (self.root / Path(self.docname).parent / path).resolve()
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except OSError:
            self.problems.append(f"{self.docname}: cannot read {path} for {{literalinclude}}")
            return f"`{path}`"
        if "pyobject" in options:
            tree = ast.parse("\n".join(lines))
            found = [
                node
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
                and node.name == options["pyobject"]
            ]
            if found:
                node = found[0]
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = lines[first - 1 : node.end_lineno]
        for key, keep in (("start-after", False), ("start-at", True)):
            marker = _unquote(options.get(key, ""))
            if marker:
                at = next((i for i, line in enumerate(lines) if marker in line), None)
                if at is not None:
                    lines = lines[at if keep else at + 1 :]
        marker = _unquote(options.get("end-before", ""))
        if marker:
            at = next((i for i, line in enumerate(lines) if marker in line), None)
            if at is not None:
                lines = lines[:at]
        if options.get("dedent"):
            width = int(options["dedent"])
            lines = [line[width:] if line[:width].isspace() else line.lstrip() for line in lines]
        language = options.get("language", "python")
        return f"```{language}\n" + "\n".join(lines) + "\n```"

    # -- blocks --------------------------------------------------------------------------

    def inline(self, text: str) -> str:
        return _ROLE.sub(self.role, text)

    def convert(self, text: str) -> str:
        lines = text.split("\n")
        out: list[str] = []
        index = 0
        plain_fence = None
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            if plain_fence:
                out.append(line)
                if stripped.startswith(plain_fence) and set(stripped) == {plain_fence[0]}:
                    plain_fence = None
                index += 1
                continue
            opened = _FENCE_OPEN.match(line)
            if opened:
                index = self._directive_block(lines, index, opened, out)
                continue
            fence = re.match(r"^\s*(`{3,}|~{3,})", line)
            if fence:
                plain_fence = fence[1]
                out.append(line)
                index += 1
                continue
            if _TARGET.match(line):
                index += 1
                continue
            if (
                index + 1 < len(lines)
                and stripped
                and re.match(r"^:\s", lines[index + 1])
                and not line.startswith((" ", ":"))
            ):
                index = self._definition(lines, index, out)
                continue
            math = _LABELLED_MATH_END.match(line)
            if math:
                label = self.index.labels.get(math["label"])
                tag = f"\\tag{{{label.number}}}" if label and label.number else ""
                before = math["before"].rstrip()
                if before.lstrip().startswith("$$"):  # $$ x $$ (label) on one line
                    out.append(f"{before} {tag} $$".replace("  ", " "))
                else:
                    out += [line for line in (before, tag) if line.strip()] + ["$$"]
                index += 1
                continue
            out.append(self.inline(line))
            index += 1
        return "\n".join(out)

    def _directive_block(self, lines, start, opened, out) -> int:
        fence, name = opened["fence"], opened["name"]
        options: dict[str, str] = {}
        index = start + 1
        while index < len(lines) and (option := _OPTION.match(lines[index])):
            options[option["key"]] = option["value"].strip()
            index += 1
        body = []
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                if len(stripped) >= len(fence):
                    index += 1
                    break
            body.append(lines[index])
            index += 1
        text = textwrap.dedent("\n".join(body)).strip("\n")
        out.append(self.directive(name, opened["arg"], options, text))
        return index

    def _definition(self, lines, start, out) -> int:
        term = self.inline(lines[start].strip())
        index = start + 1
        parts = []
        while index < len(lines) and (
            re.match(r"^:\s", lines[index]) or (lines[index].startswith("  ") and parts)
        ):
            parts.append(re.sub(r"^:\s+|^\s+", "", lines[index]))
            index += 1
        out.append(f"- **{term}**: " + self.inline("\n  ".join(parts)))
        return index


def _glued(key: str, block: str) -> str:
    """A glued figure or equation between comment lines that :func:`mask_glue` finds."""
    return f"<!-- glue: {key} -->\n{block}\n<!-- /glue -->"


def mask_glue(markdown: str) -> str:
    """``markdown`` with every pasted or pending glue value replaced by the same mark, so
    that notebooks differing only in computed values (MCMC draws differ between machines,
    a book not built yet has none) compare equal."""
    markdown = _GLUED_BLOCK.sub(lambda match: f"<!-- glue: {match[1]} -->", markdown)
    return _GLUED_SPAN.sub("<span>glue</span>", markdown)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip("\n").split("\n"))


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def convert(
    markdown: str,
    *,
    docname: str,
    index: BookIndex,
    glue: dict[str, dict] | None,
    root: Path,
) -> tuple[str, list[str]]:
    """Convert one Markdown cell of page ``docname`` (``book/pooling``).

    Parameters
    ----------
    markdown : str
        The cell's MyST Markdown.
    docname : str
        The page it belongs to, relative to the book's root, without suffix.
    index : BookIndex
        The book's labels, titles, bibliography and address (:meth:`BookIndex.from_book`).
    glue : dict or None
        The page's glued outputs (:func:`load_glue`); ``None`` when the book is not built.
    root : Path
        The book's folder (``{literalinclude}`` paths are relative to the page there).

    Returns
    -------
    tuple of str and list of str
        The Markdown plain Jupyter renders, and what could not be converted.

    Examples
    --------
    >>> index = BookIndex(base_url="https://o.github.io/r/")
    >>> index.labels["fig-a"] = Label("book/a", "fig-a", "Fig. 1.2", "1.2")
    >>> text, problems = convert("See {numref}`fig-a`.", docname="book/a", index=index,
    ...                          glue=None, root=Path("."))
    >>> text
    'See [Fig. 1.2](https://o.github.io/r/book/a.html#fig-a).'
    """
    converter = _Converter(docname=docname, index=index, glue=glue, root=Path(root))
    return converter.convert(markdown), converter.problems
