"""The Gradescope autograder zip of 02-shrinkage (an assignment without MCMC).

The zip is built once for the module. Fast tests read its members and run the autograder
in-process on submissions that hold no notebook or two. The slow test lays out
Gradescope's ``/autograder`` tree in a temporary folder (``source`` unpacked from the zip
with its file modes, ``run_autograder`` copied next to it, ``submission`` holding one
notebook) and runs ``run_autograder`` there as Gradescope would, with this environment's
Python instead of the one ``setup.sh`` would install: the committed solution and the
blank student notebook, side by side (about a minute on 2 cores).
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest

from coursetools.exercises import REPO_ROOT
from coursetools.grading import gradescope
from coursetools.grading.report import ALL_PASSED, GradeRow

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")

NAME = "02-shrinkage"
MASTER = REPO_ROOT / "assignments" / f"{NAME}.ipynb"
SOLUTION = REPO_ROOT / "solutions" / f"{NAME}.ipynb"
BLANK = REPO_ROOT / "exercises" / f"{NAME}.ipynb"
_STATED = re.compile(r"\*\*Question (\d+) \([^)]*?(\d+(?:\.\d+)?) points?\)")
_SOLUTION_LINE = re.compile(r"^(.*?)\s*# SOLUTION( NO PROMPT)?\s*$")


def _stated_points() -> dict[str, float]:
    """Each question's points as the master's prompt states them to students."""
    master = nbformat.read(MASTER, as_version=4)
    text = "\n".join(cell.source for cell in master.cells if cell.cell_type == "markdown")
    return {f"q{number}": float(points) for number, points in _STATED.findall(text)}


def _solution_lines() -> list[str]:
    """The answer lines of the master (marked ``# SOLUTION``), long enough to be telling."""
    master = nbformat.read(MASTER, as_version=4)
    lines = []
    for cell in master.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                if (found := _SOLUTION_LINE.match(line)) and len(found.group(1).strip()) >= 8:
                    lines.append(found.group(1).strip())
    return lines


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The zip ``make autograder`` writes for 02-shrinkage, built into a temporary folder."""
    built = gradescope.build([NAME], output_dir=tmp_path_factory.mktemp("gradescope"))
    assert list(built) == [NAME] and built[NAME].name == f"{NAME}.zip"
    return built[NAME]


def _layout(archive_path, root, notebooks=()):
    """Gradescope's tree under ``root``: source (unpacked with modes), run_autograder,
    submission (``notebooks``), results."""
    source = root / "source"
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for notebook, name in notebooks:
        shutil.copyfile(notebook, root / "submission" / name)
    return root


def test_zip_holds_setup_run_tests_and_lock_but_no_answers(autograder):
    """setup.sh and run_autograder (executable) at the root, the lock file, every test
    file of the otter autograder, the course packages; no notebook, and no answer line of
    the master's solutions in any member."""
    with zipfile.ZipFile(autograder) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        texts = {name: archive.read(name).decode("utf-8") for name in infos}
    for script in ("setup.sh", "run_autograder"):
        mode = infos[script].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, f"{script} is not executable"
        assert texts[script].startswith("#!")
    assert texts["requirements.lock"] == (REPO_ROOT / "requirements.lock").read_text()
    assert "requirements.lock" in texts["setup.sh"] and "bubblewrap" in texts["setup.sh"]
    assert "coursetools.grading.gradescope run" in texts["run_autograder"]
    with zipfile.ZipFile(REPO_ROOT / "_build" / "autograder" / f"{NAME}-autograder.zip") as otter:
        tests = {n for n in otter.namelist() if n.startswith("tests/")}
        assert tests and all(texts[n] == otter.read(n).decode() for n in tests)
    assert any("hidden=True" in texts[n] for n in tests)
    assert "course/companion/__init__.py" in infos and "course/coursetools/__init__.py" in infos
    allowed = ("course/companion/", "course/coursetools/", "tests/")
    extra = {"setup.sh", "run_autograder", "requirements.lock", "assignment.json"}
    extra |= {"course/pyproject.toml", "course/README.md"}
    assert all(n in extra or n.startswith(allowed) for n in infos), sorted(infos)
    assert not [n for n in infos if n.endswith(".ipynb") or "__pycache__" in n]
    answers = _solution_lines()
    assert len(answers) > 10
    leaked = {n: [a for a in answers if a in text] for n, text in texts.items()}
    assert not {n: found for n, found in leaked.items() if found}
    manifest = json.loads(texts["assignment.json"])
    assert manifest["questions"] == _stated_points()


@pytest.mark.parametrize(
    "notebooks, reason",
    [
        ((), "no notebook (.ipynb file) in the submission"),
        (((SOLUTION, "a.ipynb"), (BLANK, "b.ipynb")), "2 notebooks in the submission (a.ipynb"),
    ],
    ids=["none", "two"],
)
def test_no_notebook_or_several_score_zero_with_the_reason(autograder, tmp_path, notebooks, reason):
    """A submission without a notebook, or with two, is a zero with the reason (in every
    question's output and in the top-level output students see), not a crash."""
    root = _layout(autograder, tmp_path, notebooks)
    (root / "submission" / ".ipynb_checkpoints").mkdir()
    shutil.copyfile(SOLUTION, root / "submission" / ".ipynb_checkpoints" / "c.ipynb")
    gradescope.run(root, sandbox="none")
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0
    assert reason in result["output"] and "Isolation: NONE" in result["output"]
    assert [t["name"] for t in result["tests"]] == list(_stated_points())
    assert all(t["score"] == 0 and reason in t["output"] for t in result["tests"])


def test_results_from_a_single_unmatched_row():
    """A notebook that could not be matched to the assignment (one ``*`` row) gives every
    question 0 with that reason; graded rows keep their scores and reasons."""
    base = {"student": "submission", "file": "x.ipynb", "assignment": NAME, "sandbox": "bwrap"}
    star = GradeRow(**base, question="*", score=0, max_score=None, reason="no assignment 'x'")
    result = gradescope.results([star], {"q1": 2.0, "q2": 1.0}, isolation="Isolation: bwrap.")
    assert result["score"] == 0 and "no assignment 'x'" in result["output"]
    assert [(t["score"], t["max_score"], t["output"]) for t in result["tests"]] == [
        (0, 2.0, "no assignment 'x'"),
        (0, 1.0, "no assignment 'x'"),
    ]
    rows = [
        GradeRow(**base, question="q1", score=2.0, max_score=2.0, reason=ALL_PASSED),
        GradeRow(**base, question="q2", score=0.0, max_score=1.0, reason="t: wrong <b>"),
    ]
    result = gradescope.results(rows, {"q1": 2.0, "q2": 1.0}, isolation="I.", visibility="visible")
    assert result["score"] == 2.0 and result["output"] == "I."
    assert [(t["status"], t["output"], t["visibility"]) for t in result["tests"]] == [
        ("passed", ALL_PASSED, "visible"),
        ("failed", "t: wrong <b>", "visible"),
    ]


@pytest.mark.slow
def test_run_autograder_grades_solution_and_blank(autograder, tmp_path):
    """run_autograder, run in Gradescope's layout: the solution scores every question's
    full points (as stated in the master), the blank notebook 0 with a reason for every
    question; results.json names the isolation used."""
    env = {**os.environ, gradescope.PYTHON_VARIABLE: sys.executable}
    runs = {}
    for kind, notebook in (("solution", SOLUTION), ("blank", BLANK)):
        root = _layout(autograder, tmp_path / kind, [(notebook, f"{NAME}.ipynb")])
        process = subprocess.Popen(
            [str(root / "run_autograder")],
            env={**env, gradescope.ROOT_VARIABLE: str(root)},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        runs[kind] = (root, process)
    results = {}
    for kind, (root, process) in runs.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
        results[kind] = json.loads((root / "results" / "results.json").read_text())
    stated = _stated_points()
    for result in results.values():
        assert {t["name"]: t["max_score"] for t in result["tests"]} == stated
        assert result["output"].startswith("Isolation: ") and result["execution_time"] > 0
        assert all(t["visibility"] == gradescope.DEFAULT_VISIBILITY for t in result["tests"])
    solution, blank = results["solution"], results["blank"]
    assert solution["score"] == sum(stated.values())
    assert all(t["score"] == t["max_score"] for t in solution["tests"])
    assert all(t["output"] == ALL_PASSED for t in solution["tests"])
    assert blank["score"] == 0
    assert all(t["output"] and t["output"] != ALL_PASSED for t in blank["tests"])
    assert "is not answered" in blank["tests"][0]["output"]
