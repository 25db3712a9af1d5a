"""Tests of coursetools.grading: a folder of submissions graded inside bubblewrap.

One folder of submissions is graded once per session through the command line
(``python -m coursetools.grading``) and the tests read the CSV it wrote. Its files are
built here from the committed notebooks: the solution, the blank student notebook, the
solution with one wrong answer, and a set of bad or hostile submissions. The hostile
ones report what they managed to do through their answer to question 5 (2 points if
the sandbox held, 0 otherwise), and the tests also look for their traces on the host.

Only two submissions run the MCMC fit (the solution and the one-wrong-answer notebook);
the others stop short of it, so the session costs about two minutes on 2 cores.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from coursetools import grading
from coursetools.exercises import REPO_ROOT
from coursetools.grading import hidden_tests, limits, submission

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")]

EXERCISE = REPO_ROOT / "exercises" / "01-pooling.ipynb"
SOLUTION = REPO_ROOT / "solutions" / "01-pooling.ipynb"
ASSIGNMENT = "01-pooling"
SHORT_TIMEOUT = 15.0
TOKEN = uuid.uuid4().hex[:12]
"""Unique name part of the files the hostile submissions try to create on the host."""


# ---------------------------------------------------------------------------- building notebooks


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def _replace_line(nb: nbformat.NotebookNode, pattern: str, replacement: str) -> None:
    """Replace the one source line matching ``pattern`` (a regex) in a code cell."""
    hits = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for index, line in enumerate(lines):
            if re.match(pattern, line):
                lines[index] = replacement
                hits += 1
        cell.source = "\n".join(lines)
    assert hits == 1, f"expected one line matching {pattern!r}, found {hits}"


def _init_index(nb: nbformat.NotebookNode) -> int:
    """The index of otter's init cell (after the install cell)."""
    return next(i for i, cell in enumerate(nb.cells) if "otter.Notebook" in cell.source)


def _insert_after_init(nb: nbformat.NotebookNode, source: str) -> None:
    """Insert a code cell right after otter's init cell."""
    nb.cells.insert(_init_index(nb) + 1, nbformat.v4.new_code_cell(source))


def _minimal_notebook(source: str) -> nbformat.NotebookNode:
    """The student notebook cut down to its install and init cells and one cell (fast to
    grade)."""
    nb = _read(EXERCISE)
    nb.cells = [*nb.cells[: _init_index(nb) + 1], nbformat.v4.new_code_cell(source)]
    return nb


def _hostile_probe(submissions: Path, host_dir: Path) -> str:
    """Code that tries to escape its sandbox and records every success in LEAKS."""
    return f"""
import glob, os, pathlib
LEAKS = []
for target in [
    pathlib.Path({str(REPO_ROOT)!r}) / "escape-{TOKEN}.txt",
    pathlib.Path({str(host_dir)!r}) / "escape-{TOKEN}.txt",
    pathlib.Path({str(submissions)!r}) / "escape-{TOKEN}.txt",
    pathlib.Path.home().parent.parent / "escape-{TOKEN}.txt",
]:
    try:
        target.write_text("escaped")
        LEAKS.append(f"wrote {{target}}")
    except OSError:
        pass
for secret in [
    pathlib.Path({str(submissions)!r}) / "alice.ipynb",
    pathlib.Path({str(REPO_ROOT)!r}) / "pyproject.toml",
    pathlib.Path({str(host_dir)!r}),
]:
    if secret.exists():
        LEAKS.append(f"saw {{secret}}")
LEAKS += [f"saw {{path}}" for path in glob.glob("/tmp/grade-*")]
try:
    import urllib.request
    urllib.request.urlopen("http://example.com", timeout=3)
    LEAKS.append("reached the network")
except Exception:
    pass
LEAKS
"""


@pytest.fixture(scope="session")
def host_dir(tmp_path_factory) -> Path:
    """A host directory outside every submission's sandbox (under the host's /tmp)."""
    return tmp_path_factory.mktemp("host")


