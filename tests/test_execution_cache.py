"""Tests of the execution cache's key (coursetools.book): chapters re-execute when what they
import changes, and only then.

jupyter-cache matches a chapter by its own cells, so the book's extension keys the cache
folder on ``companion/`` (code and datasets), ``requirements.lock`` and the installed
packages. Expected values come from another route than the code under test: the files
from ``os.walk``, the configuration from ``_config.yml`` and the workflow read with PyYAML,
the cache path from MyST-NB's own configuration in a real Sphinx application, and the
re-execution from a tiny book, built with Jupyter Book, whose cell logs every execution.
"""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from coursetools import book

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
INPUTS = CONFIG["sphinx"]["config"]["execution_cache_inputs"]
NO_PACKAGES: list[str] = []  # the installed packages are fixed where they are not tested


def _tree(root: Path) -> Path:
    """A book's folder with a small companion package (a module, a dataset) and a lock."""
    (root / "companion" / "datasets").mkdir(parents=True)
    (root / "companion" / "__init__.py").write_text("")
    (root / "companion" / "shrinkage.py").write_text("FACTOR = 0.5\n")
    (root / "companion" / "datasets" / "schools.csv").write_text("school,y\nA,28\n")
    (root / "requirements.lock").write_text("numpy==2.1.0\n")
    (root / "_config.yml").write_text("title: test\n")
    return root


def _key(root: Path) -> str:
    return book.execution_key(root, INPUTS, environment=NO_PACKAGES)


def test_the_book_keys_its_cache_on_the_companion_and_the_lock_file():
    """_config.yml executes through the cache, loads the extension that keys it, and names
    companion/ and requirements.lock as what the key covers."""
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert "coursetools.book" in CONFIG["sphinx"]["extra_extensions"]
    assert set(INPUTS) == {"companion", "requirements.lock"}


def test_every_companion_file_and_the_lock_file_count():
    """The key covers every file under companion/ (modules and datasets) and the lock
    file, and nothing Python writes itself (byte code)."""
    expected = {REPO / "requirements.lock"}
    for folder, directories, files in os.walk(REPO / "companion"):
        directories[:] = [name for name in directories if name != "__pycache__"]
        expected |= {Path(folder, name) for name in files if not name.endswith(".pyc")}
    found = book.execution_input_files(REPO, INPUTS)
    assert set(found) == expected
    assert any(path.suffix == ".csv" for path in found)  # the datasets count


def test_an_unchanged_tree_keeps_its_key(tmp_path):
    """Computing the key twice over the same files gives the same key, for a small tree and
    for the repository itself (installed packages included)."""
    root = _tree(tmp_path)
    assert _key(root) == _key(root)
    assert book.execution_key(REPO, INPUTS) == book.execution_key(REPO, INPUTS)


def _edit_module(root):
    (root / "companion" / "shrinkage.py").write_text("FACTOR = 0.6\n")


def _edit_dataset(root):
    (root / "companion" / "datasets" / "schools.csv").write_text("school,y\nA,29\n")


def _add_module(root):
    (root / "companion" / "extra.py").write_text("")


def _rename_module(root):
    (root / "companion" / "shrinkage.py").rename(root / "companion" / "pooling.py")


def _edit_lock(root):
    (root / "requirements.lock").write_text("numpy==2.2.0\n")


def _delete_lock(root):
    (root / "requirements.lock").unlink()


@pytest.mark.parametrize(
    "change",
    [_edit_module, _edit_dataset, _add_module, _rename_module, _edit_lock, _delete_lock],
    ids=lambda change: change.__name__.strip("_"),
)
def test_a_change_to_the_companion_or_the_lock_changes_the_key(tmp_path, change):
    """Editing, adding or renaming a companion module or dataset, or editing or deleting
    the lock file, gives a new key."""
    root = _tree(tmp_path)
    before = _key(root)
    change(root)
    assert _key(root) != before


def test_byte_code_and_other_folders_do_not_change_the_key(tmp_path):
    """Byte code written on import, and files outside the inputs (a chapter, the build),
    leave the key as it was."""
    root = _tree(tmp_path)
    before = _key(root)
    (root / "companion" / "__pycache__").mkdir()
    (root / "companion" / "__pycache__" / "shrinkage.cpython-312.pyc").write_bytes(b"\0")
    (root / "book").mkdir()
    (root / "book" / "pooling.md").write_text("# Pooling\n")
    assert _key(root) == before


def test_installed_packages_count(tmp_path):
    """A package upgraded in the venv without touching the lock file (as the upstream
    canary does) gives a new key."""
    root = _tree(tmp_path)
    pinned = book.execution_key(root, INPUTS, environment=["pymc==6.0.0"])
    upgraded = book.execution_key(root, INPUTS, environment=["pymc==6.1.0"])
    assert pinned != upgraded


