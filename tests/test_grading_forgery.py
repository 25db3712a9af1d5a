"""A notebook cannot forge its grade: hidden tests never share a process with its code.

Two submissions of 02-shrinkage carry the same wrong answers (every question but q4
is answered wrongly at its check cell). The second also tries everything a dishonest
student could from inside the notebook:

- around every check cell (where its answers are exported) it patches ``builtins.abs``,
  ``numpy.allclose``, ``numpy.isclose`` and ``math.isclose`` to always agree -- the
  lines that lifted a wrong submission from 1/14 to 7/14 when otter ran the hidden tests
  in the student's kernel (it restores them after each check, or its own sympy breaks);
- its wrong answers are float and str subclasses whose ``==`` is always true and whose
  ``!=``, ``<`` and ``>`` always please;
- it writes otter-style results claiming full marks wherever it can write;
- it looks for the hidden tests (any file holding a hidden test's name) in every place the
  grader could have put them, and if it finds one it changes its correct q4 answer, so
  that a leak would show in the score.

Both are graded through the command line in one run; the forger must score exactly what
the honest wrong submission scores, question by question.
"""

import csv
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from coursetools.exercises import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")]

SOLUTION = REPO_ROOT / "solutions" / "02-shrinkage.ipynb"
EXERCISE = REPO_ROOT / "exercises" / "02-shrinkage.ipynb"
CHECK = re.compile(r'grader\.check\("(q\d+)"\)')
WRONG = {
    "q1": ["B", "most_shrunk", "least_shrunk"],
    "q2": ["theta_shrunk", "q2_reason"],
    "q3": ["reduction_A"],
    "q5": ["risk", "w_star"],
    "q6": ["q6_error", "alpha_hat"],
    "q7": ["losses_mle", "losses_js", "js_wins"],
}
"""Answers made wrong right before each question's check cell (q4 stays right)."""

HONEST_WRONG = """
import numpy as np
import sympy as sp


def make_wrong(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return "zzz"
    if isinstance(value, sp.Basic):
        return value + 1
    if callable(value):
        return lambda *args, **kwargs: value(*args, **kwargs) * 1.5 + 1.0
    return np.asarray(value) * 1.5 + 1.0
"""

FORGERY = f"""
import builtins, glob, json, math, os, pathlib, zipfile
import numpy as np
import sympy as sp

ORIGINALS = (builtins.abs, np.allclose, np.isclose, math.isclose)


def forge():
    builtins.abs = lambda value: 0.0
    np.allclose = np.isclose = math.isclose = lambda *args, **kwargs: True


def unforge():
    builtins.abs, np.allclose, np.isclose, math.isclose = ORIGINALS


class AlwaysEqualFloat(float):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True
    __hash__ = float.__hash__


class AlwaysEqualStr(str):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __hash__ = str.__hash__


def make_wrong(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return AlwaysEqualStr("zzz")
    if isinstance(value, sp.Basic):
        return value + 1
    if callable(value):
        return lambda *args, **kwargs: value(*args, **kwargs) * 1.5 + 1.0
    wrong = np.asarray(value) * 1.5 + 1.0
    return AlwaysEqualFloat(wrong) if wrong.ndim == 0 else wrong


full_marks = {{"tests": [{{"name": f"q{{i}}", "score": 99, "max_score": 99}} for i in range(1, 8)]}}
for folder in ["/sandbox", "/sandbox/results", "/sandbox/answers", "/tmp", os.path.expanduser("~"),
               "..", "/sandbox/suite", "/sandbox/tests"]:
    for name in ["results.json", "grades.csv", "q1.json", "outcomes.json"]:
        try:
            pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
            pathlib.Path(folder, name).write_text(json.dumps(full_marks))
        except OSError:
            pass

FOUND_HIDDEN_TESTS = []
places = ["/sandbox", "/tmp", os.path.expanduser("~"), {str(REPO_ROOT)!r},
          {str(REPO_ROOT / "_build")!r}, {str(REPO_ROOT / "assignments")!r}]
places += glob.glob("/proc/[0-9]*/cwd") + glob.glob("/proc/[0-9]*/root/sandbox")
for place in places:
    for root, dirs, files in os.walk(place):
        for name in files:
            path = pathlib.Path(root, name)
            try:
                texts = [path.read_bytes()[:10**6]]
                if zipfile.is_zipfile(path):
                    with zipfile.ZipFile(path) as archive:
                        texts += [archive.read(member) for member in archive.namelist()]
                if any(b"def test_q4_" + b"value" in text for text in texts):
                    FOUND_HIDDEN_TESTS.append(str(path))
            except Exception:
                pass
        if len(root.split(os.sep)) > 8:
            dirs.clear()
"""


def _submission(kind: str) -> nbformat.NotebookNode:
    """The solution with wrong answers (and, for the forger, the forgery around each check).

    Its otter metadata is the student notebook's (public tests only), as a student's is.
    """
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.metadata["otter"] = nbformat.read(EXERCISE, as_version=4).metadata["otter"]
    init = next(i for i, cell in enumerate(nb.cells) if "otter.Notebook" in cell.source)
    forgery = nbformat.v4.new_code_cell(FORGERY if kind == "forger" else HONEST_WRONG)
    cells = [*nb.cells[: init + 1], forgery]
    for cell in nb.cells[init + 1 :]:
        question = CHECK.fullmatch(cell.source.strip())
        if question and question.group(1) in WRONG:
            names = WRONG[question.group(1)]
            cells.append(
                nbformat.v4.new_code_cell(
                    "\n".join(f"{name} = make_wrong({name})" for name in names)
                )
            )
        if question and kind == "forger":
            if question.group(1) == "q4":
                cells.append(nbformat.v4.new_code_cell("if FOUND_HIDDEN_TESTS:\n    B_I = -1.0"))
            cells += [
                nbformat.v4.new_code_cell("forge()"),
                cell,
                nbformat.v4.new_code_cell("unforge()"),
            ]
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, float]]:
    """Per-question scores of the honest wrong and the forging submission, graded once."""
    folder = tmp_path_factory.mktemp("forgery")
    for kind in ("honest", "forger"):
        nbformat.write(_submission(kind), folder / f"{kind}.ipynb")
    output = tmp_path_factory.mktemp("forgery-grades") / "grades.csv"
    completed = subprocess.run(
        [sys.executable, "-m", "coursetools.grading", str(folder), "--output", str(output),
         "--jobs", "2", "--sandbox", "bwrap"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found: dict[str, dict[str, float]] = {}
    for row in rows:
        found.setdefault(row["student"], {})[row["question"]] = float(row["score"])
    shutil.rmtree(folder)
    return found


def test_wrong_answers_lose_their_points(scores):
    """The honest wrong submission keeps only q4 (answered right) and loses every other."""
    honest = scores["honest"]
    assert honest["q4"] == 1.0
    assert all(honest[question] == 0.0 for question in WRONG), honest


def test_forging_changes_nothing(scores):
    """Patched builtins and NumPy, always-equal answers, fake result files and a hunt for
    the hidden tests: the forger scores exactly what the same answers score without them."""
    assert scores["forger"] == scores["honest"]