@pytest.fixture(scope="session")
def submissions(tmp_path_factory, host_dir) -> Path:
    """The folder of submissions graded by :func:`graded`."""
    folder = tmp_path_factory.mktemp("submissions")
    shutil.copyfile(SOLUTION, folder / "alice.ipynb")
    shutil.copyfile(EXERCISE, folder / "bob.ipynb")

    one_wrong = _read(SOLUTION)  # q1 with the unweighted mean and its naive standard error
    _replace_line(one_wrong, r"^pooled_estimate = ", "pooled_estimate = float(np.mean(y))")
    _replace_line(
        one_wrong, r"^pooled_se = ", "pooled_se = float(np.std(y, ddof=1) / np.sqrt(len(y)))"
    )
    _write(one_wrong, folder / "carl.ipynb")

    broken = _read(EXERCISE)
    _insert_after_init(broken, 'raise RuntimeError("my notebook is broken")')
    _write(broken, folder / "dora.ipynb")

    crashing = _read(EXERCISE)
    _insert_after_init(crashing, "import os\nos._exit(3)")
    _write(crashing, folder / "dino.ipynb")

    (folder / "emma.ipynb").write_bytes(b"")
    (folder / "fred.txt").write_text("my answers are 7.69 and 4.07\n")
    (folder / "gina.ipynb").write_text('{"cells": [ this is not JSON')
    shutil.copyfile(EXERCISE, folder / "hank smith.ipynb")

    unknown = _read(EXERCISE)
    unknown.metadata["otter"]["assignment_name"] = "99-no-such-assignment"
    _write(unknown, folder / "ivan.ipynb")

    no_metadata = _read(EXERCISE)
    del no_metadata.metadata["otter"]
    _write(no_metadata, folder / "iris.ipynb")

    hostile = _read(EXERCISE)
    _insert_after_init(hostile, _hostile_probe(folder, host_dir))
    _replace_line(hostile, r"^q5_answer = ", 'q5_answer = "a" if not LEAKS else "b"')
    _write(hostile, folder / "jack.ipynb")

    greedy = _read(EXERCISE)  # 6 GiB of writable memory is over the 4 GiB limit
    _replace_line(
        greedy,
        r"^q5_answer = ",
        "try:\n    hoard = bytearray(6 * 2**30)\n    q5_answer = 'b'\n"
        "except MemoryError:\n    q5_answer = 'a'",
    )
    _write(greedy, folder / "luke.ipynb")

    (folder / ".ipynb_checkpoints").mkdir()  # hidden: skipped
    return folder


def _grade_with_cli(folder: Path, output: Path, *extra: str) -> tuple[list[dict], str, float]:
    start = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "coursetools.grading", str(folder), "--output", str(output), *extra],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COMPANION_FAST": "1"},
        check=False,
    )
    elapsed = time.monotonic() - start
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows, completed.stdout + completed.stderr, elapsed


@pytest.fixture(scope="session")
def sandbox() -> grading.Sandbox:
    """The sandbox the grader will use; these tests need a working bubblewrap."""
    found = grading.detect_sandbox("auto")
    assert found.kind == "bwrap", f"bubblewrap is needed to test the sandbox: {found.detail}"
    return found


@pytest.fixture(scope="session")
def graded(submissions, tmp_path_factory, sandbox) -> dict:
    """Grade the submissions folder once through the command line (2 jobs)."""
    output = tmp_path_factory.mktemp("grades") / "grades.csv"
    # A generous time limit: on a loaded machine an MCMC submission can take minutes.
    rows, log, elapsed = _grade_with_cli(submissions, output, "--jobs", "2", "--timeout", "1800")
    return {"rows": rows, "log": log, "elapsed": elapsed}


def _rows(graded: dict, file: str) -> list[dict]:
    rows = [row for row in graded["rows"] if row["file"] == file]
    assert rows, f"{file} is missing from the grade table"
    return rows