def _hook(srcdir: Path, cache="_build/.jupyter_cache", mode="cache"):
    """Run the extension's config-inited handler as Sphinx would; return the config."""
    config = types.SimpleNamespace(
        nb_execution_mode=mode, nb_execution_cache_path=cache, execution_cache_inputs=INPUTS
    )
    book._key_execution_cache(types.SimpleNamespace(srcdir=srcdir), config)
    return config


def test_the_hook_moves_the_cache_when_the_companion_changes(tmp_path):
    """The cache folder is <book>/_build/.jupyter_cache/<key> (also for a one-chapter build
    from book/); unchanged, the folder stays; after a companion change it is a new folder,
    and the caches of other keys and an unkeyed cache from before are deleted."""
    root = _tree(tmp_path)
    (root / "book").mkdir()
    base = root / "_build" / ".jupyter_cache"
    base.mkdir(parents=True)
    for name in ("global.db", "__version__.txt"):  # an unkeyed jupyter-cache
        (base / name).write_text("")
    (base / "executed").mkdir()
    first = Path(_hook(root).nb_execution_cache_path)
    assert first.parent == base.resolve()
    assert first.name == book.execution_key(root, INPUTS)
    first.mkdir()
    assert Path(_hook(root / "book").nb_execution_cache_path) == first
    assert first.is_dir()

    _edit_module(root)
    second = Path(_hook(root).nb_execution_cache_path)
    assert second.parent == first.parent and second != first
    assert sorted(base.iterdir()) == []  # the old key's cache and the unkeyed one are gone


def test_the_hook_keeps_what_is_not_a_cache(tmp_path):
    """Files beside the keyed folders that jupyter-cache did not write are left alone."""
    root = _tree(tmp_path)
    base = root / "_build" / ".jupyter_cache"
    base.mkdir(parents=True)
    (base / "notes.txt").write_text("")
    (base / "not-a-key").mkdir()
    _hook(root)
    assert sorted(path.name for path in base.iterdir()) == ["not-a-key", "notes.txt"]


@pytest.mark.parametrize("mode", ["off", "force", "auto"])
def test_the_hook_leaves_other_execution_modes_alone(tmp_path, mode):
    """Without the cache there is nothing to key: the setting is left as configured."""
    assert _hook(_tree(tmp_path), mode=mode).nb_execution_cache_path == "_build/.jupyter_cache"


def test_myst_nb_uses_the_keyed_folder_in_a_sphinx_build(tmp_path):
    """In a real Sphinx application with MyST-NB and the extension, MyST-NB's configuration
    (the one its cache client reads) points at the keyed folder, resolved from the book."""
    from sphinx.application import Sphinx

    root = _tree(tmp_path)
    (root / "index.md").write_text("# Index\n")
    app = Sphinx(
        srcdir=root,
        confdir=None,
        outdir=root / "_build" / "html",
        doctreedir=root / "_build" / ".doctrees",
        buildername="html",
        confoverrides={
            "extensions": ["myst_nb", "coursetools.book"],
            "nb_execution_mode": "cache",
            "nb_execution_cache_path": "_build/.jupyter_cache",
            "execution_cache_inputs": INPUTS,
        },
        status=None,
        warning=None,
    )
    expected = root.resolve() / "_build" / ".jupyter_cache" / book.execution_key(root, INPUTS)
    assert Path(app.env.mystnb_config.execution_cache_path) == expected


def test_cache_key_command_prints_the_key_the_book_uses(capsys):
    """`python -m coursetools.book cache-key` (the Pages workflow's cache key) prints the
    name of the folder the book's build reads."""
    assert book.main(["cache-key"]) == 0
    folder = book.execution_cache_path(REPO, CONFIG["execute"]["cache"], INPUTS)
    assert capsys.readouterr().out.strip() == folder.name


def test_pages_workflow_never_restores_a_cache_of_other_companion_code():
    """The Pages workflow computes the execution key before restoring the cache, keys the
    cache on it and on companion/, requirements.lock and the chapters, and restores partial
    matches only under the same execution key."""
    workflow = yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    names = [step.get("uses", "") for step in steps]
    cache = steps[next(i for i, uses in enumerate(names) if uses.startswith("actions/cache"))]
    key_step = next(step for step in steps if step.get("id") == "execution")
    assert "coursetools.book cache-key" in key_step["run"]
    assert steps.index(key_step) < steps.index(cache)
    key = cache["with"]["key"]
    execution_key = "${{ steps.execution.outputs.key }}"
    assert key.startswith(f"jupyter-cache-{execution_key}-")
    assert "hashFiles('companion/**', 'requirements.lock', 'book/**')" in key
    restore = str(cache["with"].get("restore-keys", "")).splitlines()
    assert all(prefix.strip().startswith(f"jupyter-cache-{execution_key}-") for prefix in restore)


