"""Grade every submission in a folder or an export, several at a time.

:func:`grade_export` reads any layout of :mod:`~coursetools.grading.intake` (or a zip of
one), grades each notebook once in parallel with a progress line and ETA, and can reuse a
previous run's results (``--resume``: same notebook hash, same autograder hash).
:func:`grade_directory` is the original flat-folder loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from coursetools.grading import intake
from coursetools.grading.assignments import Assignment
from coursetools.grading.intake import Submission
from coursetools.grading.report import GradeRow
from coursetools.grading.sandbox import Sandbox
from coursetools.grading.settings import DEFAULT_LIMITS, Limits
from coursetools.grading.submission import grade_file

__all__ = ["BatchResult", "default_jobs", "grade_directory", "grade_export", "grader_hash"]


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


# ------------------------------------------------------------------------- exports (issue 13)


@dataclass
class BatchResult:
    """The rows of a graded export and how they were obtained."""

    rows: list[GradeRow]
    layout: str
    graded: int = 0
    reused: int = 0
    superseded: list[tuple[str, str]] = field(default_factory=list)


def default_jobs(limits: Limits = DEFAULT_LIMITS) -> int:
    """One worker per core, but no more than memory allows at ``limits.memory_gb`` each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        by_memory = max(1, int(memory // limits.memory_bytes))
    except (ValueError, OSError, AttributeError):
        by_memory = cores or 1
    return max(1, min(cores or 1, by_memory))


def grader_hash(
    assignments: dict[str, Assignment], limits: Limits, sandbox: Sandbox, default: str | None
) -> str:
    """What the result of grading a notebook depends on besides the notebook."""
    digest = hashlib.sha256()
    for name in sorted(assignments):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(Path(assignments[name].autograder).read_bytes()).digest())
    digest.update(repr((limits, sandbox.label, default, GradeRow.columns())).encode())
    for module in ("submission", "answers", "hidden_tests", "kernel_driver", "test_runner"):
        digest.update((Path(__file__).parent / f"{module}.py").read_bytes())
    digest.update((Path(__file__).parents[1] / "install_cell.py").read_bytes())  # cells removed
    return digest.hexdigest()


class _Cache:
    """``{notebook key: rows}`` for one autograder hash, saved after every submission."""

    def __init__(self, path: Path | None, grader: str, reuse: bool):
        self.path, self.grader, self.lock = path, grader, threading.Lock()
        self.entries: dict[str, list[dict]] = {}
        if path is not None and reuse and path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("grader") == grader:
                    self.entries = dict(stored.get("entries", {}))
            except (OSError, ValueError, AttributeError):
                self.entries = {}

    def get(self, key: str) -> list[GradeRow] | None:
        found = self.entries.get(key)
        return [GradeRow(**row) for row in found] if found else None

    def put(self, key: str, rows: list[GradeRow]) -> None:
        if self.path is None or any(
            r.reason.startswith(("grader error", "grading failed")) for r in rows
        ):
            return
        with self.lock:
            self.entries[key] = [asdict(row) for row in rows]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps({"grader": self.grader, "entries": self.entries}))
            partial.replace(self.path)


