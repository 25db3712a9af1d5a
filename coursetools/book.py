"""Build helpers for the book: launch notebooks and the student edition's configuration.

Launch notebooks
----------------
The chapters are MyST Markdown notebooks. Colab and Binder cannot run a ``.md`` file (they
open it as raw text), so ``python -m coursetools.book launch-notebooks`` (run by
``make book``) writes, for every chapter in ``_toc.yml`` that is a notebook (its front
matter has a kernelspec), ``book/<chapter>.ipynb`` next to it:

- the chapter's cells, converted by jupytext, without outputs, with the Markdown made
  plain for Jupyter by :mod:`coursetools.myst_markdown`: glue roles become the values the
  last book build computed (``_build/jupyter_execute/<chapter>.glue.json``), directives
  Markdown and HTML, references and citations links into the online book;
- a first cell that installs what the chapter imports and a fresh Colab or Binder session
  lacks: the companion package (from the repository and branch named in ``_config.yml``),
  ``myst-nb`` (for ``glue``) and ``graphviz`` (for the plate diagrams).

sphinx-book-theme points its launch buttons at ``<chapter>.ipynb`` when that file exists
beside the ``.md`` source, so the buttons open these notebooks from the repository: they
are committed. ``book/*.ipynb`` is in the book's ``exclude_patterns`` (they are not pages).
The output is deterministic (cell ids numbered, metadata reduced to the kernelspec) up to
the glued values, so ``launch-notebooks --check`` fails when a committed notebook is out of
date or missing. The glued values are masked when notebooks are compared: they come from
MCMC draws, which differ between machines, and a clone that has not built the book has
none (the text then says the cells compute them). ``make book`` writes the notebooks
before the build (so the launch buttons find them) and after it (to paste the values);
a notebook whose text is unchanged keeps the values it was committed with.

Release check
-------------
``repository.url`` and ``repository.branch`` in ``_config.yml`` are the one place the
course's repository is named: the launch and repository buttons and the launch notebooks'
install cells read them. The course ships with :data:`PLACEHOLDER_REPOSITORY_URL` there, so
``python -m coursetools.book check-release`` (``make release-check``, run by the Pages
workflow before publishing) fails, naming the file and line to change, until a fork sets
its own URL, regenerates the launch notebooks and links nowhere else to the placeholder.

Student edition
---------------
``python -m coursetools.book student-config OUTPUT`` writes a copy of ``_config.yml`` for
``make book-student``: sphinx-exercise's ``hide_solutions`` removes the solutions, and the
page sources (``.md``/``.ipynb`` downloads, launch notebooks), which contain the
solutions, are not published.

Sphinx extension
----------------
Listed in ``_config.yml``'s ``extra_extensions``, this module does two things.

It keys the execution cache on what the chapters import, not only on their own code.
jupyter-cache matches a chapter by the code of its cells alone, so a change to
``companion/``, to ``requirements.lock`` or to the installed packages would leave every
cached chapter in place, showing numbers the current code no longer produces. On
``config-inited`` the extension therefore points MyST-NB's ``nb_execution_cache_path``
(``execute: cache:`` in ``_config.yml``) at a subdirectory named after
:func:`execution_key`: ``_build/.jupyter_cache/<key>``. When the key changes, the cache
path is a new one, Sphinx sees a changed configuration value and re-reads every page, and
MyST-NB re-executes every chapter into the new, empty cache; caches of other keys are
removed so they do not pile up. With nothing changed the key, the path and the cached
outputs stay as they were. The files that count are the Sphinx setting
``execution_cache_inputs`` (default: ``companion`` and ``requirements.lock``, relative
to the folder holding ``_config.yml``). ``python -m coursetools.book cache-key`` prints
the key (the Pages workflow keys its ``actions/cache`` on it).

Chapters execute in parallel: ``python -m coursetools.book build`` (``make book``) runs
Jupyter Book's build with Sphinx's parallel reader (``--jobs``, one per core by default;
Jupyter Book 1's command line has no such option, though its ``build_sphinx`` takes one),
so each reader process executes its own chapters into the shared execution cache. Sphinx
reads in parallel only when every extension declares itself safe for it; three that
Jupyter Book loads say nothing, and the extension declares them: sphinx-multitoc-numbering
(it numbers sections after reading, in the main process), sphinx-mathjax-offline (it
copies files when the build finishes) and sphinx-jupyterbook-latex (transforms for the
LaTeX builder only). Sphinx would hand each process a fixed slice of the documents, and a
slice holding the heavy chapters finished long after the other (225 s against 144 s of
execution); the build instead gives every document its own task, which the next free
process takes, and the extension orders the documents largest file first, so that the
long chapters start early and the processes finish together.

It also works around a Sphinx 7.4 bug: an inline script registered after the builder
starts (sphinx-thebe's configuration, sphinx-togglebutton's selector) is written into
every page twice, and the second ``const THEBE_JS_URL`` is a JavaScript error in the
reader's browser.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path

import jupytext
import nbformat
import yaml

from coursetools import install_cell, myst_markdown

__all__ = [
    "EXECUTION_CACHE_INPUTS",
    "PLACEHOLDER_REPOSITORY_URL",
    "chapter_sources",
    "execution_cache_path",
    "execution_input_files",
    "build",
    "execution_key",
    "install_cell_source",
    "book_index",
    "glue_values",
    "launch_notebook",
    "locked_versions",
    "main",
    "release_problems",
    "repository_setting",
    "setup",
    "student_config",
    "write_launch_notebooks",
]

REPO = Path(__file__).resolve().parents[1]

# Module imported by the chapters -> the distribution pip installs when it is missing (at
# the version of requirements.lock). The companion's own requirement comes from _config.yml.
EXTRA_REQUIREMENTS = {"myst_nb": "myst-nb", "graphviz": "graphviz"}

# The repository the course ships with in _config.yml: a fork must replace it before publishing.
PLACEHOLDER_REPOSITORY_URL = "https://github.com/partial-pooling/hierarchical-course"


# What a chapter's outputs depend on besides its own cells (paths relative to the book's
# root, the folder holding _config.yml): the package the chapters import, with its data,
# and the pinned versions of everything else.
EXECUTION_CACHE_INPUTS = ("companion", "requirements.lock")

# Written by Python itself, never read as source: they must not change the key.
_IGNORED_DIRECTORIES = {"__pycache__"}
_IGNORED_SUFFIXES = {".pyc", ".pyo"}
# pip is in the venv only to bootstrap uv (its version comes with the Python image).
_IGNORED_DISTRIBUTIONS = {"pip"}
_KEY_LENGTH = 16
_KEY_NAME = re.compile(rf"[0-9a-f]{{{_KEY_LENGTH}}}")
# What jupyter-cache writes at the top of a cache folder: an unkeyed cache made before
# the cache was keyed (its outputs came from unknown companion code).
_UNKEYED_CACHE = ("global.db", "executed", "__version__.txt")


def _load_config(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def _normalize_url(url: str) -> str:
    return url.removesuffix("/").removesuffix(".git")


def repository_setting(root: Path = REPO) -> tuple[str, str]:
    """``repository.url`` (without a trailing ``/`` or ``.git``) and ``repository.branch``
    (default ``main``) from ``_config.yml``: where every public link to the course points."""
    repository = _load_config(root)["repository"]
    return _normalize_url(repository["url"]), repository.get("branch", "main")


def _config_line(root: Path, *keys: str) -> int:
    """The line number of a nested key's value in ``_config.yml``."""
    node = yaml.compose((root / "_config.yml").read_text(encoding="utf-8"))
    for key in keys:
        node = next(value for name, value in node.value if name.value == key)
    return node.start_mark.line + 1


