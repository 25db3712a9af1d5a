"""Tests of coursetools.grading.intake: the four export layouts, zips and duplicates.

Exports are laid out in a temporary folder as the LMS would write them; nothing is
graded here, so the module runs in well under a second.
"""

import json
import stat
import zipfile
from pathlib import Path

import pytest

from coursetools.grading import intake


def _notebook(path: Path, assignment: str = "02-shrinkage") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"otter": {"assignment_name": assignment}} if assignment else {}
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4}))
    return path


def _graded(export: intake.Export) -> list[intake.Submission]:
    return [s for s in export.submissions if not s.problem and not s.superseded_by]


# ------------------------------------------------------------------------------------ flat


def test_flat_folder_student_is_the_file_name(tmp_path):
    """A folder of <student>.ipynb is flat; the student comes from the file name later
    (student None), hidden entries are skipped and every other file is listed."""
    _notebook(tmp_path / "alice.ipynb")
    _notebook(tmp_path / "bob.ipynb")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    export = intake.read_export(tmp_path)
    assert export.layout == "flat"
    assert [s.source for s in export.submissions] == ["alice.ipynb", "bob.ipynb", "notes.txt"]
    assert all(s.student is None for s in export.submissions)
    assert [s.key for s in export.submissions] == ["alice", "bob", "notes"]


# -------------------------------------------------------------------------------- nbgrader


def _nbgrader(root: Path) -> Path:
    _notebook(root / "submitted" / "alice" / "02-shrinkage" / "02-shrinkage.ipynb")
    (root / "submitted" / "alice" / "02-shrinkage" / "timestamp.txt").write_text(
        "2025-03-01 10:00:00"
    )
    _notebook(root / "submitted" / "bob" / "02-shrinkage" / "mine.ipynb")
    (root / "submitted" / "bob" / "02-shrinkage" / "data.csv").write_text("1,2\n")
    (root / "submitted" / "carol.ipynb").write_text("{}")  # not in a student folder
    (root / "source").mkdir()  # part of an nbgrader course folder: ignored
    (root / "gradebook.db").write_bytes(b"")
    return root


def test_nbgrader_layout_is_detected_and_read(tmp_path):
    """submitted/<student>/<assignment>/<notebook>.ipynb: student and assignment from the
    folders; timestamp.txt is metadata; other files and misplaced ones get a reason."""
    export = intake.read_export(_nbgrader(tmp_path))
    assert export.layout == "nbgrader"
    by_source = {s.source: s for s in export.submissions}
    alice = by_source["submitted/alice/02-shrinkage/02-shrinkage.ipynb"]
    assert (alice.student, alice.assignment_hint, alice.problem) == ("alice", "02-shrinkage", "")
    assert alice.order == ("2025-03-01 10:00:00",)
    bob = by_source["submitted/bob/02-shrinkage/mine.ipynb"]
    assert (bob.student, bob.problem) == ("bob", "")
    assert by_source["submitted/bob/02-shrinkage/data.csv"].student == "bob"
    assert "expected a folder" in by_source["submitted/carol.ipynb"].problem
    assert not any("timestamp" in s or "source" in s or ".db" in s for s in by_source)


def test_nbgrader_submitted_folder_itself(tmp_path):
    """The submitted/ folder given directly (student/assignment/notebook) is nbgrader too."""
    _notebook(tmp_path / "alice" / "02-shrinkage" / "02-shrinkage.ipynb")
    _notebook(tmp_path / "bob" / "01-pooling" / "01-pooling.ipynb", "01-pooling")
    export = intake.read_export(tmp_path)
    assert export.layout == "nbgrader"
    assert {(s.student, s.assignment_hint) for s in _graded(export)} == {
        ("alice", "02-shrinkage"),
        ("bob", "01-pooling"),
    }


# ---------------------------------------------------------------------------------- canvas


