"""The grader never runs a notebook's install cell (coursetools.install_cell), and an edited
or untagged one gets a clear reason or does nothing -- never a crash.

Graded in bubblewrap: the committed 02-shrinkage solution (no MCMC) with its install cell
untagged (it then runs in the sandbox, where everything imports: a no-op) and with
malformed tags, and the blank student notebook with an edited install cell that would
pip-install and then stop the notebook if it ran.
"""

import copy

import nbformat
import pytest

from coursetools import grading
from coursetools.exercises import REPO_ROOT
from coursetools.grading import submission
from coursetools.install_cell import INSTALL_TAG

SOLUTION = REPO_ROOT / "solutions" / "02-shrinkage.ipynb"
EXERCISE = REPO_ROOT / "exercises" / "02-shrinkage.ipynb"
RAN = "the edited install cell ran"
EDITED = f"""\
import subprocess, sys
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "cowsay"], check=True)
B = [0.5] * 8  # an answer typed into the install cell
raise SystemExit("{RAN}")
"""


def _read(path):
    return nbformat.read(path, as_version=4)


def test_tagged_install_cells_are_removed_and_edited_ones_noted():
    """The generated cell is removed silently; an edited tagged cell is removed with the
    note; a cell with malformed tags is kept (it runs like any cell)."""
    nb = _read(EXERCISE)
    assert nb.cells[0].metadata["tags"] == [INSTALL_TAG]
    cells = len(nb.cells)
    assert submission._without_install_cells(nb) == [] and len(nb.cells) == cells - 1
    edited = _read(EXERCISE)
    edited.cells[0].source = EDITED
    edited.cells.append(copy.deepcopy(edited.cells[0]))
    notes = submission._without_install_cells(edited)
    assert notes == [submission.EDITED_INSTALL_CELL] and len(edited.cells) == cells - 1
    odd = _read(EXERCISE)
    odd.cells[0].metadata["tags"] = 5
    assert submission._without_install_cells(odd) == [] and len(odd.cells) == cells


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """Rows by file of the three variants, graded in bubblewrap."""
    sandbox = grading.detect_sandbox("auto")
    assert sandbox.kind == "bwrap", f"bubblewrap is needed: {sandbox.detail}"
    assignment = grading.load_assignments(REPO_ROOT)["02-shrinkage"]
    folder = tmp_path_factory.mktemp("install-cell")
    untagged, odd, edited = _read(SOLUTION), _read(SOLUTION), _read(EXERCISE)
    del untagged.cells[0].metadata["tags"]
    odd.cells[0].metadata["tags"] = {"install-requirements": True}
    edited.cells[0].source = EDITED
    rows = {}
    for name, nb in (("untagged", untagged), ("odd", odd), ("edited", edited)):
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        rows[name] = grading.grade_file(
            path, {assignment.name: assignment}, sandbox=sandbox, scratch=folder
        )
    return {"rows": rows, "questions": assignment.questions}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["untagged", "odd"])
def test_an_untagged_install_cell_runs_as_a_no_op(graded, name):
    """Untagged (or with tags that are not a list) the install cell runs in the sandbox and
    does nothing: the solution scores full marks with no error."""
    rows = graded["rows"][name]
    assert {row.question: row.score for row in rows} == graded["questions"]
    assert {row.reason for row in rows} == {grading.ALL_PASSED}


@pytest.mark.slow
def test_an_edited_install_cell_is_not_run_and_the_reason_says_so(graded):
    """The edited cell's pip install and SystemExit never run (the rest of the notebook
    does: its blank answers score 0), and every reason starts with the note."""
    rows = graded["rows"]["edited"]
    assert [row.question for row in rows] == list(graded["questions"])
    assert all(row.score == 0.0 for row in rows)
    for row in rows:
        assert row.reason.startswith(submission.EDITED_INSTALL_CELL), row.reason
        assert RAN not in row.reason and "SystemExit" not in row.reason
        assert "CalledProcessError" not in row.reason