def _reasons(graded: dict, file: str) -> dict[str, str]:
    return {row["question"]: row["reason"] for row in _rows(graded, file)}


def _scores(graded: dict, file: str) -> dict[str, float]:
    return {row["question"]: float(row["score"]) for row in _rows(graded, file)}


@pytest.fixture(scope="session")
def assignments() -> dict[str, grading.Assignment]:
    """The known assignments, with their autograders (rebuilt if stale)."""
    return grading.load_assignments(REPO_ROOT)


@pytest.fixture(scope="session")
def questions(assignments) -> dict[str, float]:
    """Points per question of the 01-pooling assignment."""
    return assignments[ASSIGNMENT].questions


# ---------------------------------------------------------------------------- the grades


def test_table_has_one_row_per_question_for_every_file(graded, submissions, questions):
    """Every non-hidden file appears; notebooks of the assignment get one row per question."""
    files = {path.name for path in submissions.iterdir() if not path.name.startswith(".")}
    assert {row["file"] for row in graded["rows"]} == files
    assert set(grading.GradeRow.columns()) <= set(graded["rows"][0])
    for file in ["alice.ipynb", "bob.ipynb", "carl.ipynb", "dora.ipynb", "dino.ipynb"]:
        assert [row["question"] for row in _rows(graded, file)] == list(questions)
        assert all(row["assignment"] == ASSIGNMENT for row in _rows(graded, file))


def test_solution_scores_full_marks(graded, questions):
    """The solution notebook gets every question's maximum, as stated by the autograder."""
    rows = _rows(graded, "alice.ipynb")
    assert {row["question"]: float(row["max_score"]) for row in rows} == questions
    assert _scores(graded, "alice.ipynb") == questions, _reasons(graded, "alice.ipynb")
    assert all(row["reason"] == grading.ALL_PASSED for row in rows)
    assert rows[0]["student"] == "alice"
    assert sum(questions.values()) == 12


def test_blank_student_notebook_runs_and_scores_zero(graded, questions):
    """The blank student notebook runs top to bottom without error and scores 0 everywhere.

    No cell raised: the grader prefixes the reason with "the notebook raised ..." when
    any cell of the executed submission has an error output (see dora.ipynb).
    """
    assert _scores(graded, "bob.ipynb") == dict.fromkeys(questions, 0.0)
    reasons = [row["reason"] for row in _rows(graded, "bob.ipynb")]
    assert all(reasons) and not any("the notebook raised" in reason for reason in reasons)


def test_one_wrong_answer_loses_exactly_that_question(graded, questions):
    """A solution with a wrong question 1 loses q1's points and nothing else."""
    scores = _scores(graded, "carl.ipynb")
    assert scores == {**questions, "q1": 0.0}, _reasons(graded, "carl.ipynb")
    (q1,) = [row for row in _rows(graded, "carl.ipynb") if row["question"] == "q1"]
    assert "precision-weighted" in q1["reason"]


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("dora.ipynb", r"the notebook raised RuntimeError: my notebook is broken"),
        ("dino.ipynb", r"the notebook raised DeadKernelError: Kernel died"),
        ("emma.ipynb", r"empty file"),
        ("fred.txt", r"not a notebook"),
        ("gina.ipynb", r"invalid JSON"),
        ("hank smith.ipynb", r"wrong file name"),
        ("ivan.ipynb", r"no assignment named '99-no-such-assignment'"),
        ("iris.ipynb", r"names no assignment"),
    ],
)
def test_bad_submissions_get_zero_with_a_reason(graded, file, reason):
    """Broken, crashing, empty, non-notebook, misnamed, unknown submissions: 0 with a reason."""
    rows = _rows(graded, file)
    assert all(float(row["score"]) == 0.0 for row in rows)
    assert all(re.search(reason, row["reason"]) for row in rows), rows[0]["reason"]