def test_canvas_names_give_login_late_flag_and_attempt(tmp_path):
    """<login>_[LATE_]<userid>_<submissionid>_<name>[-N].ipynb: login, Canvas user id, late
    flag, and attempt N + 1 for a file renamed name-N on resubmission."""
    _notebook(tmp_path / "doejane_12345_67890_02-shrinkage.ipynb")
    _notebook(tmp_path / "smithbob_LATE_222_333_my_notebook-2.ipynb")
    (tmp_path / "random file.txt").write_text("?")
    export = intake.read_export(tmp_path)
    assert export.layout == "canvas"
    by_source = {s.source: s for s in export.submissions}
    jane = by_source["doejane_12345_67890_02-shrinkage.ipynb"]
    assert (jane.student, jane.student_id, jane.late, jane.attempt) == (
        "doejane",
        "12345",
        False,
        1,
    )
    bob = by_source["smithbob_LATE_222_333_my_notebook-2.ipynb"]
    assert (bob.student, bob.student_id, bob.late, bob.attempt) == ("smithbob", "222", True, 3)
    assert "not a Canvas submission name" in by_source["random file.txt"].problem


def test_canvas_layout_forced_on_a_flat_folder_reports_every_file(tmp_path):
    """--layout canvas on files without Canvas names: each file gets a row with the reason."""
    _notebook(tmp_path / "alice.ipynb")
    export = intake.read_export(tmp_path, "canvas")
    assert export.layout == "canvas"
    assert [s.problem.split(" (")[0] for s in export.submissions] == [
        "not a Canvas submission name"
    ]


# ------------------------------------------------------------------------------ gradescope

GRADESCOPE_YAML = """\
submission_101:
  :submitters:
  - :name: Jane Doe
    :sid: '1001'
    :email: jane@example.edu
  :created_at: 2025-03-01 10:00:00.000000000 -08:00
  :score: 0.0
submission_102:
  :submitters:
  - :name: Bob Smith
    :sid: '1002'
    :email: bob@example.edu
  - :name: Carol Jones
    :sid: '1003'
    :email: carol@example.edu
  :created_at: 2025-03-01 11:00:00.000000000 -08:00
submission_103:
  :submitters:
  - :name: Dan Empty
    :sid: '1004'
    :email: dan@example.edu
"""


def _gradescope(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "submission_metadata.yml").write_text(GRADESCOPE_YAML)
    _notebook(root / "submission_101" / "02-shrinkage.ipynb")
    _notebook(root / "submission_102" / "group.ipynb")
    (root / "submission_103").mkdir()
    (root / "submission_103" / "answers.pdf").write_bytes(b"%PDF")
    return root


def test_gradescope_export_identities_and_groups(tmp_path):
    """Metadata gives sid, name, email; each member of a group submission gets its own
    entry for the same notebook; a submission without a notebook gets a reason."""
    export = intake.read_export(_gradescope(tmp_path))
    assert export.layout == "gradescope"
    people = {s.student: s for s in export.submissions}
    assert set(people) == {"1001", "1002", "1003", "1004"}
    assert (people["1001"].name, people["1001"].email) == ("Jane Doe", "jane@example.edu")
    assert people["1002"].path == people["1003"].path
    assert people["1002"].group == "submission_102"
    assert people["1003"].name == "Carol Jones"
    assert "no notebook" in people["1004"].problem


def test_gradescope_forced_without_metadata_says_so(tmp_path):
    """--layout gradescope on a folder without submission_metadata.yml: a row says why."""
    _notebook(tmp_path / "alice.ipynb")
    export = intake.read_export(tmp_path, "gradescope")
    assert any("no submission_metadata.yml" in s.problem for s in export.submissions)


def test_unknown_layout_name_is_rejected(tmp_path):
    """A layout name outside LAYOUTS raises ValueError naming the choices."""
    with pytest.raises(ValueError, match="layout must be one of"):
        intake.read_export(tmp_path, "moodle")


# ------------------------------------------------------------------------------ duplicates


def test_latest_attempt_counts_and_earlier_ones_are_superseded(tmp_path):
    """Two Canvas attempts of one student for one assignment: the later one (higher
    attempt) is graded, the earlier is marked superseded by it."""
    _notebook(tmp_path / "doejane_1_50_02-shrinkage.ipynb")
    _notebook(tmp_path / "doejane_1_51_02-shrinkage-1.ipynb")
    _notebook(tmp_path / "doejane_1_52_01-pooling.ipynb", "01-pooling")  # another assignment
    export = intake.read_export(tmp_path)
    by_source = {s.source: s for s in export.submissions}
    assert by_source["doejane_1_50_02-shrinkage.ipynb"].superseded_by == (
        "doejane_1_51_02-shrinkage-1.ipynb"
    )
    assert not by_source["doejane_1_51_02-shrinkage-1.ipynb"].superseded_by
    assert not by_source["doejane_1_52_01-pooling.ipynb"].superseded_by
    assert "latest attempt" in intake.DUPLICATE_RULE


