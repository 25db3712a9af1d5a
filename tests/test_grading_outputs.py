"""Tests of the grading outputs and the command line over exports, with grading faked.

``batch.grade_file`` is replaced by a function that reads the scores a test wrote into
the notebook's metadata, so whole exports go through ``python -m coursetools.grading``'s
``main`` in milliseconds: identities in the CSV, the duplicates rule, rows for files that
cannot be graded, the gradebook's totals, escaping in the HTML pages, the summary's flags,
the progress line and ``--resume``.
"""

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest

from coursetools.grading import batch, cli, feedback, gradebook, hidden_tests
from coursetools.grading.assignments import Assignment
from coursetools.grading.report import ALL_PASSED, GradeRow
from coursetools.grading.sandbox import Sandbox

QUESTIONS = {"q1": 2.0, "q2": 1.0, "q3": 3.0}
EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def _notebook(path: Path, scores: dict[str, float], reason: str = "") -> Path:
    """A notebook whose fake grade is ``scores`` (missing questions score 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"otter": {"assignment_name": "02-shrinkage"}, "fake": scores, "why": reason}
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4}))
    return path


@pytest.fixture
def fake(tmp_path, monkeypatch) -> dict:
    """Fake assignments, sandbox and grade_file; ``calls`` lists the graded files."""
    autograder = tmp_path / "autograder.zip"
    autograder.write_bytes(b"fake autograder")
    tests = tuple(hidden_tests.TestCase(q, f"{q}_t", p, True, (), "") for q, p in QUESTIONS.items())
    assignments = {"02-shrinkage": Assignment("02-shrinkage", "02.ipynb", autograder, tests)}
    calls: list[Path] = []

    def grade_file(path, assignments, *, sandbox, limits, default_assignment, student, scratch):
        calls.append(Path(path))
        base = {"student": student or Path(path).stem, "file": Path(path).name}
        try:
            meta = json.loads(Path(path).read_text())["metadata"]
        except (ValueError, KeyError, UnicodeDecodeError):
            return [GradeRow(**base, assignment="", question="*", score=0, max_score=None,
                             reason="not a notebook", sandbox=sandbox.label)]  # fmt: skip
        rows = []
        for question, points in QUESTIONS.items():
            score = float(meta["fake"].get(question, 0.0))
            reason = ALL_PASSED if score >= points else (meta["why"] or f"{question}_t failed")
            rows.append(
                GradeRow(**base, assignment="02-shrinkage", question=question, score=score,
                         max_score=points, reason=reason, sandbox=sandbox.label)
            )  # fmt: skip
        return rows

    monkeypatch.setattr(batch, "grade_file", grade_file)
    monkeypatch.setattr(cli, "load_assignments", lambda root: assignments)
    monkeypatch.setattr(cli, "detect_sandbox", lambda kind: Sandbox("bwrap"))
    return {"calls": calls, "assignments": assignments}


def _run(source: Path, output: Path, *extra: str) -> dict:
    assert cli.main([str(source), "--output", str(output), "--jobs", "2", *extra]) == 0
    files = cli.outputs(output)
    with open(output, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open(files["gradebook"], newline="", encoding="utf-8") as handle:
        book = list(csv.DictReader(handle))
    return {"rows": rows, "book": {row["student"]: row for row in book}, "files": files}


def _canvas(folder: Path) -> Path:
    _notebook(folder / "doejane_101_9001_02-shrinkage.ipynb", {"q1": 2})  # superseded
    _notebook(folder / "doejane_101_9002_02-shrinkage-1.ipynb", {"q1": 2, "q2": 1, "q3": 3})
    _notebook(folder / "smithbob_LATE_102_9003_02-shrinkage.ipynb", {"q3": 3}, EVIL)
    (folder / "readme.txt").write_text("not a submission")
    return folder


def test_canvas_zip_through_the_cli_identities_and_duplicates(tmp_path, fake):
    """A Canvas zip: login, user id, late flag, attempt and source in every row; the earlier
    attempt gets one '*' row naming the rule; the stray file a row with its reason."""
    folder = _canvas(tmp_path / "canvas")
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, path.name)
    result = _run(archive, tmp_path / "out" / "grades.csv")
    rows = result["rows"]
    jane = [r for r in rows if r["student"] == "doejane" and r["question"] != "*"]
    assert {r["question"]: float(r["score"]) for r in jane} == QUESTIONS
    assert {(r["student_id"], r["late"], r["attempt"]) for r in jane} == {("101", "no", "2")}
    assert {r["source"] for r in jane} == {"canvas.zip:doejane_101_9002_02-shrinkage-1.ipynb"}
    (old,) = [r for r in rows if r["source"].endswith("9001_02-shrinkage.ipynb")]
    assert old["question"] == "*" and "superseded by" in old["reason"]
    assert "latest attempt" in old["reason"]
    bob = [r for r in rows if r["student"] == "smithbob"]
    assert {(r["late"], r["attempt"]) for r in bob} == {("yes", "1")}
    (stray,) = [r for r in rows if r["source"] == "canvas.zip:readme.txt"]
    assert stray["question"] == "*" and "not a Canvas submission name" in stray["reason"]
    assert len(fake["calls"]) == 2  # the superseded attempt and the stray file not graded
    for column in ("student", "file", "assignment", "question", "score", "max_score",
                   "reason", "sandbox", "seconds"):  # fmt: skip
        assert column in rows[0]


def test_gradebook_one_row_per_student_with_totals(tmp_path, fake):
    """Gradebook: total = sum of question scores, percent of the points, late flag; the
    superseded attempt is named in the note; a student with nothing gradable has a row."""
    book = _run(_canvas(tmp_path / "canvas"), tmp_path / "grades.csv")["book"]
    assert set(book) == {"doejane", "smithbob", "readme"}
    assert (book["doejane"]["total"], book["doejane"]["max_score"]) == ("6", "6")
    assert book["doejane"]["percent"] == "100"
    assert "superseded" in book["doejane"]["note"]
    assert (book["smithbob"]["total"], book["smithbob"]["percent"]) == ("3", "50")
    assert book["smithbob"]["late"] == "yes"
    assert book["readme"]["percent"] == "" and "not graded" in book["readme"]["note"]


def test_gradebook_totals_from_rows():
    """gradebook(): 1.5 + 0 + 3 of 2 + 1 + 3 points is 4.5, i.e. 75 %."""
    rows = [
        GradeRow("s", "s.ipynb", "a", q, score, top, "", "bwrap")
        for q, score, top in (("q1", 1.5, 2.0), ("q2", 0.0, 1.0), ("q3", 3.0, 3.0))
    ]
    (row,) = gradebook.gradebook(rows)
    assert (row.total, row.max_score, row.percent) == (4.5, 6.0, 75.0)


def test_feedback_pages_escape_student_text(tmp_path, fake):
    """Reasons carrying student text appear escaped: no tag of theirs survives."""
    result = _run(_canvas(tmp_path / "canvas"), tmp_path / "grades.csv")
    folder = result["files"]["feedback"]
    page = (folder / "smithbob.html").read_text()
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "3 / 6" in page and "submitted late" in page
    assert sorted(p.name for p in folder.iterdir()) == [
        "doejane.html",
        "readme.html",
        "smithbob.html",
    ]


def test_feedback_file_names_are_safe_and_unique(tmp_path):
    """Student ids with slashes or dots become safe, distinct file names in the folder."""
    rows = [
        GradeRow(student, "f.ipynb", "a", "q1", 1.0, 1.0, ALL_PASSED, "bwrap")
        for student in ("../../etc/passwd", "a/b", "a_b", "<x>")
    ]
    pages = feedback.write_feedback(rows, tmp_path / "fb")
    assert len(set(pages.values())) == 4
    assert all(path.parent == tmp_path / "fb" for path in pages.values())
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.html", p.name) for p in pages.values())


def test_summary_flags_broken_and_trivial_questions(tmp_path):
    """Summary: a question nobody passed and one everybody passed are flagged, one passed
    by some is not; each question has an embedded PNG plot; student text is escaped."""
    rows = []
    for index in range(5):
        student = f"s{index}"
        rows += [
            GradeRow(student, "f", "a", "q1", 0.0, 2.0, EVIL, "bwrap"),
            GradeRow(student, "f", "a", "q2", 1.0, 1.0, ALL_PASSED, "bwrap"),
            GradeRow(student, "f", "a", "q3", 3.0 * (index % 2), 3.0, "x", "bwrap"),
        ]
    rows.append(GradeRow("s9", "odd.txt", "", "*", 0.0, None, EVIL, "bwrap"))
    stats = {s["question"]: s["flag"] for s in feedback.question_stats(rows)}
    assert "nobody" in stats["q1"] and "everybody" in stats["q2"] and stats["q3"] == ""
    page = feedback.write_summary(rows, tmp_path / "summary.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "a broken test?" in page


def test_nbgrader_and_gradescope_through_the_cli(tmp_path, fake):
    """nbgrader: student from the folder; Gradescope: sid, name and email, both members of
    a group submission get full rows from one grading."""
    nbgrader = tmp_path / "course"
    _notebook(nbgrader / "submitted" / "alice" / "02-shrinkage" / "02-shrinkage.ipynb", {"q1": 2})
    rows = _run(nbgrader, tmp_path / "nb.csv")["rows"]
    assert {r["student"] for r in rows} == {"alice"}
    assert sum(float(r["score"]) for r in rows) == 2.0

    fake["calls"].clear()
    gradescope = tmp_path / "gs"
    gradescope.mkdir()
    (gradescope / "submission_metadata.yml").write_text(
        "submission_7:\n  :submitters:\n  - :name: Bob B\n    :sid: '11'\n    :email: b@x.edu\n"
        "  - :name: Cy C\n    :sid: '12'\n    :email: c@x.edu\n"
    )
    _notebook(gradescope / "submission_7" / "hw.ipynb", {"q1": 2, "q2": 1})
    result = _run(gradescope, tmp_path / "gs.csv")
    people = {(r["student"], r["name"], r["email"]) for r in result["rows"]}
    assert people == {("11", "Bob B", "b@x.edu"), ("12", "Cy C", "c@x.edu")}
    assert {s: row["total"] for s, row in result["book"].items()} == {"11": "3", "12": "3"}
    assert len(fake["calls"]) == 1


def test_refused_zip_members_and_refused_archives_get_rows(tmp_path, fake):
    """A traversal member gets a '*' row with the reason (the rest is graded); a zip that
    is not a zip gets one row saying so."""
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../../escape.ipynb", "{}")
        handle.write(_notebook(tmp_path / "nb" / "alice.ipynb", {"q1": 2}), "alice.ipynb")
    rows = _run(archive, tmp_path / "grades.csv")["rows"]
    (refused,) = [r for r in rows if r["question"] == "*"]
    assert "zip member refused" in refused["reason"] and "leaving" in refused["reason"]
    assert {r["student"] for r in rows if r["question"] != "*"} == {"alice"}

    broken = tmp_path / "broken.zip"
    broken.write_text("garbage")
    rows = _run(broken, tmp_path / "broken.csv")["rows"]
    assert len(rows) == 1 and "not a readable zip" in rows[0]["reason"]


def test_progress_line_and_resume(tmp_path, fake, capsys):
    """Each graded notebook prints [k/n] with an ETA; --resume grades only the notebook
    that changed, and the table is the same as a full run's."""
    folder = tmp_path / "flat"
    _notebook(folder / "alice.ipynb", {"q1": 2})
    _notebook(folder / "bob.ipynb", {"q2": 1})
    output = tmp_path / "grades.csv"
    first = _run(folder, output, "--no-feedback")["rows"]
    assert re.search(r"\[2/2\] \S+\.ipynb: \d+/6 .*ETA \d+:\d\d:\d\d", capsys.readouterr().out)
    assert len(fake["calls"]) == 2

    _notebook(folder / "bob.ipynb", {"q2": 1, "q3": 3})
    fake["calls"].clear()
    again = _run(folder, output, "--resume", "--no-feedback")["rows"]
    assert [p.name for p in fake["calls"]] == ["bob.ipynb"]
    assert "1 already graded" in capsys.readouterr().out
    assert [r for r in again if r["student"] == "alice"] == [
        r for r in first if r["student"] == "alice"
    ]
    assert sum(float(r["score"]) for r in again if r["student"] == "bob") == 4.0

    fake["calls"].clear()
    _run(folder, output, "--no-feedback")  # without --resume everything is graded again
    assert len(fake["calls"]) == 2


def test_resume_ignores_a_cache_from_another_autograder(tmp_path, fake):
    """A changed autograder changes the grader hash: --resume grades everything again."""
    folder = tmp_path / "flat"
    _notebook(folder / "alice.ipynb", {"q1": 2})
    _run(folder, tmp_path / "grades.csv", "--no-feedback")
    fake["assignments"]["02-shrinkage"].autograder.write_bytes(b"a new autograder")
    fake["calls"].clear()
    _run(folder, tmp_path / "grades.csv", "--resume", "--no-feedback")
    assert len(fake["calls"]) == 1


def test_default_jobs_is_cores_within_memory():
    """Default workers: at least 1, at most the number of usable cores."""
    import os

    assert 1 <= batch.default_jobs() <= len(os.sched_getaffinity(0))