def _notebook_key(sub: Submission, hint: str | None) -> str:
    digest = hashlib.sha256()
    try:
        if sub.path is not None and sub.path.is_file() and not sub.path.is_symlink():
            with open(sub.path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    except OSError:
        digest.update(b"unreadable")
    # in the flat layout the file name is checked; the folder hint may name the assignment
    name = sub.path.name if sub.path is not None and sub.student is None else ""
    digest.update(f"\0{name}\0{hint or ''}".encode())
    return digest.hexdigest()


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _whole(sub: Submission, reason: str, sandbox: Sandbox) -> GradeRow:
    return GradeRow(
        student=sub.key,
        file=sub.path.name if sub.path is not None else Path(sub.source).name,
        assignment=sub.assignment_hint,
        question="*",
        score=0.0,
        max_score=None,
        reason=reason,
        sandbox=sandbox.label,
    )


def _identify(rows: list[GradeRow], sub: Submission) -> list[GradeRow]:
    return [
        replace(
            row,
            student=sub.student if sub.student is not None else row.student,
            student_id=sub.student_id,
            name=sub.name,
            email=sub.email,
            late=sub.late,
            attempt=sub.attempt,
            source=sub.source,
        )
        for row in rows
    ]


def grade_export(
    source: Path,
    assignments: dict[str, Assignment],
    *,
    sandbox: Sandbox,
    limits: Limits = DEFAULT_LIMITS,
    layout: str = "auto",
    default_assignment: str | None = None,
    jobs: int | None = None,
    progress: bool = True,
    cache: Path | None = None,
    resume: bool = False,
    scratch: Path | None = None,
) -> BatchResult:
    """Grade an export (a folder or a ``.zip`` of any layout of :mod:`.intake`).

    Every file gets rows (identities from the export); a refused zip member, a file the
    layout does not explain and a superseded attempt get one ``*`` row with the reason.
    ``jobs`` submissions are graded at once (default :func:`default_jobs`). With ``cache``
    each graded notebook's rows are stored under its content hash and the grader's hash;
    ``resume`` reuses them instead of grading again.
    """
    source = Path(source)
    prefix = f"{source.name}:" if source.is_file() else ""
    try:
        opened = intake.open_export(source, scratch=scratch)
        root, refused = opened.__enter__()
    except ValueError as error:  # UnsafeArchive too: the whole archive is refused
        sub = Submission(path=None, source=source.name, student="*")
        return BatchResult(rows=[_whole(sub, str(error), sandbox)], layout="zip")
    try:
        export = intake.read_export(root, layout, prefix=prefix)
        subs = [
            Submission(
                path=None,
                source=prefix + name,
                student=Path(name).stem or "*",
                problem=f"zip member refused: {why}",
            )
            for name, why in refused
        ]
        subs += export.submissions
        result = BatchResult(rows=[], layout=export.layout)
        todo: dict[Path, tuple[Submission, str | None]] = {}
        for sub in subs:
            if not sub.problem and not sub.superseded_by and sub.path is not None:
                hint = sub.assignment_hint if sub.assignment_hint in assignments else None
                todo.setdefault(sub.path, (sub, hint or default_assignment))
        store = _Cache(cache, grader_hash(assignments, limits, sandbox, default_assignment), resume)
        graded: dict[Path, list[GradeRow]] = {}
        keys = {path: _notebook_key(sub, hint) for path, (sub, hint) in todo.items()}
        for path, key in keys.items():
            reused = store.get(key) if resume else None
            if reused is not None:
                graded[path] = reused
                result.reused += 1
        pending = [path for path in todo if path not in graded]
        if progress:
            note = f"; {result.reused} already graded (--resume)" if result.reused else ""
            print(
                f"{export.layout} export: {len(subs)} files, {len(pending)} to grade{note}",
                flush=True,
            )
        start, done, lock = time.monotonic(), 0, threading.Lock()

        def one(path: Path) -> list[GradeRow]:
            nonlocal done
            sub, hint = todo[path]
            rows = grade_file(
                path,
                assignments,
                sandbox=sandbox,
                limits=limits,
                default_assignment=hint,
                student=sub.student,
                scratch=scratch,
            )
            store.put(keys[path], rows)
            with lock:
                done += 1
                if progress:
                    elapsed = time.monotonic() - start
                    eta = elapsed / done * (len(pending) - done)
                    total = sum(r.score for r in rows)
                    possible = sum(r.max_score or 0.0 for r in rows)
                    note = "" if rows[0].question != "*" else f" ({rows[0].reason[:80]})"
                    print(
                        f"[{done}/{len(pending)}] {sub.source}: {total:g}/{possible:g}{note}"
                        f"  elapsed {_clock(elapsed)}, ETA {_clock(eta)}",
                        flush=True,
                    )
            return rows

        workers = max(1, jobs if jobs else default_jobs(limits))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for path, rows in zip(pending, pool.map(one, pending), strict=True):
                graded[path] = rows
        result.graded = len(pending)
        for sub in subs:
            if sub.problem:
                result.rows.append(_identify([_whole(sub, sub.problem, sandbox)], sub)[0])
            elif sub.superseded_by:
                why = f"superseded by {sub.superseded_by} ({intake.DUPLICATE_RULE})"
                result.superseded.append((sub.source, sub.superseded_by))
                result.rows.append(_identify([_whole(sub, why, sandbox)], sub)[0])
            elif sub.path is not None:
                result.rows.extend(_identify(graded[sub.path], sub))
        return result
    finally:
        opened.__exit__(None, None, None)
