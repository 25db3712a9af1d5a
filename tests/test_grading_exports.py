"""End to end: a Canvas bulk download, zipped, graded by ``python -m coursetools.grading``.

The zip holds the committed 02-shrinkage solution (an assignment without MCMC) under one
login, marked late, and the blank student notebook under another, plus an earlier attempt
that the latest one supersedes. About a minute on 2 cores.
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


def test_canvas_zip_graded_through_the_cli(tmp_path):
    """Solution 14/14 for doejane (late, attempt 2, Canvas id 101), the blank notebook 0/14
    for smithbob; doejane's first attempt is superseded, not graded; gradebook, feedback
    pages and summary written."""
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
    assert "canvas export: 3 files, 2 to grade" in completed.stdout
    assert "ETA" in completed.stdout
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
    shutil.rmtree(tmp_path / "out")