def test_same_attempt_later_submission_id_wins(tmp_path):
    """Same attempt number: the higher Canvas submission id is the later submission."""
    _notebook(tmp_path / "doejane_1_70_a.ipynb")
    _notebook(tmp_path / "doejane_1_60_b.ipynb")
    export = intake.read_export(tmp_path)
    assert [s.source for s in _graded(export)] == ["doejane_1_70_a.ipynb"]


# ------------------------------------------------------------------------------------ zips


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_of_an_export_is_read_like_the_folder(tmp_path):
    """A zip holding a Gradescope export (inside a top folder) reads like the folder, with
    sources prefixed by the zip's name; the temporary folder is removed afterwards."""
    folder = _gradescope(tmp_path / "export")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            handle.write(path, Path("assignment_1_export") / path.relative_to(folder))
    with intake.open_export(archive) as (root, refused):
        assert refused == []
        export = intake.read_export(root, prefix="export.zip:")
        extracted = root
    assert export.layout == "gradescope"
    sources = {s.source for s in export.submissions}
    assert "export.zip:submission_101/02-shrinkage.ipynb" in sources
    assert not extracted.exists()


def test_zip_traversal_absolute_and_symlink_members_are_refused(tmp_path):
    """'../' members, absolute paths and symlink members are refused with a reason and
    nothing is written outside the extraction folder; the good member is extracted."""
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("good_1_2_nb.ipynb", b"{}")
        handle.writestr("../escaped.ipynb", b"x")
        handle.writestr("sub/../../escaped2.ipynb", b"x")
        handle.writestr("/tmp/absolute.ipynb", b"x")
        handle.writestr("C:\\windows.ipynb", b"x")
        link = zipfile.ZipInfo("link.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "/etc/passwd")
    target = tmp_path / "out"
    target.mkdir()
    refused = dict(intake.extract_zip(archive, target))
    assert set(refused) == {
        "../escaped.ipynb",
        "sub/../../escaped2.ipynb",
        "/tmp/absolute.ipynb",
        "C:\\windows.ipynb",
        "link.ipynb",
    }
    assert "leaving the archive" in refused["../escaped.ipynb"]
    assert "absolute" in refused["/tmp/absolute.ipynb"]
    assert "symbolic link" in refused["link.ipynb"]
    assert [p.name for p in target.rglob("*")] == ["good_1_2_nb.ipynb"]
    assert not (tmp_path / "escaped.ipynb").exists()
    assert not (tmp_path / "escaped2.ipynb").exists()


def test_zip_bomb_is_refused_as_a_whole(tmp_path):
    """Highly compressible data above the size limit: the archive is refused with a reason
    before anything large is written."""
    archive = _zip(tmp_path / "bomb.zip", {"a_1_2_x.ipynb": b"\0" * (8 * 2**20)})
    assert archive.stat().st_size < 100_000
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(intake.UnsafeArchive, match="expands to"):
        intake.extract_zip(archive, target, max_bytes=2**20)
    assert sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) == 0


def test_zip_member_with_a_lying_header_is_refused_not_expanded(tmp_path):
    """A member whose headers declare 10 bytes but whose data expands to 4 MiB is refused
    as corrupt (its check sum fails), with at most the declared bytes ever written."""
    archive = _zip(tmp_path / "liar.zip", {"a_1_2_x.ipynb": b"\0" * (4 * 2**20)})
    data = archive.read_bytes()
    real, small = (4 * 2**20).to_bytes(4, "little"), (10).to_bytes(4, "little")
    assert data.count(real) == 2  # the local and the central header
    archive.write_bytes(data.replace(real, small))
    target = tmp_path / "out"
    target.mkdir()
    refused = dict(intake.extract_zip(archive, target, max_bytes=2**20))
    assert "corrupt" in refused["a_1_2_x.ipynb"]
    assert list(target.rglob("*")) == []


def test_zip_with_too_many_members_is_refused(tmp_path):
    """More members than the limit: refused as a whole."""
    archive = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"" for i in range(20)})
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(intake.UnsafeArchive, match="members"):
        intake.extract_zip(archive, target, max_members=10)


def test_not_a_zip_is_a_value_error(tmp_path):
    """A .zip that is not a zip archive raises ValueError with the reason."""
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable zip"):
        with intake.open_export(fake):
            pass
