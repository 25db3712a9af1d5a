"""The guarded install cell: the first cell of every launch and exercise notebook.

A fresh Colab or Binder runtime lacks the course's companion package (and otter-grader,
myst-nb, ...), and Colab ships older PyMC and ArviZ than the course uses. The install cell
pip-installs, only when one of its modules cannot be imported,

- the companion from the course's repository at its branch (``repository.url`` and
  ``repository.branch`` in ``_config.yml``: the one setting behind every public link),
- the notebook's other requirements (otter-grader for the graded notebooks; myst-nb and
  graphviz for the chapters), each at the version of ``requirements.lock``,
- and, with them, the version-sensitive libraries at the lock's versions
  (:data:`TESTED_WITH`: PyMC, PyTensor, nutpie, ArviZ and xarray), so a Colab runtime gets
  the versions the course is tested with instead of its own preinstalled ones.

Where everything imports (the course's ``.venv``, nbval, the grader's sandbox) the cell does
nothing. When pip replaced a library the session had already imported, the cell says to
restart the session; when pip fails, it stops with the command it ran.

The cell is tagged :data:`INSTALL_TAG` and locked (not editable, not deletable, as otter
locks its own cells). The grader removes tagged cells before it runs a submission
(:mod:`coursetools.grading.submission`): grading never runs pip. An untagged copy is a
no-op there because everything it asks for imports inside the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import nbformat

__all__ = [
    "INSTALL_TAG",
    "TESTED_WITH",
    "install_cell",
    "install_cell_source",
    "is_install_cell",
    "is_generated_install_source",
    "locked_versions",
]

INSTALL_TAG = "install-requirements"
"""Cell tag of the install cell (the grader never runs a cell carrying it)."""

TESTED_WITH = (
    "arviz",
    "arviz-base",
    "arviz-plots",
    "arviz-stats",
    "nutpie",
    "pymc",
    "pytensor",
    "xarray",
)
"""Distributions installed at the lock's versions with the companion (Colab has its own)."""

_REQUIREMENTS = "@@REQUIREMENTS@@"
_PINS = "@@PINS@@"
TEMPLATE = f"""\
# Install what this notebook needs when it is missing (a fresh Colab or Binder runtime):
# the course's companion package and the libraries below, at the versions the course is
# tested with. Where all of it imports already (your own environment, the grader), this
# cell does nothing.
import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys

requirements = {{
{_REQUIREMENTS}}}
tested_with = [
{_PINS}]
missing = [spec for name, spec in requirements.items() if importlib.util.find_spec(name) is None]
if missing:
    watched = ["numpy", "scipy", "pandas", "matplotlib", "xarray", "arviz", "pymc"]
    loaded = {{name: importlib.metadata.version(name) for name in watched if name in sys.modules}}
    command = [sys.executable, "-m", "pip", "install", "--quiet", *missing, *tested_with]
    if subprocess.run(command, check=False).returncode != 0:
        raise RuntimeError("pip could not install: " + " ".join(command[5:]))
    importlib.invalidate_caches()
    replaced = [name for name in loaded if importlib.metadata.version(name) != loaded[name]]
    if replaced:
        print(f"pip replaced {{', '.join(replaced)}}, already imported: restart the session",
              "(Colab: Runtime > Restart session), then run the notebook from the top.")
"""

_STRING = r'"[^"\\\n]*"'
_GENERATED = re.compile(
    re.escape(TEMPLATE)
    .replace(re.escape(_REQUIREMENTS), rf"(?:    {_STRING}: {_STRING},\n)*")
    .replace(re.escape(_PINS), rf"(?:    {_STRING},\n)*")
)


def _normalize_url(url: str) -> str:
    return url.removesuffix("/").removesuffix(".git")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a pip lock file.

    Parameters
    ----------
    lock : Path
        A requirements file as ``uv pip compile`` writes it (``requirements.lock``).

    Returns
    -------
    dict
        Versions by normalised distribution name (lower case, ``-`` for ``_`` and ``.``).
    """
    versions = {}
    for line in Path(lock).read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        if match:
            versions[_canonical(match[1])] = match[2]
    return versions


def install_cell_source(
    repository_url: str,
    *,
    branch: str = "main",
    modules: Mapping[str, str] | None = None,
    versions: Mapping[str, str] | None = None,
) -> str:
    """Source of the guarded install cell.

    Parameters
    ----------
    repository_url : str
        The course's repository on GitHub (``repository.url`` in ``_config.yml``).
    branch : str
        The branch (or tag) to install the companion from (``repository.branch``).
    modules : mapping of str to str, optional
        Other modules the notebook imports, each mapped to the distribution pip installs
        when it is missing (``{"otter": "otter-grader"}``).
    versions : mapping of str to str, optional
        Pinned versions by distribution name (:func:`locked_versions`): the ``modules``'
        distributions and :data:`TESTED_WITH` are pinned to those listed here.

    Returns
    -------
    str
        Python code that pip-installs what cannot be imported, or does nothing.

    Examples
    --------
    >>> source = install_cell_source("https://github.com/o/r/", modules={"otter": "otter-grader"},
    ...                              versions={"otter-grader": "7.0.0", "pymc": "6.4.0"})
    >>> '"companion @ git+https://github.com/o/r.git@main"' in source
    True
    >>> '"otter": "otter-grader==7.0.0"' in source and '"pymc==6.4.0"' in source
    True
    """
    if not repository_url.startswith("https://"):
        raise ValueError(f"repository_url must be an https:// URL, got {repository_url!r}")
    if not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"branch must be a git branch or tag name, got {branch!r}")
    versions = {_canonical(name): version for name, version in (versions or {}).items()}

    def pinned(distribution: str) -> str:
        version = versions.get(_canonical(distribution))
        return f"{distribution}=={version}" if version else distribution

    requirements = {"companion": f"companion @ git+{_normalize_url(repository_url)}.git@{branch}"}
    requirements |= {module: pinned(name) for module, name in (modules or {}).items()}
    pins = [pinned(name) for name in TESTED_WITH if _canonical(name) in versions]
    for text in [*requirements, *requirements.values(), *pins]:
        if '"' in text or "\\" in text or "\n" in text:
            raise ValueError(f"a requirement cannot contain quotes or line breaks: {text!r}")
    source = TEMPLATE.replace(
        _REQUIREMENTS, "".join(f'    "{name}": "{spec}",\n' for name, spec in requirements.items())
    )
    return source.replace(_PINS, "".join(f'    "{pin}",\n' for pin in pins))


def install_cell(source: str) -> nbformat.NotebookNode:
    """A code cell holding ``source``, tagged :data:`INSTALL_TAG` and locked."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.update({"deletable": False, "editable": False, "tags": [INSTALL_TAG]})
    return cell


def is_install_cell(cell) -> bool:
    """Whether ``cell`` (a notebook cell, possibly malformed) is a code cell tagged
    :data:`INSTALL_TAG`; never raises."""
    try:
        tags = cell.get("metadata", {}).get("tags", [])
        return cell.get("cell_type") == "code" and isinstance(tags, list) and INSTALL_TAG in tags
    except AttributeError:
        return False


def is_generated_install_source(source) -> bool:
    """Whether ``source`` is an install cell as :func:`install_cell_source` writes it (for
    any repository, branch and requirements), i.e. it was not edited."""
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    return isinstance(source, str) and _GENERATED.fullmatch(source) is not None