def test_unmatched_files_get_a_single_star_row(graded):
    """Files that match no assignment are one row with question '*' and no maximum."""
    for file in ["emma.ipynb", "fred.txt", "gina.ipynb", "hank smith.ipynb", "ivan.ipynb"]:
        (row,) = _rows(graded, file)
        assert row["question"] == "*" and row["max_score"] == ""


def test_sandbox_is_recorded(graded):
    """The table says which sandbox graded each submission."""
    assert {row["sandbox"] for row in graded["rows"]} <= {"bwrap", "bwrap (nobody)"}


# ---------------------------------------------------------------------------- isolation


def test_submission_cannot_write_outside_its_directory(graded, host_dir, submissions):
    """Writes to the repository, the host's /tmp and the submissions folder all fail."""
    assert _scores(graded, "jack.ipynb")["q5"] == 2.0, "the probe found a way out (see LEAKS)"
    for folder in (REPO_ROOT, host_dir, submissions, Path("/")):
        assert not (folder / f"escape-{TOKEN}.txt").exists()


def test_submission_cannot_see_other_submissions(graded):
    """The probe saw no other submission, no repository file and no other grading directory.

    It ran alongside other submissions (2 jobs), looked for the submitted files at their
    host paths and for other grading directories in /tmp, and tried the network.
    """
    assert _scores(graded, "jack.ipynb")["q5"] == 2.0


def test_memory_limit_raises_memory_error(graded):
    """Allocating 6 GiB under the default 4 GiB limit raises MemoryError in the notebook."""
    assert _scores(graded, "luke.ipynb")["q5"] == 2.0


