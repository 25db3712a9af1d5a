"""Gradescope autograders: build one zip per assignment, grade one submission in its layout.

``python -m coursetools.grading.gradescope build`` (``make autograder``) writes
``_build/gradescope/<assignment>.zip`` for every master in ``assignments/``. Gradescope
unpacks the zip into ``/autograder/source``, runs its ``setup.sh`` once as root to build
the image, copies its ``run_autograder`` to ``/autograder/run_autograder`` and runs that
for every submission, with the student's files in ``/autograder/submission``; the result
is ``/autograder/results/results.json`` (https://gradescope-autograders.readthedocs.io,
"Autograder Specifications"). The zip holds:

- ``setup.sh``: Python 3.12 (the lock file's; the deadsnakes PPA where the image's Ubuntu
  lacks it), bubblewrap and a C compiler with apt; a virtual environment at
  :data:`VENV` with the packages of ``requirements.lock``; the course's own ``companion``
  and ``coursetools``, shipped in ``course/``, installed into it;
- ``run_autograder``: ``python -m coursetools.grading.gradescope run``, which grades the
  one notebook of the submission with this course's pipeline
  (:func:`~coursetools.grading.submission.grade_file`: the notebook in one sandbox, the
  hidden tests in another) and writes ``results.json``: a test per question (score,
  maximum, the student-facing reasons) and, in the top-level ``output``, the isolation
  that was used and why a submission could not be graded;
- ``assignment.json`` (name, notebook, points per question, test visibility) and the
  assignment's test files ``tests/<question>.py``: no notebook, no master, no solution.

Gradescope's containers run as root and may not allow the user namespaces bubblewrap
needs: :func:`~coursetools.grading.sandbox.detect_sandbox` then falls back to grading
without a sandbox inside the container, and ``results.json`` says so.

``$AUTOGRADER_ROOT`` (or ``run --root``) replaces ``/autograder`` and ``$AUTOGRADER_PYTHON``
the environment's Python in ``run_autograder``, so a test lays the tree out in a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path

from coursetools.exercises import REPO_ROOT
from coursetools.grading.assignments import Assignment, load_assignments
from coursetools.grading.hidden_tests import TEST_FILE, load_tests
from coursetools.grading.report import GradeRow
from coursetools.grading.sandbox import COURSE_PACKAGES, Sandbox, detect_sandbox
from coursetools.grading.settings import DEFAULT_LIMITS, Limits
from coursetools.grading.submission import grade_file

__all__ = [
    "DEFAULT_VISIBILITY",
    "ROOT_VARIABLE",
    "VENV",
    "build",
    "build_zip",
    "find_notebook",
    "main",
    "results",
    "run",
]

ROOT_VARIABLE = "AUTOGRADER_ROOT"
"""Environment variable replacing ``/autograder`` (tests lay the tree out elsewhere)."""
PYTHON_VARIABLE = "AUTOGRADER_PYTHON"
"""Environment variable replacing the Python that ``run_autograder`` runs."""
GRADESCOPE_ROOT = Path("/autograder")
VENV = "/opt/course-venv"
"""Where ``setup.sh`` creates the environment ``run_autograder`` uses."""
MANIFEST = "assignment.json"
COURSE = "course"
"""The folder of the zip holding the course's packages (installed by ``setup.sh``)."""
VISIBILITIES = ("after_due_date", "after_published", "visible", "hidden")
DEFAULT_VISIBILITY = "after_due_date"
"""Students see each question's score and reasons once the due date has passed, so the
hidden tests' messages cannot be used to revise a notebook before it."""
PYTHON_VERSION = "3.12"
"""The Python ``requirements.lock`` is compiled for (``.python-version``)."""
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
"""Every member's time stamp, so that an unchanged assignment gives the same zip."""

SETUP_SH = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
source=/autograder/source
venv={VENV}
apt-get update -qq
if ! apt-cache show python{PYTHON_VERSION}-venv >/dev/null 2>&1; then
  # an Ubuntu without Python {PYTHON_VERSION} (22.04): the deadsnakes PPA has it
  apt-get install -y -qq --no-install-recommends software-properties-common gpg-agent
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update -qq
fi
# Python for the lock file, bubblewrap for the sandboxes, a C compiler for PyTensor
apt-get install -y -qq --no-install-recommends ca-certificates bubblewrap util-linux g++ \\
  python{PYTHON_VERSION} python{PYTHON_VERSION}-venv python{PYTHON_VERSION}-dev
python{PYTHON_VERSION} -m venv "$venv"
uv_pin=$(grep -E '^uv==' "$source/requirements.lock")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_pin"
"$venv/bin/uv" pip sync --python "$venv/bin/python" "$source/requirements.lock"
"$venv/bin/uv" pip install --python "$venv/bin/python" --no-deps --editable "$source/{COURSE}"
"$venv/bin/python" -c "import companion, coursetools.grading.gradescope"
echo "isolation in this image: $("$venv/bin/python" -c \\
  'from coursetools.grading import detect_sandbox as d; s = d(); print(s.label, s.detail)')"
