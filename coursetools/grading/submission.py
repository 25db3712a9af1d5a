"""Grade one submitted notebook: two sandboxes, answers as data between them.

1. The **student's sandbox** runs :mod:`~coursetools.grading.kernel_driver`: the
   notebook executes in a Jupyter kernel and each question's answers are exported as
   data right after its check cell. The autograder is not in this sandbox.
2. The grader copies the exported answer files (regular files, size-capped) into the
   **test sandbox**, which runs :mod:`~coursetools.grading.test_runner`: a fresh
   interpreter that reads the hidden tests and the answers and never runs student code.
3. When a hidden test calls a function answer, the grader relays the call's arguments
   to the student's sandbox and the result back, both as data.

The notebook's install cell (:mod:`coursetools.install_cell`, tagged ``install-requirements``)
is removed before the notebook enters the sandbox: grading never runs pip. A tagged cell that
is not the generated install cell (edited: say, answers typed into it) is removed all the
same, and the reasons of the questions not fully scored say so. An untagged copy of the
install cell runs like any cell: everything it asks for imports in the sandbox, so it does
nothing (and the sandbox has no network for a pip that an edited copy starts).

The grader trusts only the test process's report. Scores are clamped to each
question's points; whatever the notebook does to its own process (patching
``numpy.allclose``, answers whose ``==`` is always true, writing files) reaches the
tests only as the data of its answers.
"""

from __future__ import annotations

import json
import re
import selectors
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursetools.grading.assignments import Assignment
from coursetools.grading.report import ALL_PASSED, GradeRow
from coursetools.grading.sandbox import SANDBOX_DIR, Sandbox, kill, remove_tree
from coursetools.grading.settings import DEFAULT_LIMITS, Limits
from coursetools.install_cell import is_generated_install_source, is_install_cell

__all__ = ["NAMING_RULE", "grade_file"]

STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAMING_RULE = "submissions are named <student>.ipynb (letters, digits, '.', '_', '-')"
MAX_MESSAGE_BYTES = 64 * 2**20


class _Stopped(Exception):
    """A sandbox ran out of time or closed its channel."""