def test_endless_submission_is_stopped(tmp_path, sandbox, assignments, monkeypatch):
    """An endless notebook is killed at the time limit with everything it started; 0 points."""
    import psutil

    killed = []
    real_kill = submission.kill

    def recording_kill(process):
        killed.extend(child.pid for child in psutil.Process(process.pid).children(recursive=True))
        real_kill(process)

    monkeypatch.setattr(submission, "kill", recording_kill)
    _write(_minimal_notebook("while True:\n    pass"), tmp_path / "kate.ipynb")
    start = time.monotonic()
    rows = grading.grade_file(
        tmp_path / "kate.ipynb",
        assignments,
        sandbox=sandbox,
        limits=grading.Limits(timeout=SHORT_TIMEOUT),
    )
    assert time.monotonic() - start < SHORT_TIMEOUT + 30
    assert [row.question for row in rows] == list(assignments[ASSIGNMENT].questions)
    assert all(row.score == 0.0 and "time limit exceeded" in row.reason for row in rows)
    assert len(killed) >= 3  # bwrap's init, the driver and the kernel at least
    time.sleep(0.5)
    alive = [pid for pid in killed if psutil.pid_exists(pid)]
    alive = [pid for pid in alive if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"processes left running after the time limit: {alive}"


def test_unsandboxed_grading_warns_and_is_recorded(tmp_path, capsys):
    """With --sandbox none the grader still grades, warns loudly and marks the rows."""
    answers = _minimal_notebook('q5_answer = "a"')
    folder = tmp_path / "in"
    folder.mkdir()
    _write(answers, folder / "mona.ipynb")
    output = tmp_path / "grades.csv"
    assert grading.main([str(folder), "--output", str(output), "--sandbox", "none"]) == 0
    assert "GRADING WITHOUT A SANDBOX" in capsys.readouterr().err
    with open(output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["sandbox"] for row in rows} == {"NONE (not isolated)"}
    assert {row["question"]: float(row["score"]) for row in rows}["q5"] == 2.0


# ---------------------------------------------------------------------------- pieces


def test_scores_are_clamped_and_missing_questions_score_zero(tmp_path):
    """A question's score is the points of its passed tests, at most its maximum; a question
    without results scores 0 with a reason."""
    tests = [
        hidden_tests.TestCase("q1", "t1", 2.0, True, (), ""),
        hidden_tests.TestCase("q2", "t2", 1.0, True, (), ""),
    ]
    assignment = grading.Assignment("a", "a.ipynb", tmp_path / "a.zip", tuple(tests))
    outcomes = [{"question": "q1", "test": "t1", "points": 99, "passed": True}]
    base = {"student": "s", "file": "s.ipynb", "assignment": "a", "sandbox": "bwrap"}
    rows = submission._rows(submission._Run(outcomes=outcomes), assignment, base)
    assert [(row.question, row.score) for row in rows] == [("q1", 2.0), ("q2", 0.0)]
    assert rows[1].reason == "no result for this question"


@pytest.mark.parametrize(
    ("name", "ok"),
    [("jdoe.ipynb", True), ("j.doe-2_b.ipynb", True), ("jane doe.ipynb", False),
     ("-x.ipynb", False), ("x(1).ipynb", False)],
)  # fmt: skip
def test_naming_rule(name, ok):
    """Student names are letters, digits, '.', '_' and '-', starting with a letter or digit."""
    assert bool(submission.STUDENT_NAME.match(Path(name).stem)) is ok


def test_student_notebook_embeds_public_tests_only():
    """The student notebook carries the public tests in its metadata, never a hidden one."""
    tests = _read(EXERCISE).metadata["otter"]["tests"]
    assert set(tests) == {"q1", "q2", "q3", "q4", "q5"}
    assert all("hidden=True" not in source for source in tests.values())
    assert all("hidden=False" in source for source in tests.values())
    solution_tests = json.dumps(_read(SOLUTION).metadata["otter"]["tests"])
    assert "hidden=True" in solution_tests


def test_the_test_process_preloads_what_the_hidden_tests_import():
    """The test sandbox imports, while the notebook runs, the modules the tests import (and
    only those): ``from a import b`` names ``a.b``, which the importer may find is an
    attribute of ``a``; relative imports are skipped."""
    source = (
        "@test_case(points=1, hidden=True)\n"
        "def q1_test(x):\n"
        "    import numpy as np\n"
        "    from scipy import stats, integrate\n"
        "    from . import local\n"
        "    import xarray.core, numpy\n"
    )
    tests = hidden_tests.parse_tests("q1", source) + hidden_tests.parse_tests(
        "q2", source.replace("q1", "q2").replace("numpy as np", "pandas")
    )
    assert hidden_tests.imported_modules(tests) == [
        "numpy", "scipy.stats", "scipy.integrate", "xarray.core", "pandas",
    ]  # fmt: skip


# ---------------------------------------------------------------------------- 02-shrinkage


@pytest.fixture(scope="session")
def shrinkage_graded(tmp_path_factory, sandbox) -> dict:
    """The committed 02-shrinkage solution and blank student notebook, graded once."""
    folder = tmp_path_factory.mktemp("shrinkage-submissions")
    shutil.copyfile(REPO_ROOT / "solutions" / "02-shrinkage.ipynb", folder / "alice.ipynb")
    shutil.copyfile(REPO_ROOT / "exercises" / "02-shrinkage.ipynb", folder / "bob.ipynb")
    output = tmp_path_factory.mktemp("shrinkage-grades") / "grades.csv"
    rows, log, elapsed = _grade_with_cli(folder, output, "--jobs", "2")
    return {"rows": rows, "log": log, "elapsed": elapsed}


def test_shrinkage_solution_full_marks_and_blank_zero(shrinkage_graded):
    """02-shrinkage: the solution scores every question's maximum, the blank notebook 0."""
    questions = grading.load_assignments(REPO_ROOT)["02-shrinkage"].questions
    assert sum(questions.values()) == 14
    solution, blank = (_rows(shrinkage_graded, f) for f in ("alice.ipynb", "bob.ipynb"))
    assert _scores(shrinkage_graded, "alice.ipynb") == questions
    assert all(row["reason"] == grading.ALL_PASSED for row in solution)
    assert _scores(shrinkage_graded, "bob.ipynb") == dict.fromkeys(questions, 0.0)
    assert all(row["reason"] for row in blank)


# ------------------------------------------------------------------ 03-eight-schools, 04-funnel

HIERARCHY_TOTALS = {"03-eight-schools": 12, "04-funnel": 14}


def _grade_committed(tmp_path_factory, names, label: str) -> dict:
    """Grade the committed solution and blank student notebook of each assignment in one run."""
    folder = tmp_path_factory.mktemp(f"{label}-submissions")
    for name in names:
        for kind, source in (("solution", "solutions"), ("blank", "exercises")):
            shutil.copyfile(REPO_ROOT / source / f"{name}.ipynb", folder / f"{kind}-{name}.ipynb")
    output = tmp_path_factory.mktemp(f"{label}-grades") / "grades.csv"
    rows, log, elapsed = _grade_with_cli(folder, output, "--jobs", "2", "--timeout", "1800")
    return {"rows": rows, "log": log, "elapsed": elapsed}


def _assert_solution_full_marks_and_blank_zero(graded: dict, name: str, total: float) -> None:
    questions = grading.load_assignments(REPO_ROOT)[name].questions
    assert sum(questions.values()) == total
    solution_file, blank_file = f"solution-{name}.ipynb", f"blank-{name}.ipynb"
    assert _scores(graded, solution_file) == questions
    assert {row["reason"] for row in _rows(graded, solution_file)} == {grading.ALL_PASSED}
    assert _scores(graded, blank_file) == dict.fromkeys(questions, 0.0)
    assert all(row["reason"] for row in _rows(graded, blank_file))


@pytest.fixture(scope="session")
def hierarchy_graded(tmp_path_factory, sandbox) -> dict:
    """The committed 03 and 04 solutions and blank student notebooks, graded in one run."""
    return _grade_committed(tmp_path_factory, HIERARCHY_TOTALS, "hierarchy")


@pytest.mark.parametrize(("name", "total"), list(HIERARCHY_TOTALS.items()))
def test_hierarchy_solutions_full_marks_and_blanks_zero(hierarchy_graded, name, total):
    """03-eight-schools and 04-funnel: the solution (with its MCMC fits) scores every
    question's maximum with all tests passed; the blank notebook runs and scores 0 on every
    question, each with a reason."""
    _assert_solution_full_marks_and_blank_zero(hierarchy_graded, name, total)


# ------------------------------------------- 07-loo, 08-mixed-models, 09-beyond-one-intercept

LOO_MIXED_TOTALS = {"07-loo": 10, "08-mixed-models": 9, "09-beyond-one-intercept": 12}


@pytest.fixture(scope="session")
def loo_mixed_graded(tmp_path_factory, sandbox) -> dict:
    """The committed 07, 08 and 09 solutions and blank student notebooks, graded in one run."""
    return _grade_committed(tmp_path_factory, LOO_MIXED_TOTALS, "loo-mixed")


@pytest.mark.parametrize(("name", "total"), list(LOO_MIXED_TOTALS.items()))
def test_loo_mixed_solutions_full_marks_and_blanks_zero(loo_mixed_graded, name, total):
    """07-loo, 08-mixed-models and 09-beyond-one-intercept: the solution (with its MCMC fits)
    scores every question's maximum with all tests passed; the blank notebook runs and scores
    0 on every question, each with a reason."""
    _assert_solution_full_marks_and_blank_zero(loo_mixed_graded, name, total)


def test_limits_program_sets_the_limits_in_the_child_only():
    """The limits program sets the resource limits, then becomes the command."""
    import resource

    code = "import resource; print(resource.getrlimit(resource.RLIMIT_DATA)[0])"
    command = limits.command({"data": 3 * 2**30, "core": 0}, [sys.executable, "-c", code])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert int(done.stdout) == 3 * 2**30
    assert resource.getrlimit(resource.RLIMIT_DATA)[0] != 3 * 2**30  # the parent is untouched
