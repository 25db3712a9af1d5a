"""Grade every submission in a folder, several at a time."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coursetools.grading.assignments import Assignment
from coursetools.grading.report import GradeRow
from coursetools.grading.sandbox import Sandbox
from coursetools.grading.settings import DEFAULT_LIMITS, Limits
from coursetools.grading.submission import grade_file

__all__ = ["grade_directory"]


def grade_directory(
    directory: Path,
    assignments: dict[str, Assignment],
    *,
    sandbox: Sandbox,
    limits: Limits = DEFAULT_LIMITS,
    default_assignment: str | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> list[GradeRow]:
    """Grade every (non-hidden) entry of ``directory``; rows sorted by file name."""
    entries = sorted(Path(directory).iterdir(), key=lambda p: p.name)
    hidden = [p.name for p in entries if p.name.startswith(".")]
    if hidden:
        print(f"skipping hidden entries: {', '.join(hidden)}", file=sys.stderr)
    entries = [p for p in entries if not p.name.startswith(".")]

    def one(path: Path) -> list[GradeRow]:
        rows = grade_file(
            path, assignments, sandbox=sandbox, limits=limits, default_assignment=default_assignment
        )
        if progress:
            total = sum(r.score for r in rows)
            possible = sum(r.max_score or 0.0 for r in rows)
            note = "" if rows[0].question != "*" else f" ({rows[0].reason})"
            print(f"  {path.name}: {total:g}/{possible:g}{note}", flush=True)
        return rows

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        graded = list(pool.map(one, entries))
    return [row for rows in graded for row in rows]
