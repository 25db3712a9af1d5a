"""End to end: the four exports instructors download, graded by the command line.

A Canvas bulk download, zipped, is graded for real: the committed 02-shrinkage solution
(an assignment without MCMC) under one login, marked late, the blank student notebook under
another, and an earlier attempt that the latest one supersedes. The same two notebooks laid
out as a flat folder, an nbgrader course and a Gradescope export, each as a folder and as a
zip, then go through the command line with ``--resume`` and the cache of the run before.
The cache is keyed on the notebook, the autograder and what the layout says about the
assignment (the file name in a flat folder, the folder in nbgrader), so the Gradescope
export reuses the Canvas grades, the flat and nbgrader folders are graded for real, and
every zip reuses its folder's grades; identities always come from the layout. About two
minutes on 2 cores.
"""

import csv
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from coursetools.exercises import REPO_ROOT
from coursetools.grading import cli

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")]

SOLUTION = REPO_ROOT / "solutions" / "02-shrinkage.ipynb"
BLANK = REPO_ROOT / "exercises" / "02-shrinkage.ipynb"


def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def canvas(tmp_path_factory) -> dict:
    """The Canvas zip graded once for real: the command's output and its files."""
    tmp_path = tmp_path_factory.mktemp("canvas")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.write(BLANK, "doejane_101_5001_02-shrinkage.ipynb")
        handle.write(SOLUTION, "doejane_LATE_101_5002_02-shrinkage-1.ipynb")
        handle.write(BLANK, "smithbob_102_5003_shrinkage.ipynb")
    output = tmp_path / "out" / "grades.csv"
    completed = subprocess.run(
        [sys.executable, "-m", "coursetools.grading", str(archive), "--output", str(output),
         "--jobs", "2"],
        capture_output=True, text=True, cwd=REPO_ROOT,
        env={**os.environ, "COMPANION_FAST": "1"}, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"stdout": completed.stdout, "output": output}


def test_canvas_zip_graded_through_the_cli(canvas):
    """Solution 14/14 for doejane (late, attempt 2, Canvas id 101), the blank notebook 0/14
    for smithbob; doejane's first attempt is superseded, not graded; gradebook, feedback
    pages and summary written."""
    output = canvas["output"]
    assert "canvas export: 3 files, 2 to grade" in canvas["stdout"]
    assert "ETA" in canvas["stdout"]
    rows = _read(output)
    jane = [r for r in rows if r["student"] == "doejane" and r["question"] != "*"]
    bob = [r for r in rows if r["student"] == "smithbob"]
    assert sum(float(r["score"]) for r in jane) == 14
    assert sum(float(r["max_score"]) for r in jane) == 14
    assert {(r["student_id"], r["late"], r["attempt"]) for r in jane} == {("101", "yes", "2")}
    assert {r["source"] for r in jane} == {
        "submissions.zip:doejane_LATE_101_5002_02-shrinkage-1.ipynb"
    }
    assert sum(float(r["score"]) for r in bob) == 0 and len(bob) == len(jane)
    assert {(r["student_id"], r["late"]) for r in bob} == {("102", "no")}
    (old,) = [r for r in rows if r["question"] == "*"]
    assert old["student"] == "doejane" and "superseded" in old["reason"]

    files = cli.outputs(output)
    book = {r["student"]: r for r in _read(files["gradebook"])}
    assert (book["doejane"]["total"], book["doejane"]["percent"]) == ("14", "100")
    assert (book["smithbob"]["total"], book["smithbob"]["percent"]) == ("0", "0")
    assert {p.name for p in files["feedback"].iterdir()} == {"doejane.html", "smithbob.html"}
    assert "14 / 14" in (files["feedback"] / "doejane.html").read_text()
    assert "data:image/png;base64," in files["summary"].read_text()


def _flat(root):
    shutil.copyfile(SOLUTION, root / "doejane.ipynb")
    shutil.copyfile(BLANK, root / "smithbob.ipynb")
    return {"doejane": {}, "smithbob": {}}


def _nbgrader(root):
    for student, notebook in (("doejane", SOLUTION), ("smithbob", BLANK)):
        folder = root / "submitted" / student / "02-shrinkage"
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / "02-shrinkage.ipynb")
    return {"doejane": {}, "smithbob": {}}


def _gradescope(root):
    (root / "submission_metadata.yml").write_text(
        "submission_31:\n  :submitters:\n  - :name: Jane Doe\n    :sid: '101'\n"
        "    :email: jane@uni.edu\n"
        "submission_32:\n  :submitters:\n  - :name: Bob Smith\n    :sid: '102'\n"
        "    :email: bob@uni.edu\n"
    )
    for number, notebook in ((31, SOLUTION), (32, BLANK)):
        (root / f"submission_{number}").mkdir()
        shutil.copyfile(notebook, root / f"submission_{number}" / "homework.ipynb")
    return {
        "101": {"name": "Jane Doe", "email": "jane@uni.edu"},
        "102": {"name": "Bob Smith", "email": "bob@uni.edu"},
    }


_LATEST_CACHE: dict[str, object] = {}
"""Each layout's cache after its folder was graded (the zip run reuses it)."""


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("layout", [_flat, _nbgrader, _gradescope], ids=lambda f: f.__name__[1:])
def test_other_exports_grade_with_their_identities(canvas, tmp_path, capsys, layout, zipped):
    """Flat, nbgrader and Gradescope exports of the same two notebooks, as folders and as
    zips: the solution's student scores 14/14 and the blank's 0/14, each under the
    identity its layout gives; a zip reuses both grades of its folder's run, the
    Gradescope folder those of the Canvas run."""
    export = tmp_path / "export"
    export.mkdir()
    identities = layout(export)
    if zipped:
        archive = tmp_path / "export.zip"
        with zipfile.ZipFile(archive, "w") as handle:
            for path in sorted(export.rglob("*")):
                handle.write(path, path.relative_to(export).as_posix())
        export = archive
    output = tmp_path / "out" / "grades.csv"
    output.parent.mkdir()
    cache = cli.outputs(output)["cache"]
    folder_graded = layout.__name__ in _LATEST_CACHE  # (unless this zip runs on its own)
    shutil.copyfile(
        _LATEST_CACHE.get(layout.__name__, cli.outputs(canvas["output"])["cache"]), cache
    )
    assert cli.main([str(export), "--output", str(output), "--resume", "--no-feedback"]) == 0
    if folder_graded or layout is _gradescope:
        assert "2 already graded (--resume)" in capsys.readouterr().out
    _LATEST_CACHE[layout.__name__] = cache
    rows = _read(output)
    totals = {}
    for row in rows:
        totals[row["student"]] = totals.get(row["student"], 0) + float(row["score"])
        for column, value in identities[row["student"]].items():
            assert row[column] == value
    full, blank = sorted(identities)
    assert totals == {full: 14, blank: 0}
