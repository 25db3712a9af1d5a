"""The grade table: one row per student and question, written as CSV."""

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
    the failed hidden tests' messages (and the notebook's own errors).
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
            writer.writerow(record)
