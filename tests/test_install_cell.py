"""The guarded install cell (coursetools.install_cell), first cell of every launch and
exercise notebook: what it installs, that it recognises itself, and -- in a fresh virtual
environment without network -- that it installs a missing companion and is then a no-op.

The fresh-venv test runs the committed exercise notebook's install cell as a script. The
companion's requirement is the only text changed: the git URL (which needs the network)
becomes a wheel built here from this repository's ``companion``. pip runs with
``--no-index`` (``PIP_NO_INDEX``), and the fresh environment sees the course's ``.venv``
packages through a ``.pth`` file -- but not its editable companion, whose finder only
site-packages itself would load -- so the companion is missing, as in Colab, and its
dependencies and the pinned versions are already there, as pip checks them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from coursetools import book, exercises, install_cell

REPO = Path(__file__).resolve().parents[1]
EXERCISE = REPO / "exercises" / "01-pooling.ipynb"
LOCK = install_cell.locked_versions(REPO / "requirements.lock")
COMPANION_GIT = re.compile(r'"companion @ git\+https://[^"]+"')


def _committed_install_cell() -> str:
    cell = nbformat.read(EXERCISE, as_version=4).cells[0]
    assert install_cell.is_install_cell(cell)
    return cell.source


def test_pins_come_from_the_lock_file():
    """The exercise cell pins otter-grader and every TESTED_WITH library to the version in
    requirements.lock (read here with a regular expression of its own)."""
    lock = dict(
        re.findall(r"^([a-z0-9-]+)==(\S+)", (REPO / "requirements.lock").read_text(), flags=re.M)
    )
    source = exercises.install_cell_source(REPO)
    assert f'"otter": "otter-grader=={lock["otter-grader"]}"' in source
    for name in install_cell.TESTED_WITH:
        assert f'"{name}=={lock[name]}",' in source
    url, branch = book.repository_setting(REPO)
    launch = book.install_cell_source(url, branch=branch)
    assert f'"myst_nb": "myst-nb=={lock["myst-nb"]}"' in launch


def test_committed_cells_are_current_and_recognised():
    """The committed exercise and solution notebooks carry the cell for the current setting
    and lock; it is recognised as generated, an edited copy is not."""
    assert exercises.write_install_cells(REPO, check=True) == []
    source = _committed_install_cell()
    assert install_cell.is_generated_install_source(source)
    assert install_cell.is_generated_install_source(source.splitlines(keepends=True))
    assert not install_cell.is_generated_install_source(source + "answer = 42\n")
    edited = source.replace('"--quiet"', '"--quiet", "--index-url", "http://x"')
    assert not install_cell.is_generated_install_source(edited)
    assert not install_cell.is_generated_install_source(None)


def test_is_install_cell_never_raises_on_malformed_cells():
    """Cells with odd metadata (a student's editor, or a hostile edit) are not install cells
    and do not raise."""
    good = install_cell.install_cell("pass")
    assert install_cell.is_install_cell(good)
    odd = [
        {"cell_type": "code", "metadata": {"tags": "install-requirements"}},
        {"cell_type": "code", "metadata": {"tags": 5}},
        {"cell_type": "code", "metadata": None},
        {"cell_type": "markdown", "metadata": {"tags": ["install-requirements"]}},
        {"cell_type": "code"},
        "not a cell",
    ]
    assert not any(install_cell.is_install_cell(cell) for cell in odd)


def test_bad_settings_are_refused():
    """A URL that is not https:// or a branch that could break out of the string is
    refused with the argument named."""
    with pytest.raises(ValueError, match="repository_url"):
        install_cell.install_cell_source("git@github.com:o/r")
    with pytest.raises(ValueError, match="branch"):
        install_cell.install_cell_source("https://github.com/o/r", branch='main"; rm -rf ~')


def _companion_wheel(folder: Path) -> Path:
    """A wheel of this repository's companion, built offline from a copy of its source."""
    source = folder / "src"
    source.mkdir()
    shutil.copytree(
        REPO / "companion", source / "companion", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(folder / "wheels"), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = (folder / "wheels").glob("companion-*.whl")
    return wheel


@pytest.mark.slow
def test_install_cell_installs_the_missing_companion_in_a_fresh_venv(tmp_path):
    """Fresh venv, no network: the cell pip-installs the companion (built here), after which
    ``import companion`` works from the new environment; run again, it does nothing; with
    no wheel to install from, it stops with the message naming what pip could not install."""
    wheel = _companion_wheel(tmp_path)
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "course-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "work"  # not the repository: its companion/ folder must not be found
    work.mkdir()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))
    }
    env |= {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )

    where = "import importlib.util as u; print(u.find_spec('companion'))"
    assert run(where).stdout.strip() == "None"  # missing, as in Colab
    local = f'"companion @ {wheel.as_uri()}"'
    cell = COMPANION_GIT.sub(local, _committed_install_cell())
    assert cell.count(local) == 1

    first = run(cell)
    assert first.returncode == 0, first.stderr[-3000:]
    imported = run("import companion, companion.data; print(companion.__file__)")
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert imported.stdout.strip().startswith(site), imported.stdout
    assert run("from companion import data; print(len(data.load_eight_schools()))").stdout == "8\n"

    again = run(cell.replace("subprocess.run(command", "subprocess.run(['false']"))
    assert again.returncode == 0 and again.stdout == "", again.stderr[-3000:]

    run("import subprocess, sys; subprocess.run([sys.executable, '-m', 'pip', 'uninstall', "
        "'-y', '-q', 'companion'], check=True)")  # fmt: skip
    missing_wheel = run(cell.replace(wheel.as_uri(), (tmp_path / "gone.whl").as_uri()))
    assert missing_wheel.returncode != 0
    assert "RuntimeError: pip could not install: companion @ file:" in missing_wheel.stderr