def install_cell_source(
    repository_url: str, *, branch: str = "main", root: Path | None = None
) -> str:
    """Source of the first cell of every launch notebook.

    Parameters
    ----------
    repository_url : str
        The book's repository on GitHub (``repository.url`` in ``_config.yml``).
    branch : str
        The branch to install the companion from (``repository.branch``).
    root : Path, optional
        The book's folder, whose ``requirements.lock`` gives the pinned versions (default:
        this repository's).

    Returns
    -------
    str
        Python code that pip-installs the companion (from ``repository_url`` at
        ``branch``), myst-nb and graphviz, each only when it cannot be imported, with the
        versions the course is tested with (see :mod:`coursetools.install_cell`).

    Examples
    --------
    >>> "git+https://github.com/o/r.git@main" in install_cell_source("https://github.com/o/r")
    True
    """
    return install_cell.install_cell_source(
        repository_url,
        branch=branch,
        modules=EXTRA_REQUIREMENTS,
        versions=locked_versions(root or REPO),
    )


def locked_versions(root: Path = REPO) -> dict[str, str]:
    """The pinned versions of ``<root>/requirements.lock`` (empty when there is none)."""
    lock = Path(root) / "requirements.lock"
    return install_cell.locked_versions(lock) if lock.is_file() else {}


