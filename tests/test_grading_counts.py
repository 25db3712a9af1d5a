"""The graded notebooks of the count chapters grade as intended (slow).

For 05-dirichlet-multinomial and 06-other-likelihoods, the committed solution notebook
must score full marks on every question and the blank student notebook, which has to run
from top to bottom, must score zero. All four submissions are graded once, through the
command line (``python -m coursetools.grading``), as an instructor would; the expected
maxima are the points written in the masters' test configurations.
"""

import csv
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from coursetools.exercises import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")]

ASSIGNMENTS = ("05-dirichlet-multinomial", "06-other-likelihoods")
_POINTS = re.compile(r"^points:\s*([0-9.]+)\s*$", re.MULTILINE)
_QUESTION = re.compile(r"^name:\s*(\S+)\s*$", re.MULTILINE)


def _points_per_question(name: str) -> dict[str, float]:
    """Total points of each question, read from the master's test cells."""
    master = nbformat.read(REPO_ROOT / "assignments" / f"{name}.ipynb", as_version=4)
    totals: dict[str, float] = {}
    question = None
    for cell in master.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            question = _QUESTION.search(cell.source).group(1)
            totals[question] = 0.0
        elif cell.cell_type == "code" and "# BEGIN TEST CONFIG" in cell.source:
            totals[question] += float(_POINTS.search(cell.source).group(1))
    return totals


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[tuple[str, str], dict[str, float]]:
    """Scores of each (assignment, kind) submission, kind "solution" or "blank"."""
    folder = tmp_path_factory.mktemp("submissions")
    for name in ASSIGNMENTS:
        short = name.split("-")[0]
        shutil.copyfile(REPO_ROOT / "solutions" / f"{name}.ipynb", folder / f"s{short}.ipynb")
        shutil.copyfile(REPO_ROOT / "exercises" / f"{name}.ipynb", folder / f"b{short}.ipynb")
    output = tmp_path_factory.mktemp("grades") / "grades.csv"
    completed = subprocess.run(
        [sys.executable, "-m", "coursetools.grading", str(folder), "--output", str(output),
         "--jobs", "2", "--timeout", "1800"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    scores: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        kind = "solution" if row["file"].startswith("s") else "blank"
        key = (row["assignment"], kind)
        scores.setdefault(key, {})[row["question"]] = (float(row["score"]), row["reason"])
    return scores


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_scores_full_marks(graded, name):
    """Every question of the solution notebook gets its full points."""
    expected = _points_per_question(name)
    got = graded[(name, "solution")]
    assert set(got) == set(expected)
    for question, points in expected.items():
        score, reason = got[question]
        assert score == points, f"{name} {question}: {score} of {points} ({reason})"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_blank_notebook_runs_and_scores_zero(graded, name):
    """The blank student notebook runs to the end (every question is graded, none by a
    crashed kernel) and scores zero on every question."""
    got = graded[(name, "blank")]
    assert set(got) == set(_points_per_question(name))
    for question, (score, reason) in got.items():
        assert score == 0, f"{name} {question}: blank notebook scored {score}"
        assert "timed out" not in reason and "kernel" not in reason.lower(), reason


def test_student_notebooks_hold_no_solutions_or_hidden_tests():
    """The student notebooks embed public tests only, and none of the solutions' code."""
    for name in ASSIGNMENTS:
        text = (REPO_ROOT / "exercises" / f"{name}.ipynb").read_text(encoding="utf-8")
        assert "# SOLUTION" not in text and "BEGIN SOLUTION" not in text
        tests = json.loads(text)["metadata"]["otter"]["tests"]
        assert set(tests) == set(_points_per_question(name))
        for source in tests.values():
            assert "hidden=False" in source and "hidden=True" not in source
