"""Student notebooks survive ordinary use: renamed, opened from another folder, rerun.

For two exercise notebooks (every notebook has the same install and init cells, which
tests check), the first cells (the install cell, otter's init cell, the setup cell and the
first question's cells up to its check) are executed in a fresh kernel with the file
renamed to a student id, in a folder that holds other notebooks too, and -- as JupyterLab
does -- with the kernel started elsewhere and ``JPY_SESSION_NAME`` naming the file; and
one as in Colab, where the notebook is not a file. The public check must run (its ``...``
answers fail it) without any Python error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coursetools.exercises import REPO_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")

EXERCISES = sorted((REPO_ROOT / "exercises").glob("*.ipynb"))


def _first_question(path: Path) -> nbformat.NotebookNode:
    """The notebook cut after its first check cell, with that cell's output shown."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.startswith("grader.check("):
            nb.cells = nb.cells[: index + 1]
            return nb
    raise AssertionError(f"{path.name} has no check cell")


def _run(nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str]) -> list[str]:
    """Execute with a kernel started in ``cwd``; the errors and the check cell's output."""
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        client = NotebookClient(
            nb,
            kernel_name="python3",
            allow_errors=True,
            timeout=300,
            resources={"metadata": {"path": str(cwd)}},
        )
        client.execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    errors = [
        f"{o.ename}: {o.evalue}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    check = nb.cells[-1].outputs
    shown = " ".join(str(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in check)
    return errors, shown


def _init_cell(path: Path) -> str:
    """otter's init cell (the first code cell after the install cell) with the assignment's
    name taken out."""
    nb = nbformat.read(path, as_version=4)
    first = next(cell for cell in nb.cells[1:] if cell.cell_type == "code")
    return first.source.replace(nb.metadata["otter"]["assignment_name"], "<assignment>")


def test_every_notebook_finds_itself_with_the_same_init_cell():
    """The notebooks differ only in the assignment they look for, so running two of them
    renamed (below) covers the mechanism of all; nbval runs every notebook in full."""
    assert len({_init_cell(path) for path in EXERCISES}) == 1
    assert "find_this_notebook" in _init_cell(EXERCISES[0])


def test_every_notebook_and_solution_starts_with_the_same_install_cell():
    """The first cell of every exercise and solution notebook is the same tagged, locked
    install cell, which installs the companion and otter-grader (Colab has neither)."""
    paths = [*EXERCISES, *sorted((REPO_ROOT / "solutions").glob("*.ipynb"))]
    firsts = [nbformat.read(path, as_version=4).cells[0] for path in paths]
    assert len({cell.source for cell in firsts}) == 1
    for path, cell in zip(paths, firsts, strict=True):
        assert cell.metadata.get("tags") == ["install-requirements"], path.name
        assert cell.metadata.get("editable") is False, path.name
        assert not cell.get("outputs"), path.name
    assert '"companion": "companion @ git+' in firsts[0].source
    assert '"otter": "otter-grader==' in firsts[0].source


def _fake_colab(notebook: Path) -> nbformat.NotebookNode:
    """A cell that makes the kernel look like Colab's to the init cell: ``google.colab`` is
    imported and ``_message.blocking_request("get_ipynb")`` returns the notebook (Colab
    keeps it in the browser, not on disk)."""
    return nbformat.v4.new_code_cell(
        f"""\
import json, sys, types
_colab = types.ModuleType("google.colab")
_colab._message = types.SimpleNamespace(
    blocking_request=lambda request, timeout_sec=None: {{
        "ipynb": json.loads(open({str(notebook)!r}, encoding="utf-8").read())
    }} if request == "get_ipynb" else None
)
sys.modules.setdefault("google", types.ModuleType("google"))
sys.modules["google.colab"] = _colab
sys.modules["google.colab._message"] = _colab._message"""
    )


@pytest.mark.parametrize("exercise", EXERCISES[1:2], ids=lambda p: p.stem)
def test_public_check_runs_in_colab_without_the_notebook_on_disk(exercise, tmp_path):
    """In Colab the notebook is not a file: the init cell writes the public checks from the
    notebook (as Colab's get_ipynb gives it) to tests/, and the check runs, no error."""
    elsewhere = tmp_path / "browser" / exercise.name  # not in the kernel's folder
    elsewhere.parent.mkdir()
    shutil.copyfile(exercise, elsewhere)
    content = tmp_path / "content"
    content.mkdir()
    nb = _first_question(exercise)
    nb.cells.insert(0, _fake_colab(elsewhere))
    errors, shown = _run(nb, content, {"COMPANION_FAST": "1"})
    assert not errors, errors
    assert "results" in shown, shown
    questions = nbformat.read(exercise, as_version=4).metadata["otter"]["tests"]
    assert sorted(path.stem for path in (content / "tests").glob("*.py")) == sorted(questions)


RENAMED = [path for path in EXERCISES if path.stem.startswith(("01-", "02-"))]


@pytest.mark.parametrize("exercise", RENAMED, ids=lambda p: p.stem)
def test_renamed_notebook_runs_its_public_check(exercise, tmp_path):
    """Renamed to <student-id>.ipynb next to other notebooks: the check runs, no error."""
    folder = tmp_path / "work"
    folder.mkdir()
    for other in EXERCISES[:2]:
        if other != exercise:
            shutil.copyfile(other, folder / f"other-{other.name}")
    renamed = folder / "s1234567.ipynb"
    shutil.copyfile(exercise, renamed)
    os.utime(renamed)  # the newest notebook of its assignment in the folder
    errors, shown = _run(_first_question(renamed), folder, {"COMPANION_FAST": "1"})
    assert not errors, errors
    assert "results" in shown, shown


@pytest.mark.parametrize("exercise", EXERCISES[1:2], ids=lambda p: p.stem)
def test_notebook_found_from_another_folder_through_jupyter(exercise, tmp_path):
    """A kernel started in another folder finds the file JupyterLab names (02-shrinkage:
    every exercise has the same init cell, and its first question runs in seconds)."""
    (tmp_path / "course").mkdir()
    (tmp_path / "elsewhere").mkdir()
    renamed = tmp_path / "course" / "my answers.ipynb"
    shutil.copyfile(exercise, renamed)
    errors, shown = _run(
        _first_question(renamed),
        tmp_path / "elsewhere",
        {"COMPANION_FAST": "1", "JPY_SESSION_NAME": str(renamed)},
    )
    assert not errors, errors
    assert "results" in shown, shown
