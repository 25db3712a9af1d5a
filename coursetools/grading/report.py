"""The grade table: one row per student and question, written as CSV.

The first nine columns are the original table's; the identity columns after them
(``student_id``, ``name``, ``email``, ``late``, ``attempt``, ``source``) are filled from the
export where it has them (see :mod:`coursetools.grading.intake`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

__all__ = ["ALL_PASSED", "GradeRow", "write_csv"]

ALL_PASSED = "all tests passed"


@dataclass
class GradeRow:
    """One row of the grade table.

    ``question`` is ``"*"`` (and ``max_score`` ``None``) for a file that could not be
    matched to an assignment; ``reason`` is :data:`ALL_PASSED` for full marks, otherwise
    the failed hidden tests' messages (and the notebook's own errors). ``late`` is
    ``None`` and ``attempt`` ``None`` when the export does not say; ``source`` is the
    file's path inside the export (``archive.zip:folder/file`` for a zip).
    """

    student: str
    file: str
    assignment: str
    question: str
    score: float
    max_score: float | None
    reason: str
    sandbox: str
    seconds: float = 0.0
    student_id: str = ""
    name: str = ""
    email: str = ""
    late: bool | None = None
    attempt: int | None = None
    source: str = ""

    @classmethod
    def columns(cls) -> list[str]:
        """The CSV header."""
        return [f.name for f in fields(cls)]


def write_csv(rows: Sequence[GradeRow], output: Path) -> None:
    """Write the grade table (header from :class:`GradeRow`)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=GradeRow.columns())
        writer.writeheader()
        for row in rows:
            record = asdict(row)
            record["max_score"] = "" if row.max_score is None else f"{row.max_score:g}"
            record["score"] = f"{row.score:g}"
            record["late"] = "" if row.late is None else ("yes" if row.late else "no")
            record["attempt"] = "" if row.attempt is None else str(row.attempt)
            writer.writerow(record)