class _Pipe:
    """Lines from a sandbox's stdout, with a deadline."""

    def __init__(self, process):
        self.process = process
        self.selector = selectors.DefaultSelector()
        self.selector.register(process.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def receive(self, deadline: float, what: str) -> dict:
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Stopped(f"time limit exceeded while {what}")
            if not self.selector.select(timeout=remaining):
                continue
            chunk = self.process.stdout.read1(1 << 16)
            if not chunk:
                raise _Stopped(f"the process stopped while {what}")
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE_BYTES:
                raise _Stopped(f"an oversized message while {what}")
        line, self.buffer = self.buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise _Stopped(f"a malformed message while {what}")
        return message

    def send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()


@dataclass
class _Run:
    outcomes: list[dict] | None = None
    problem: str = ""
    cell_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


EDITED_INSTALL_CELL = (
    "the install cell (tagged 'install-requirements') was edited: grading never runs it, "
    "so nothing written in it counts; keep answers in the other cells"
)


def _without_install_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Remove the install cells from ``notebook``; a note for each edited one."""
    kept, notes = [], []
    for cell in notebook.cells:
        if not is_install_cell(cell):
            kept.append(cell)
        elif not is_generated_install_source(cell.get("source", "")):
            notes.append(EDITED_INSTALL_CELL)
    notebook.cells = kept
    return list(dict.fromkeys(notes))


def _python(module: str, *args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", module, *args]


def _copy_answers(source: Path, target: Path, limits: Limits) -> None:
    total = 0
    for path in sorted(source.glob("*.json")):
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > limits.max_answers_bytes:
            break
        shutil.copyfile(path, target / path.name)


def _run_sandboxes(
    notebook: nbformat.NotebookNode,
    assignment: Assignment,
    sandbox: Sandbox,
    limits: Limits,
    workdir: Path,
) -> _Run:
    student, tests = workdir / "student", workdir / "tests"
    for box in (student, tests):
        (box / "home").mkdir(parents=True)
        (box / "tmp").mkdir()
    (student / "answers").mkdir()
    nbformat.write(notebook, student / "submission.ipynb")
    inside = SANDBOX_DIR if sandbox.kind == "bwrap" else str(student)
    plan = {
        "notebook": "submission.ipynb",
        "answers": f"{inside}/answers",
        "questions": assignment.exported_names,
    }
    (student / "plan.json").write_text(json.dumps(plan))
    assignment.write_tests(tests / "suite")
    run = _Run()
    start = time.monotonic()
    processes = []
    try:
        sandbox.prepare(student)
        (tests / "answers").mkdir()
        sandbox.prepare(tests)
        with open(workdir / "student.log", "wb") as log:
            kernel = sandbox.start(
                student, _python("coursetools.grading.kernel_driver", "plan.json"), limits, log
            )
            processes.append(kernel)
            checker = sandbox.start(
                tests,
                _python(
                    "coursetools.grading.test_runner",
                    "suite",
                    "answers",
                    str(limits.max_answers_bytes),
                ),
                limits,
                log,
            )
            processes.append(checker)
            kernel_pipe, checker_pipe = _Pipe(kernel), _Pipe(checker)
            ready = kernel_pipe.receive(start + limits.timeout, "running the notebook")
            run.cell_errors = [str(error)[:300] for error in ready.get("errors", [])][:20]
            _copy_answers(student / "answers", tests / "answers", limits)
            sandbox.prepare(tests)
            checker_pipe.send({"go": True})
            deadline = time.monotonic() + limits.test_timeout
            while True:
                message = checker_pipe.receive(deadline, "running the hidden tests")
                if "results" in message:
                    run.outcomes = list(message["results"])
                    break
                kernel_pipe.send(message.get("call", {}))
                checker_pipe.send(kernel_pipe.receive(deadline, "calling a function answer"))
    except _Stopped as stopped:
        run.problem = str(stopped)
        if "time limit" in run.problem:
            run.problem += f" ({limits.timeout:g} s for the notebook, "
            run.problem += f"{limits.test_timeout:g} s for the tests): grading was stopped"
    except (OSError, ValueError) as error:
        run.problem = f"grading failed: {type(error).__name__}: {error}"[:300]
    finally:
        for process in processes:
            kill(process)
        run.seconds = time.monotonic() - start
    if run.outcomes is None and not run.problem:
        run.problem = "grading failed: no results"
    if run.problem.startswith("the process stopped"):
        run.problem += f": {_last_error(workdir / 'student.log')}"
    return run


def _last_error(log: Path) -> str:
    try:
        text = log.read_bytes()[-20000:].decode("utf-8", "replace")
    except OSError:
        return "no output"
    errors = re.findall(r"^\s*(\w*(?:Error|Exception|Exit)\b.*)$", text, flags=re.MULTILINE)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (errors[-1] if errors else lines[-1] if lines else "no output").strip()[:300]


def _rows(run: _Run, assignment: Assignment, base: dict) -> list[GradeRow]:
    by_question: dict[str, list[dict]] = {}
    for outcome in run.outcomes or []:
        by_question.setdefault(str(outcome.get("question")), []).append(outcome)
    raised = "; ".join(dict.fromkeys(run.cell_errors))
    rows = []
    for question, possible in assignment.questions.items():
        found = by_question.get(question, [])
        if run.outcomes is None:
            score, reason = 0.0, run.problem
        else:
            score = sum(float(o["points"]) for o in found if o.get("passed") is True)
            score = min(max(score, 0.0), possible)
            failed = [
                f"{o['test']}: {o.get('message') or 'failed'}"
                for o in found
                if o.get("passed") is not True
            ]
            reason = ALL_PASSED if score >= possible and not failed else "; ".join(failed)
            reason = reason[:500] or "no result for this question"
        if raised and score < possible:
            reason = f"the notebook raised {raised[:300]} | {reason}"
        if run.notes and score < possible:
            reason = f"{'; '.join(run.notes)} | {reason}"
        rows.append(
            GradeRow(**base, question=question, score=score, max_score=possible, reason=reason)
        )
    return rows


def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not UTF-8 text"
    if not text.strip():
        return None, "empty notebook file"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not a notebook: invalid JSON ({error.msg} at line {error.lineno})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "not a notebook: the JSON has no list of cells"
    try:
        return nbformat.reads(text, as_version=4), ""
    except Exception as error:  # nbformat raises many types for malformed notebooks
        return None, f"not a valid notebook ({type(error).__name__}: {error})"[:300]


def grade_file(
    path: Path,
    assignments: dict[str, Assignment],
    *,
    sandbox: Sandbox,
    limits: Limits = DEFAULT_LIMITS,
    default_assignment: str | None = None,
    student: str | None = None,
    scratch: Path | None = None,
) -> list[GradeRow]:
    """Grade one submitted file; never raises for a bad submission.

    Returns one row per question of its assignment, or a single row with question
    ``"*"`` (and the reason) when the file cannot be matched to an assignment.
    ``student`` defaults to the file name without ``.ipynb``.
    """
    path = Path(path)
    base = {
        "student": student or path.stem,
        "file": path.name,
        "assignment": "",
        "sandbox": sandbox.label,
    }

    def whole(reason: str, assignment: str = "") -> list[GradeRow]:
        return [
            GradeRow(
                **{**base, "assignment": assignment},
                question="*",
                score=0.0,
                max_score=None,
                reason=reason,
            )
        ]

    if path.is_symlink():
        return whole("a symbolic link, not a submitted file")
    if path.is_dir():
        return whole("a folder, not a notebook file; " + NAMING_RULE)
    if not path.is_file():
        return whole("not a regular file")
    if path.suffix != ".ipynb":
        return whole(f"not a notebook (no .ipynb extension); {NAMING_RULE}")
    if student is None and not STUDENT_NAME.match(path.stem):
        return whole(f"wrong file name {path.name!r}: {NAMING_RULE}")
    size = path.stat().st_size
    if size == 0:
        return whole("empty file")
    if size > limits.max_submission_bytes:
        return whole(
            f"file too large ({size / 2**20:.0f} MiB > {limits.max_submission_bytes // 2**20})"
        )
    notebook, problem = _read_notebook(path)
    if notebook is None:
        return whole(problem)
    otter_metadata = notebook.metadata.get("otter", {})
    named = otter_metadata.get("assignment_name") if isinstance(otter_metadata, dict) else None
    name = named if isinstance(named, str) and named else default_assignment
    if not name:
        return whole(
            "the notebook names no assignment (no otter metadata): was it copied into a new "
            "notebook? grade it with --assignment NAME"
        )
    if name not in assignments:
        known = ", ".join(sorted(assignments)) or "none"
        return whole(f"no assignment named {name!r} (known: {known})", name)
    assignment = assignments[name]
    base["assignment"] = name
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notes = _without_install_cells(notebook)
    workdir = Path(tempfile.mkdtemp(prefix="grade-", dir=scratch))
    try:
        run = _run_sandboxes(notebook, assignment, sandbox, limits, workdir)
    except Exception as error:  # a grader bug must not stop the whole run
        run = _Run(problem=f"grader error: {type(error).__name__}: {error}"[:300])
    finally:
        remove_tree(workdir)
    run.notes = notes
    base["seconds"] = round(run.seconds, 1)
    return _rows(run, assignment, base)