def chapter_sources(root: Path = REPO) -> list[Path]:
    """The chapters listed in ``_toc.yml`` that are notebooks (their front matter has a kernelspec).

    Parameters
    ----------
    root : Path
        The book's folder (holding ``_toc.yml`` and ``_config.yml``).

    Returns
    -------
    list of Path
        The ``.md`` sources, sorted by path.
    """
    from sphinx_external_toc.parsing import parse_toc_yaml

    site_map = parse_toc_yaml(root / "_toc.yml")
    return sorted(
        root / f"{docname}.md" for docname in site_map if _is_notebook(root / f"{docname}.md")
    )


def _front_matter(source: Path) -> dict:
    """The YAML front matter of a Markdown page (empty when it has none). Read directly:
    jupytext guesses the format of a page without one (``:::`` fences make it pandoc)."""
    text = source.read_text(encoding="utf-8") if source.is_file() else ""
    match = re.match(r"---\n(.*?\n)---\n", text, flags=re.S)
    try:
        matter = yaml.safe_load(match[1]) if match else {}
    except yaml.YAMLError:
        return {}
    return matter if isinstance(matter, dict) else {}


def _is_notebook(source: Path) -> bool:
    return "kernelspec" in _front_matter(source)


def launch_notebook(
    source: Path,
    *,
    repository_url: str,
    branch: str = "main",
    index: myst_markdown.BookIndex | None = None,
    glue: dict | None = None,
    problems: list[str] | None = None,
) -> nbformat.NotebookNode:
    """The launch notebook of one chapter: its cells, after a cell installing what it needs,
    with its Markdown converted for plain Jupyter (:mod:`coursetools.myst_markdown`).

    Parameters
    ----------
    source : Path
        A MyST Markdown notebook (``book/<chapter>.md``).
    repository_url, branch : str
        Where the companion is installed from (see :func:`install_cell_source`).
    index : BookIndex, optional
        The book's labels and address (default: read from the book holding ``source``).
    glue : dict, optional
        The chapter's glued values (:func:`glue_values`); without them the text says that
        running the cells computes them.
    problems : list, optional
        Receives what the conversion could not handle.

    Returns
    -------
    nbformat.NotebookNode
        A valid nbformat 4 notebook without outputs, with numbered cell ids and only the
        kernelspec and language in its metadata.
    """
    source = Path(source).resolve()
    chapter = jupytext.read(source, fmt="md:myst")
    root = _book_root(source.parent)
    if index is None:
        index = book_index(root, repository_url)
    docname = source.relative_to(root).with_suffix("").as_posix()
    install = install_cell.install_cell(
        install_cell_source(repository_url, branch=branch, root=root)
    )
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for number, cell in enumerate([install, *chapter.cells]):
        cell = copy.deepcopy(cell)
        cell["id"] = f"cell-{number}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        elif cell["cell_type"] == "markdown":
            cell["source"], found = myst_markdown.convert(
                cell["source"], docname=docname, index=index, glue=glue, root=root
            )
            if problems is not None:
                problems += found
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def book_index(root: Path, repository_url: str | None = None) -> myst_markdown.BookIndex:
    """The labels, titles and citations of the book in ``root``, and its online address
    (``html.baseurl`` in ``_config.yml``, else the repository's GitHub Pages site)."""
    config = _load_config(root)
    url = repository_url or repository_setting(root)[0]
    base = myst_markdown.book_url(url, (config.get("html") or {}).get("baseurl"))
    return myst_markdown.BookIndex.from_book(root, base)


