"""The gradebook: one row per student and assignment, ready to upload.

Built from the per-question rows (:class:`~coursetools.grading.report.GradeRow`): the total
is the sum of the question scores, the percent is of the assignment's points. A student
whose files could not be graded still has a row (total 0, no percent, the reason in
``note``); superseded attempts and stray files are named in ``note``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from coursetools.grading.report import GradeRow

__all__ = ["GradebookRow", "gradebook", "write_gradebook"]


@dataclass
class GradebookRow:
    """One student's result for one assignment."""

    student: str
    student_id: str
    name: str
    email: str
    assignment: str
    total: float
    max_score: float | None
    percent: float | None
    late: bool | None
    attempt: int | None
    source: str
    note: str = ""

    @classmethod
    def columns(cls) -> list[str]:
        """The CSV header."""
        return [f.name for f in fields(cls)]


def _first(rows: Sequence[GradeRow], name: str):
    for row in rows:
        value = getattr(row, name)
        if value not in ("", None):
            return value
    return "" if name not in ("late", "attempt") else None


def gradebook(rows: Sequence[GradeRow]) -> list[GradebookRow]:
    """One :class:`GradebookRow` per student and graded assignment (students in order)."""
    by_student: dict[str, list[GradeRow]] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    book = []
    for student, own in by_student.items():
        graded: dict[str, list[GradeRow]] = {}
        for row in own:
            if row.max_score is not None:
                graded.setdefault(row.assignment, []).append(row)
        notes = []
        for row in own:
            if row.max_score is None:
                where = row.source or row.file
                notes.append(f"{where}: {row.reason}")
        if not graded:
            book.append(
                GradebookRow(
                    student=student,
                    student_id=_first(own, "student_id"),
                    name=_first(own, "name"),
                    email=_first(own, "email"),
                    assignment=_first(own, "assignment"),
                    total=0.0,
                    max_score=None,
                    percent=None,
                    late=_first(own, "late"),
                    attempt=_first(own, "attempt"),
                    source="; ".join(dict.fromkeys(r.source or r.file for r in own)),
                    note=("not graded: " + " | ".join(notes))[:1000],
                )
            )
            continue
        for assignment, questions in graded.items():
            total = sum(r.score for r in questions)
            possible = sum(r.max_score or 0.0 for r in questions)
            book.append(
                GradebookRow(
                    student=student,
                    student_id=_first(questions, "student_id"),
                    name=_first(questions, "name"),
                    email=_first(questions, "email"),
                    assignment=assignment,
                    total=total,
                    max_score=possible,
                    percent=round(100 * total / possible, 1) if possible else None,
                    late=_first(questions, "late"),
                    attempt=_first(questions, "attempt"),
                    source="; ".join(dict.fromkeys(r.source or r.file for r in questions)),
                    note=" | ".join(notes)[:1000],
                )
            )
    return book


def write_gradebook(rows: Sequence[GradeRow], output: Path) -> list[GradebookRow]:
    """Write the gradebook of ``rows`` to ``output`` (CSV); returns its rows."""
    book = gradebook(rows)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=GradebookRow.columns())
        writer.writeheader()
        for row in book:
            record = asdict(row)
            record["total"] = f"{row.total:g}"
            record["max_score"] = "" if row.max_score is None else f"{row.max_score:g}"
            record["percent"] = "" if row.percent is None else f"{row.percent:g}"
            record["late"] = "" if row.late is None else ("yes" if row.late else "no")
            record["attempt"] = "" if row.attempt is None else str(row.attempt)
            writer.writerow(record)
    return book
