"""Tests of coursetools.book: launch notebooks, the student edition's config, the Sphinx fix.

Expected values come from the sources themselves read another way: chapter code from the
``{code-cell}`` fences of the Markdown (a regular expression, not jupytext), the
repository from ``_config.yml`` read with PyYAML, validity from Jupyter Book's own schema.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_book.config import validate_yaml
from sphinx.builders.html._assets import _JavaScript

from coursetools import book

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
TOC = (REPO / "_toc.yml").read_text(encoding="utf-8")
CHAPTERS = book.chapter_sources(REPO)
CELL_OPTIONS = re.compile(r"\A(?::[\w-]+:.*\n)+\n?")
"""A code cell's short-form MyST options (``:tags: [remove-cell]``), not part of its code."""
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _companion_requirement() -> str:
    repository = CONFIG["repository"]
    return f"companion @ git+{repository['url']}.git@{repository['branch']}"


def test_every_notebook_chapter_of_the_toc_is_found():
    """chapter_sources lists the toc's chapters that have code cells, and only those."""
    listed = re.findall(r"^\s*- file: (\S+)", TOC, flags=re.MULTILINE)
    with_code = [
        REPO / f"{name}.md"
        for name in listed
        if (REPO / f"{name}.md").exists() and CODE_CELL.search((REPO / f"{name}.md").read_text())
    ]
    assert CHAPTERS == sorted(with_code)
    assert REPO / "book/pooling.md" in CHAPTERS


def test_committed_launch_notebooks_are_current():
    """Every notebook chapter has its launch notebook committed beside it, up to date with
    the chapter and _config.yml (if not: `make launch-notebooks` and commit)."""
    assert book.write_launch_notebooks(REPO, check=True) == []


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda path: path.stem)
def test_launch_notebook_is_the_chapter_after_an_install_cell(source):
    """The launch notebook is a valid notebook without outputs whose first cell installs the
    companion, followed by exactly the chapter's code cells, in order."""
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(notebook)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert _companion_requirement() in code[0]
    expected = [
        CELL_OPTIONS.sub("", block).strip("\n") for block in CODE_CELL.findall(source.read_text())
    ]
    assert [cell.strip("\n") for cell in code[1:]] == expected
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    assert notebook.metadata.kernelspec.name == "python3"


def _run_install_cell(monkeypatch, missing: set[str]) -> list[list[str]]:
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in missing else real_find_spec(name, *args),
    )
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda command, **kwargs: calls.append(command) or subprocess.CompletedProcess(command, 0),
    )
    source = book.install_cell_source(CONFIG["repository"]["url"])
    exec(compile(source, "install-cell", "exec"), {})
    return calls


def test_install_cell_does_nothing_when_everything_is_installed(monkeypatch):
    """In the course's environment (companion, myst-nb, graphviz installed) pip is not run."""
    assert _run_install_cell(monkeypatch, missing=set()) == []


def test_install_cell_installs_only_what_is_missing(monkeypatch):
    """Without the companion and myst-nb (a fresh Colab), the cell pip-installs exactly those
    two, the companion from the repository and branch named in _config.yml and myst-nb at the
    lock's version, with PyMC, ArviZ and the rest of TESTED_WITH at the lock's versions."""
    lock = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (REPO / "requirements.lock").read_text(), re.M))
    calls = _run_install_cell(monkeypatch, missing={"companion", "myst_nb"})
    pins = [
        f"{name}=={lock[name]}"
        for name in ("arviz", "arviz-base", "arviz-plots", "arviz-stats", "nutpie", "pymc")
        + ("pytensor", "xarray")
    ]
    install = ["install", "--quiet", _companion_requirement(), f"myst-nb=={lock['myst-nb']}"]
    assert calls == [[sys.executable, "-m", "pip", *install, *pins]]


def test_install_cell_source_rejects_a_non_https_repository():
    """A repository URL that pip could not install from is refused, naming the argument."""
    with pytest.raises(ValueError, match="repository_url"):
        book.install_cell_source("git@github.com:o/r.git")


def test_student_config_is_a_valid_config_without_solutions_or_sources():
    """The student edition's config passes Jupyter Book's schema, switches sphinx-exercise's
    hide_solutions on and publishes neither page sources nor launch links; everything else
    is the book's own configuration."""
    student = book.student_config(REPO)
    validate_yaml(student, raise_on_errors=True)
    sphinx_config = student["sphinx"]["config"]
    assert sphinx_config["hide_solutions"] is True
    assert sphinx_config["html_copy_source"] is False
    assert sphinx_config["html_theme_options"] == {"use_download_button": False}
    assert student["sphinx"]["recursive_update"] is True  # merged into the theme's options
    assert not any(student["launch_buttons"].values())
    assert student["execute"] == CONFIG["execute"]
    assert student["sphinx"]["extra_extensions"] == CONFIG["sphinx"]["extra_extensions"]


def test_scripts_written_twice_by_sphinx_are_written_once():
    """A script registered once without a file name (None) and re-added with '' (Sphinx
    7.4) is written once; different scripts and their order are kept."""
    thebe = "const THEBE_JS_URL = 'x'"
    scripts = [
        _JavaScript("a.js"),
        _JavaScript(None, body=thebe),
        _JavaScript("b.js", priority=800),
        _JavaScript("", body=thebe),
    ]
    context = {"script_files": scripts}
    book._drop_duplicate_scripts(None, "page", "page.html", context, None)
    assert context["script_files"] == scripts[:3]