TINY_CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Tiny

```{code-cell}
import tinymod

with open("executions.log", "a") as log:
    log.write("executed\\n")
print("VALUE", tinymod.VALUE)
```
"""

TINY_CONFIG = """\
title: tiny
only_build_toc_files: true
exclude_patterns: [_build, tinymod, executions.log]
execute:
  execute_notebooks: cache
  cache: _build/.jupyter_cache
sphinx:
  extra_extensions: [coursetools.book]
  config:
    execution_cache_inputs: [tinymod, requirements.lock]
"""


@pytest.mark.slow
def test_a_tiny_book_reexecutes_after_a_module_change_and_only_then(tmp_path):
    """A one-page book whose chapter imports a small module from the book's folder: built
    twice it executes once (the second build reads the cache); after the module changes,
    the next build executes the chapter again and the page shows the new value."""
    (tmp_path / "tinymod").mkdir()
    (tmp_path / "tinymod" / "__init__.py").write_text("VALUE = 41\n")
    (tmp_path / "requirements.lock").write_text("numpy==2.1.0\n")
    (tmp_path / "_config.yml").write_text(TINY_CONFIG)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text(TINY_CHAPTER)
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))

    def build() -> tuple[int, str]:
        completed = subprocess.run(
            [jupyter_book, "build", ".", "-W", "-n", "--quiet"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        executions = (tmp_path / "executions.log").read_text().count("executed")
        return executions, (tmp_path / "_build/html/index.html").read_text()

    executions, page = build()
    assert executions == 1 and "VALUE 41" in page
    executions, page = build()
    assert executions == 1 and "VALUE 41" in page  # nothing changed: the cache answers

    (tmp_path / "tinymod" / "__init__.py").write_text("VALUE = 42\n")
    executions, page = build()
    assert executions == 2 and "VALUE 42" in page
    caches = sorted((tmp_path / "_build/.jupyter_cache").iterdir())
    assert [cache.name for cache in caches] == [
        book.execution_key(tmp_path, ["tinymod", "requirements.lock"])
    ]


PARALLEL_CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Chapter {number}

```{{code-cell}}
import os

CHAPTER = {number}  # jupyter-cache would answer chapters of the same code from one run
with open("executions.log", "a") as log:
    log.write(f"{{os.getppid()}}\\n")
```
"""


def test_documents_are_ordered_largest_first(tmp_path):
    """Readers take one document at a time, so the largest (longest-running) go first."""
    sizes = {"intro": 10, "big": 300, "small": 20, "medium": 100, "also-medium": 100}
    for name, size in sizes.items():
        (tmp_path / f"{name}.md").write_text("x" * size)
    env = types.SimpleNamespace(doc2path=lambda name: tmp_path / f"{name}.md")
    docnames = sorted(sizes) + ["missing"]
    book._largest_first(None, env, docnames)
    assert docnames == ["big", "also-medium", "medium", "small", "intro", "missing"]


def test_each_document_is_a_task_of_its_own():
    """The build's chunks: one document each, in order (Sphinx's own are fixed slices)."""
    assert book._one_document_per_task(["a", "b", "c"], 2) == [["a"], ["b"], ["c"]]


@pytest.mark.slow
def test_chapters_execute_in_parallel_readers_and_then_come_from_the_cache(tmp_path):
    """Six chapters built by ``python -m coursetools.book build --jobs 2`` with warnings as
    errors (Sphinx warns when it falls back to a serial read): the chapters' kernels have
    several parents, the reader processes (a serial read has one, the main process); a
    second build executes nothing."""
    (tmp_path / "_config.yml").write_text(TINY_CONFIG.replace("tinymod", "companion"))
    chapters = [f"chapter{number}" for number in range(6)]
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n"
        + "".join(f"- file: {name}\n" for name in chapters)
    )
    (tmp_path / "index.md").write_text("# Index\n")
    for number, name in enumerate(chapters):
        (tmp_path / f"{name}.md").write_text(PARALLEL_CHAPTER.format(number=number))

    def build() -> list[str]:
        completed = subprocess.run(
            [sys.executable, "-m", "coursetools.book", "build", "--jobs", "2", ".", "-W", "-n"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        log = tmp_path / "executions.log"
        return log.read_text().split() if log.exists() else []

    parents = build()
    assert len(parents) == len(chapters) and len(set(parents)) > 1
    assert build() == parents  # nothing changed: every chapter comes from the cache