"""

RUN_AUTOGRADER = f"""\
#!/usr/bin/env bash
# Gradescope runs this (copied to /autograder/run_autograder) once per submission.
# ${ROOT_VARIABLE} and ${PYTHON_VARIABLE} replace /autograder and the course's Python.
set -euo pipefail
root="${{{ROOT_VARIABLE}:-{GRADESCOPE_ROOT}}}"
python="${{{PYTHON_VARIABLE}:-{VENV}/bin/python}}"
cd "$root"
exec "$python" -m coursetools.grading.gradescope run --root "$root" "$@"
"""


# --------------------------------------------------------------------------------- building


def _add(archive: zipfile.ZipFile, name: str, data: bytes, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.create_system = 3  # Unix, so that unzip applies the mode below
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _package_files(root: Path) -> list[Path]:
    """The course packages' source and data files (no caches, nothing hidden)."""
    files = []
    for package in COURSE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            parts = path.relative_to(root).parts
            if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
                if path.suffix not in (".pyc", ".pyo"):
                    files.append(path)
    return files


def build_zip(
    assignment: Assignment,
    output: Path,
    *,
    root: Path = REPO_ROOT,
    visibility: str = DEFAULT_VISIBILITY,
) -> Path:
    """Write the Gradescope autograder zip of one assignment to ``output``; returns it.

    The test files come from the assignment's otter autograder, the packages from
    ``root`` (``companion/``, ``coursetools/``, ``pyproject.toml``, ``README.md``, which
    the package's metadata names) and the pins from ``root/requirements.lock``.
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
    root, output = Path(root), Path(output)
    manifest = {
        "assignment": assignment.name,
        "notebook": assignment.notebook,
        "questions": assignment.questions,
        "points": assignment.points,
        "visibility": visibility,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _add(archive, "requirements.lock", (root / "requirements.lock").read_bytes())
        _add(archive, MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        with zipfile.ZipFile(assignment.autograder) as otter:
            for member in sorted(otter.namelist()):
                if TEST_FILE.fullmatch(member):
                    _add(archive, member, otter.read(member))
        for name in ("pyproject.toml", "README.md"):
            _add(archive, f"{COURSE}/{name}", (root / name).read_bytes())
        for path in _package_files(root):
            _add(archive, f"{COURSE}/{path.relative_to(root).as_posix()}", path.read_bytes())
    partial.replace(output)
    return output


def build(
    names: list[str] | None = None,
    *,
    root: Path = REPO_ROOT,
    output_dir: Path | None = None,
    visibility: str = DEFAULT_VISIBILITY,
) -> dict[str, Path]:
    """Build the zip of every assignment (or of ``names``) into ``output_dir``.

    ``output_dir`` defaults to ``root/_build/gradescope`` (``_build/autograder`` holds
    otter's zips, which these are built from).
    """
    assignments = load_assignments(root)
    unknown = sorted(set(names or ()) - set(assignments))
    if unknown:
        raise ValueError(f"no assignment named {unknown} (known: {sorted(assignments)})")
    folder = Path(output_dir) if output_dir is not None else Path(root) / "_build" / "gradescope"
    return {
        name: build_zip(assignment, folder / f"{name}.zip", root=root, visibility=visibility)
        for name, assignment in assignments.items()
        if not names or name in names
    }


# ---------------------------------------------------------------------------------- running


def find_notebook(folder: Path, notebook: str) -> tuple[Path | None, str]:
    """The one notebook in a submission folder, or ``None`` and the reason for the student.

    Hidden files and folders (``.ipynb_checkpoints``) and macOS's ``__MACOSX`` are ignored.
    """
    folder = Path(folder)
    found = []
    for here, dirs, files in os.walk(folder):  # symbolic links to folders are not followed
        dirs[:] = [name for name in dirs if not name.startswith(".") and name != "__MACOSX"]
        found += [Path(here, name) for name in files if name.endswith(".ipynb")]
    found = sorted(path for path in found if not path.name.startswith("."))
    if not found:
        return None, f"no notebook (.ipynb file) in the submission: upload your {notebook}"
    if len(found) > 1:
        names = ", ".join(path.relative_to(folder).as_posix() for path in found)
        return None, (
            f"{len(found)} notebooks in the submission ({names}): "
            f"upload only your completed {notebook}"
        )
    return found[0], ""


def _isolation(sandbox: Sandbox) -> str:
    if sandbox.kind == "bwrap":
        return (
            f"Isolation: {sandbox.label}. The notebook ran in a bubblewrap sandbox inside "
            "Gradescope's container (no network, no tests), and the hidden tests in a second "
            "sandbox that never ran the notebook's code."
        )
    return (
        f"Isolation: {sandbox.label}. Only Gradescope's container isolated this submission: "
        f"no sandbox inside it ({sandbox.detail}). The hidden tests ran in a separate process "
        "that never ran the notebook's code."
    )


def results(
    rows: list[GradeRow],
    questions: dict[str, float],
    *,
    isolation: str,
    problem: str = "",
    seconds: float = 0.0,
    visibility: str = DEFAULT_VISIBILITY,
) -> dict:
    """Gradescope's ``results.json`` for the grade rows of one submission.

    A test per question of ``questions`` (its points); a question without a row (the
    submission could not be graded: ``problem``, or a single ``*`` row's reason) scores 0
    with that reason. ``problem`` also goes into the top-level output, which students see
    whatever the tests' ``visibility``.
    """
    by_question = {row.question: row for row in rows if row.max_score is not None}
    whole = [row.reason for row in rows if row.max_score is None]
    problem = "; ".join([problem, *whole] if problem else whole)
    tests = []
    for question, possible in questions.items():
        row = by_question.get(question)
        score = row.score if row is not None else 0.0
        tests.append(
            {
                "name": question,
                "score": score,
                "max_score": possible,
                "status": "passed" if score >= possible else "failed",
                "output": row.reason if row is not None else problem or "not graded",
                "visibility": visibility,
            }
        )
    output = isolation + (f"\n\nThis submission could not be graded: {problem}" if problem else "")
    return {
        "score": sum(test["score"] for test in tests),
        "execution_time": int(round(seconds)),
        "output": output,
        "tests": tests,
        "extra_data": {"sandbox": rows[0].sandbox if rows else "", "problem": problem},
    }


def _assignment(source: Path) -> tuple[Assignment, dict]:
    manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    assignment = Assignment(
        name=manifest["assignment"],
        notebook=manifest["notebook"],
        autograder=source,
        tests=tuple(load_tests(source)),
    )
    if assignment.questions != manifest["questions"]:
        raise RuntimeError(
            f"the tests in {source} give {assignment.questions}, "
            f"{MANIFEST} says {manifest['questions']}"
        )
    return assignment, manifest


def _write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def run(
    root: Path = GRADESCOPE_ROOT, *, sandbox: str = "auto", limits: Limits = DEFAULT_LIMITS
) -> dict:
    """Grade the submission in ``root/submission``; write and return ``results.json``.

    Never raises for a bad submission (no notebook, several, a broken one: a zero with
    the reason); an autograder failure still writes a zero with the error.
    """
    root = Path(root)
    start = time.monotonic()
    try:
        assignment, manifest = _assignment(root / "source")
        box = detect_sandbox(sandbox)
        notebook, problem = find_notebook(root / "submission", assignment.notebook)
        rows: list[GradeRow] = []
        if notebook is not None:
            rows = grade_file(
                notebook,
                {assignment.name: assignment},
                sandbox=box,
                limits=limits,
                default_assignment=assignment.name,
                student="submission",
            )
        result = results(
            rows,
            assignment.questions,
            isolation=_isolation(box),
            problem=problem,
            seconds=time.monotonic() - start,
            visibility=manifest.get("visibility", DEFAULT_VISIBILITY),
        )
    except Exception as error:  # Gradescope needs a results.json whatever happened
        traceback.print_exc()
        result = {
            "score": 0.0,
            "execution_time": int(round(time.monotonic() - start)),
            "output": f"The autograder failed ({type(error).__name__}: {error}); "
            "please tell your instructor.",
            "tests": [],
        }
    _write(root / "results" / "results.json", result)
    for test in result["tests"]:
        print(f"{test['name']}: {test['score']:g}/{test['max_score']:g}  {test['output'][:200]}")
    print(f"total {result['score']:g}; {result['output']}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build`` (``make autograder``) or ``run`` (inside Gradescope)."""
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grading.gradescope", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("build", help="write a Gradescope autograder zip per assignment")
    making.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    making.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    making.add_argument(
        "--output-dir", type=Path, default=None, help="default: <root>/_build/gradescope"
    )
    making.add_argument(
        "--visibility",
        choices=VISIBILITIES,
        default=DEFAULT_VISIBILITY,
        help="when students see each question's score and reasons (default %(default)s)",
    )
    grading = commands.add_parser("run", help="grade /autograder/submission (run_autograder)")
    grading.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get(ROOT_VARIABLE) or GRADESCOPE_ROOT),
        help=f"the /autograder folder (default ${ROOT_VARIABLE} or %(default)s)",
    )
    grading.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.root, sandbox=args.sandbox)
        return 0
    try:
        built = build(
            args.assignments or None,
            root=args.root,
            output_dir=args.output_dir,
            visibility=args.visibility,
        )
    except ValueError as error:
        parser.error(str(error))
    for name, path in built.items():
        print(f"wrote {path} ({name}): upload it as the autograder of the assignment on Gradescope")
    return 0


if __name__ == "__main__":
    sys.exit(main())