EXECUTED = Path("_build") / "jupyter_execute"
"""Where MyST-NB writes the executed chapters and their glued values (``<chapter>.glue.json``)."""


def glue_values(source: Path, root: Path = REPO) -> dict | None:
    """The values the built book glued into chapter ``source``, or ``None`` when the book
    was not built, or was built from other code than the chapter has now.

    The executed notebook ``_build/jupyter_execute/<chapter>.ipynb`` must have the same
    code cells as the chapter: otherwise its values may belong to code that changed.
    """
    relative = Path(source).resolve().relative_to(Path(root).resolve()).with_suffix("")
    executed = Path(root) / EXECUTED / relative.with_suffix(".ipynb")
    glue = myst_markdown.load_glue(Path(root) / EXECUTED / relative.with_suffix(".glue.json"))
    if glue is None or not executed.is_file():
        return None

    def code(notebook) -> list[str]:
        return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]

    current = jupytext.read(source, fmt="md:myst")
    if code(nbformat.read(executed, as_version=4)) != code(current):
        return None
    return glue


def _masked(text: str) -> str:
    """A launch notebook's text with its glued values masked (see :func:`mask_glue`)."""
    notebook = nbformat.reads(text, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = myst_markdown.mask_glue(cell.source)
    return nbformat.writes(notebook)


def _glued_count(text: str) -> int:
    return text.count(myst_markdown.GLUE_TITLE)


def write_launch_notebooks(
    root: Path = REPO, *, check: bool = False, problems: list[str] | None = None
) -> list[Path]:
    """Write ``<chapter>.ipynb`` beside every notebook chapter, or check they are current.

    A notebook is compared with its chapter with the glued values masked: they come from
    the built book (MCMC draws differ between machines, and a book not built has none), so
    a notebook is rewritten when its text or code changed, or when the build has values it
    lacks -- not when a rebuild on another machine computed slightly different ones.

    Parameters
    ----------
    root : Path
        The book's folder.
    check : bool
        If true, write nothing and return the notebooks that are missing or out of date.
    problems : list, optional
        Receives what the Markdown conversion could not handle.

    Returns
    -------
    list of Path
        The notebooks written (or, with ``check``, those that need writing).
    """
    url, branch = repository_setting(root)
    index = book_index(root, url)
    changed = []
    for source in chapter_sources(root):
        glue = glue_values(source, root)
        notebook = launch_notebook(
            source, repository_url=url, branch=branch, index=index, glue=glue, problems=problems
        )
        text = nbformat.writes(notebook) + "\n"
        target = source.with_suffix(".ipynb")
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old == text:
            continue
        stale = old is None or _masked(old) != _masked(text)
        if stale or (not check and _glued_count(text) > _glued_count(old)):
            if stale:
                changed.append(target)
            if not check:
                target.write_text(text, encoding="utf-8")
                if not stale:
                    changed.append(target)
    return changed


def release_problems(root: Path = REPO) -> list[str]:
    """What must change before the book is published, as ``file:line: message``.

    Parameters
    ----------
    root : Path
        The book's folder.

    Returns
    -------
    list of str
        Empty when ``repository.url`` is an https:// URL other than
        :data:`PLACEHOLDER_REPOSITORY_URL`, the launch notebooks are current with it, and
        neither ``README.md`` nor ``book/*.md`` links to the placeholder.
    """
    url, _ = repository_setting(root)
    if url.lower() == PLACEHOLDER_REPOSITORY_URL or not url.startswith("https://"):
        what = "still the placeholder" if url.startswith("https://") else "not an https:// URL"
        return [
            f"_config.yml:{_config_line(root, 'repository', 'url')}: repository.url is {what} "
            f"({url}): set it (and repository.branch) to your fork, then `make launch-notebooks`"
        ]
    from coursetools.exercises import write_install_cells

    stale = write_launch_notebooks(root, check=True) + write_install_cells(root, check=True)
    problems = [
        f"{path.relative_to(root)}: out of date with repository.url or its chapter: "
        "run `make launch-notebooks` and commit"
        for path in stale
    ]
    placeholder = PLACEHOLDER_REPOSITORY_URL.partition("://")[2]
    for path in [root / "README.md", *sorted((root / "book").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        problems += [
            f"{path.relative_to(root)}:{number}: links to the placeholder, not {url}"
            for number, line in enumerate(lines, 1)
            if placeholder in line.lower()
        ]
    return problems


def student_config(root: Path = REPO) -> dict:
    """``_config.yml`` for the student edition: no solutions, no page sources.

    Parameters
    ----------
    root : Path
        The book's folder.

    Returns
    -------
    dict
        The book's configuration with sphinx-exercise's ``hide_solutions`` on, and the
        download button, launch buttons and copied sources (which hold the solutions) off.
    """
    config = _load_config(root)
    config["title"] = f"{config['title']} (student edition)"
    config["launch_buttons"] = {"binderhub_url": "", "colab_url": ""}
    # Jupyter Book 1 does not pass html.use_download_button to the theme: set the theme
    # option itself, merged into (not replacing) the theme options Jupyter Book builds.
    config["sphinx"]["recursive_update"] = True
    config["sphinx"].setdefault("config", {}).update(
        hide_solutions=True,
        html_copy_source=False,
        html_show_sourcelink=False,
        html_theme_options={"use_download_button": False},
    )
    return config


def execution_input_files(root: Path, inputs: Iterable[str] = EXECUTION_CACHE_INPUTS) -> list[Path]:
    """The files whose content the execution cache is keyed on.

    Parameters
    ----------
    root : Path
        The book's folder (holding ``_config.yml``).
    inputs : iterable of str
        Files or folders relative to ``root``; a folder counts with every file below it.

    Returns
    -------
    list of Path
        The existing files, sorted by path, without Python's byte-code caches
        (``__pycache__``, ``*.pyc``), which Python writes itself.
    """
    files = set()
    for name in inputs:
        path = root / name
        candidates = path.rglob("*") if path.is_dir() else [path]
        for candidate in candidates:
            relative = candidate.relative_to(root)
            if (
                candidate.is_file()
                and candidate.suffix not in _IGNORED_SUFFIXES
                and not _IGNORED_DIRECTORIES.intersection(relative.parts)
            ):
                files.add(candidate)
    return sorted(files)


def _installed_distributions() -> list[str]:
    """``name==version`` of every package installed in this environment's site-packages."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    found = set()
    for distribution in importlib.metadata.distributions(path=paths):
        name = re.sub(r"[-_.]+", "-", distribution.metadata["Name"] or "").lower()
        if name and name not in _IGNORED_DISTRIBUTIONS:
            found.add(f"{name}=={distribution.version}")
    return sorted(found)


def execution_key(
    root: Path = REPO,
    inputs: Iterable[str] = EXECUTION_CACHE_INPUTS,
    *,
    environment: Sequence[str] | None = None,
) -> str:
    """The key of the execution cache: a hash of everything the chapters' outputs depend on
    besides their own code.

    Parameters
    ----------
    root : Path
        The book's folder (holding ``_config.yml``).
    inputs : iterable of str
        Files or folders, relative to ``root``, whose content counts (see
        :func:`execution_input_files`); a missing one counts as missing.
    environment : sequence of str, optional
        The installed packages as ``name==version`` strings; by default those of the
        running interpreter's site-packages (the chapters run in the same ``.venv``), so
        that packages upgraded without changing the lock file count too.

    Returns
    -------
    str
        The first 16 hex digits of a SHA-256 over each input file's path (relative to
        ``root``) and bytes, the missing inputs' names and the installed packages.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.lock").write_text("numpy==2.0\\n")
    >>> key = execution_key(root, ["requirements.lock"], environment=[])
    >>> key == execution_key(root, ["requirements.lock"], environment=[])
    True
    >>> _ = (root / "requirements.lock").write_text("numpy==2.1\\n")
    >>> key == execution_key(root, ["requirements.lock"], environment=[])
    False
    """
    inputs = list(inputs)
    digest = hashlib.sha256()
    for path in execution_input_files(root, inputs):
        content = path.read_bytes()
        name = path.relative_to(root).as_posix().encode()
        digest.update(b"file\0%s\0%d\0" % (name, len(content)))
        digest.update(content)
    for name in sorted(name for name in inputs if not (root / name).exists()):
        digest.update(b"missing\0%s\0" % name.encode())
    for requirement in _installed_distributions() if environment is None else environment:
        digest.update(b"installed\0%s\0" % requirement.encode())
    return digest.hexdigest()[:_KEY_LENGTH]


def _book_root(srcdir: Path) -> Path:
    """The folder holding ``_config.yml``: the source folder or the nearest one above it
    (``jupyter-book build book/pooling.md`` builds from ``book/``)."""
    srcdir = Path(srcdir).resolve()
    for folder in (srcdir, *srcdir.parents):
        if (folder / "_config.yml").is_file():
            return folder
    return srcdir


def execution_cache_path(
    root: Path,
    cache: str | Path | None = None,
    inputs: Iterable[str] = EXECUTION_CACHE_INPUTS,
    *,
    environment: Sequence[str] | None = None,
) -> Path:
    """Where the chapters' executed outputs are cached: a folder named after the key.

    Parameters
    ----------
    root : Path
        The book's folder (holding ``_config.yml``).
    cache : str or Path, optional
        The cache folder configured in ``_config.yml`` (``execute: cache:``), relative
        to ``root`` unless absolute; by default ``_build/.jupyter_cache``.
    inputs, environment
        What the key is computed from (see :func:`execution_key`).

    Returns
    -------
    Path
        ``<cache>/<execution_key(...)>``, absolute.
    """
    base = Path(cache) if cache else Path("_build/.jupyter_cache")
    base = base if base.is_absolute() else Path(root).resolve() / base
    return base / execution_key(root, inputs, environment=environment)


def _remove_other_caches(path: Path) -> list[Path]:
    """Remove the caches beside ``path`` made under other keys, and an unkeyed cache."""
    base = path.parent
    if not base.is_dir():
        return []
    removed = []
    for entry in base.iterdir():
        keyed = entry.is_dir() and _KEY_NAME.fullmatch(entry.name) and entry != path
        unkeyed = entry.name in _UNKEYED_CACHE and (base / "global.db").is_file()
        if not (keyed or unkeyed):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry)
    return removed


def _key_execution_cache(app, config) -> None:
    """``config-inited``: point MyST-NB's execution cache at the folder of the current key."""
    if getattr(config, "nb_execution_mode", None) != "cache":
        return
    from sphinx.util import logging

    root = _book_root(app.srcdir)
    path = execution_cache_path(root, config.nb_execution_cache_path, config.execution_cache_inputs)
    config.nb_execution_cache_path = str(path)
    removed = _remove_other_caches(path)
    logging.getLogger(__name__).info(
        "execution cache keyed on %s: %s%s",
        ", ".join(config.execution_cache_inputs),
        path,
        f" (removed {len(removed)} stale cache entries)" if removed else "",
    )


# Extensions Jupyter Book loads that do not declare parallel reading safe, though they are
# (the module docstring says why).
_PARALLEL_READ_SAFE = (
    "sphinx_multitoc_numbering",
    "sphinx-mathjax-offline",
    "sphinx_jupyterbook_latex",
)


def _declare_parallel_read_safe(app, config) -> None:
    """``config-inited``: declare the extensions of :data:`_PARALLEL_READ_SAFE` safe."""
    for name in _PARALLEL_READ_SAFE:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True


def _largest_first(app, env, docnames: list[str]) -> None:
    """``env-before-read-docs``: order the documents by source size, largest first (a
    rough guide to execution time), ties by name."""

    def size(docname: str) -> int:
        found = Path(env.doc2path(docname))
        return found.stat().st_size if found.is_file() else 0

    docnames[:] = sorted(docnames, key=lambda name: (-size(name), name))


def _one_document_per_task(arguments: Sequence[str], nproc: int, maxbatch: int = 10) -> list:
    """Sphinx's ``make_chunks`` for :func:`build`: each document is a task of its own."""
    return [[argument] for argument in arguments]


def _create_cache_database(app, env, docnames: list[str]) -> None:
    """``env-before-read-docs``: create the execution cache's database in the main process.

    Parallel readers that find no database each create one, and collide ("table settings
    already exists") on a cold cache.
    """
    if app.parallel > 1 and getattr(app.config, "nb_execution_mode", None) == "cache":
        from jupyter_cache import get_cache

        get_cache(app.config.nb_execution_cache_path).db  # noqa: B018 (creates it)


def build(arguments: Sequence[str], jobs: int) -> int:
    """``jupyter-book build <arguments>`` with ``jobs`` Sphinx reader processes."""
    import functools

    import jupyter_book.sphinx
    import sphinx.builders
    from jupyter_book.cli.main import main as jupyter_book_main

    build_sphinx = jupyter_book.sphinx.build_sphinx
    jupyter_book.sphinx.build_sphinx = functools.partial(build_sphinx, jobs=jobs)
    sphinx.builders.make_chunks = _one_document_per_task
    try:
        jupyter_book_main(["build", *arguments])  # click exits with the build's status
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Write each script once: Sphinx 7.4 re-adds late inline scripts with filename ''."""
    unique: dict[tuple, object] = {}
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, *sorted(script.attributes.items()))
        unique.setdefault(key, script)
    context["script_files"] = list(unique.values())


def setup(app) -> dict:
    """Sphinx extension entry point (see the module docstring)."""
    app.add_config_value("execution_cache_inputs", list(EXECUTION_CACHE_INPUTS), "env", list)
    # After MyST-NB's own config-inited handlers; the environment (which compares the
    # cache path with the previous build's) is loaded after config-inited.
    app.connect("config-inited", _key_execution_cache, priority=900)
    app.connect("config-inited", _declare_parallel_read_safe)
    app.connect("env-before-read-docs", _largest_first)
    app.connect("env-before-read-docs", _create_cache_database)
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    launch = commands.add_parser("launch-notebooks", help="write book/<chapter>.ipynb")
    launch.add_argument("--check", action="store_true", help="only report stale notebooks")
    student = commands.add_parser("student-config", help="write the student edition's config")
    student.add_argument("output", type=Path)
    commands.add_parser("cache-key", help="print the execution cache's key")
    commands.add_parser("check-release", help="fail while a public link names the placeholder")
    build_command = commands.add_parser("build", help="jupyter-book build, chapters in parallel")
    build_command.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args, rest = parser.parse_known_args(argv)
    if args.command == "build":
        return build(rest, max(1, args.jobs))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "check-release":
        problems = release_problems(REPO)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if not problems:
            print(f"release check passed: every link points to {repository_setting(REPO)[0]}")
        return 1 if problems else 0

    if args.command == "cache-key":
        inputs = _load_config(REPO).get("sphinx", {}).get("config", {})
        print(execution_key(REPO, inputs.get("execution_cache_inputs", EXECUTION_CACHE_INPUTS)))
        return 0

    if args.command == "student-config":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(yaml.safe_dump(student_config(), sort_keys=False), encoding="utf-8")
        return 0
    from coursetools.exercises import write_install_cells

    problems: list[str] = []
    changed = write_launch_notebooks(check=args.check, problems=problems)
    for problem in dict.fromkeys(problems):
        print(f"warning: not converted for plain Jupyter: {problem}", file=sys.stderr)
    changed += write_install_cells(REPO, check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(REPO)}")
    if args.check and changed:
        print("Run `make launch-notebooks` and commit the notebooks.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
