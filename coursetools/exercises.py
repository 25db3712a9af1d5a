"""Generate the student and solution notebooks from the otter-assign masters.

``python -m coursetools.exercises`` (``make exercises``) reads every master notebook
``assignments/<name>.ipynb`` and, for each one:

1. runs ``otter assign`` on it in a temporary directory (the master holds the
   questions, the solutions, the public tests and the hidden tests);
2. writes the **student notebook** to ``exercises/<name>.ipynb``: no solutions, no
   outputs, only the public tests (embedded in the notebook metadata, so the file is
   self-contained and ``grader.check("q1")`` works wherever it is opened);
3. executes the **solution notebook** (nbclient, kernel ``python3``; otter's
   ``# SOLUTION`` markers removed) and writes it to ``solutions/<name>.ipynb`` *with*
   its outputs, so that nbval can compare the cells marked ``# NBVAL_CHECK_OUTPUT``;
   if any of the solution's own checks (its notebook carries the public and the hidden
   tests) fails, nothing is written and the command fails;
4. puts the **install cell** first in both notebooks (:mod:`coursetools.install_cell`):
   in a fresh Colab or Binder runtime it installs the companion (from ``repository.url``
   at ``repository.branch`` in ``_config.yml``) and otter-grader, at the versions of
   ``requirements.lock``; where they import it does nothing, and the grader never runs
   it. ``make launch-notebooks`` rewrites just this cell after the setting changes
   (:func:`write_install_cells`). In Colab, whose notebooks are not files, otter's init
   cell writes the public checks from the notebook's metadata to ``tests/``;
5. writes the **autograder** (the zip ``otter run`` grades with, holding every test) to
   ``_build/autograder/<name>-autograder.zip``.

Where the grading material lives
--------------------------------
The autograder zip is *not* committed: it is a build product of the master (which is
committed) and the installed otter version, and zips carry timestamps. It is rebuilt
on demand: :func:`ensure_autograder` (used by ``coursetools.grading``) rebuilds it when
it is missing or when the master or otter's version changed since it was built (a
``.stamp`` file next to the zip records a hash of both).

Determinism
-----------
Running the command twice gives byte-identical notebooks, so ``--check`` can tell
whether the committed notebooks are in sync with their masters:

- cell ids are derived from the cell contents (otter would otherwise draw random ones);
- otter's init cell finds the notebook's file by its assignment name (otter's own
  names the file, so a renamed notebook lost its public checks);
- notebook metadata is reduced to a fixed kernelspec and language name (no Python or
  kernel versions), cell metadata loses nbclient's execution timestamps;
- outputs are dropped where they cannot be reproduced: cells tagged
  ``volatile-output`` in the master (MCMC fits: their draws depend on the machine's
  floating point), otter's check cells (otter prints a random emoji), and standard
  error streams (warnings) except in cells marked ``# NBVAL_CHECK_OUTPUT``;
- cells marked ``# NBVAL_CHECK_OUTPUT`` must print rounded numbers only, because nbval
  compares their outputs on every machine. The student notebook has the marker removed
  (it stores no outputs to compare).

The solution is executed **without** ``COMPANION_FAST``: the graded fit must reach
R-hat < 1.01, which 300 draws per chain (the fast mode) miss for about half of the
seeds (measured: 7 of 12 seeds with 2 chains, 1 of 16 with 4), while the course's
default 1000 draws per chain cost about 2 s more. ``COMPANION_FAST`` is removed from
the kernel's environment for the same reason.

``python -m coursetools.exercises --check`` regenerates everything in a temporary
directory, writes nothing, and exits with status 1, printing a summary of the
differences, when the committed notebooks are out of date. ``--check --no-execute``
(what the test suite runs) skips executing the solutions and compares everything but
their outputs; the outputs are nbval's job: every solution cell that keeps an output is
tagged ``nbval-check-output``, so ``make notebooks`` compares each of them with a fresh
run, and the grading tests show that every solution scores full marks. Name
assignments to handle only those: ``python -m coursetools.exercises 01-pooling``.

Writing a master: see ``assignments/01-pooling.ipynb`` (otter-assign format v1 with
exception-based tests stored in the notebook metadata). Public tests are worth 0
points and give feedback; hidden tests carry the points. Expected values in tests come
from an independent route (a closed form, ``companion.exact``), never from one run.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import difflib
import fcntl
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools.install_cell import install_cell, is_install_cell
from coursetools.install_cell import install_cell_source as _install_cell_source

__all__ = [
    "NBVAL_CHECK_TAG",
    "VOLATILE_TAG",
    "GeneratedNotebooks",
    "build_autograder",
    "ensure_autograder",
    "find_masters",
    "generate",
    "install_cell_source",
    "main",
    "normalise_notebook",
    "strip_solution_markers",
    "without_outputs",
    "write_install_cells",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
VOLATILE_TAG = "volatile-output"
"""Cell tag (set in the master) whose outputs are never stored in the solution notebook."""

NBVAL_MARKER = "NBVAL_CHECK_OUTPUT"
NBVAL_CHECK_TAG = "nbval-check-output"
"""Cell tag set on every solution cell that keeps an output: nbval compares them all."""
EXECUTION_TIMEOUT = 900
"""Seconds any one cell of a solution notebook may run."""

_MARKER_LINE = re.compile(rf"^\s*#\s*{NBVAL_MARKER}\s*$")
_CHECK_CELL = re.compile(r"^\s*grader\.check(_all)?\(")
_SOLUTION_SUFFIX = re.compile(r"\s*# SOLUTION( NO PROMPT)?\s*$")
_SOLUTION_DELIMITER = re.compile(r"^\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$")
EXERCISE_REQUIREMENTS = {"otter": "otter-grader"}
"""Modules the graded notebooks import besides the companion and its dependencies."""
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


@dataclass(frozen=True)
class GeneratedNotebooks:
    """The notebooks generated from one master, as the text that would be committed."""

    name: str
    student: str
    solution: str
    autograder: Path


def find_masters(assignments_dir: Path) -> list[Path]:
    """All master notebooks ``<name>.ipynb`` in ``assignments_dir``, sorted by name."""
    return sorted(p for p in Path(assignments_dir).glob("*.ipynb") if not p.name.startswith("."))


def _otter_version() -> str:
    # the installed distribution's version: importing otter for it takes seconds
    from importlib.metadata import version

    return version("otter-grader")


def _run_otter_assign(master: Path, result_dir: Path) -> None:
    """``otter assign`` (without running the tests or making PDFs) into ``result_dir``.

    In this process, not as ``python -m otter assign``: importing otter is nearly all of
    what a run costs (about 6 s), so the masters share one import.
    """
    from otter.assign import main as otter_assign

    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            otter_assign(str(master), str(result_dir), no_pdfs=True, no_run_tests=True)
    except (Exception, SystemExit) as error:
        raise RuntimeError(
            f"otter assign failed on {master}: {type(error).__name__}: {error}\n"
            f"{output.getvalue()}".rstrip()
        ) from error


def _copy_autograder_zip(result_dir: Path, name: str, destination: Path) -> Path:
    zips = sorted((result_dir / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign made {len(zips)} autograder zips for {name}, expected 1")
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / f"{name}-autograder.zip"
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.copyfile(zips[0], partial)
    os.replace(partial, target)  # a grader reading the zip never sees half of it
    return target


def _stamp(master: Path) -> str:
    digest = hashlib.sha256(Path(master).read_bytes())
    digest.update(_otter_version().encode())
    return digest.hexdigest()


def build_autograder(master: Path, destination: Path) -> Path:
    """Build ``<destination>/<name>-autograder.zip`` from a master notebook.

    Parameters
    ----------
    master : pathlib.Path
        The otter-assign master ``<name>.ipynb``.
    destination : pathlib.Path
        Directory for the zip and its ``.stamp`` file (created if needed).

    Returns
    -------
    pathlib.Path
        The path of the autograder zip.
    """
    master = Path(master).resolve()
    with tempfile.TemporaryDirectory(prefix="otter-assign-") as tmp:
        result_dir = Path(tmp) / "out"
        _run_otter_assign(master, result_dir)
        target = _copy_autograder_zip(result_dir, master.stem, Path(destination))
    target.with_suffix(".stamp").write_text(_stamp(master) + "\n")
    return target


def ensure_autograder(master: Path, destination: Path) -> Path:
    """The autograder zip of ``master`` in ``destination``, rebuilt only when stale.

    It is stale when missing, or when the master or the otter version changed since it
    was built (recorded in ``<name>-autograder.stamp``).
    """
    master = Path(master)
    target = Path(destination) / f"{master.stem}-autograder.zip"
    stamp = target.with_suffix(".stamp")
    target.parent.mkdir(parents=True, exist_ok=True)
    # One process builds while the others (parallel test workers, graders) wait for it.
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file() and stamp.is_file() and stamp.read_text().strip() == _stamp(master):
            return target
        return build_autograder(master, destination)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _strip_marker_lines(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if not _MARKER_LINE.match(line))


def _is_checked_by_nbval(cell) -> bool:
    return any(_MARKER_LINE.match(line) for line in _source(cell).split("\n"))


def _keep_output(cell, output) -> bool:
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        return _is_checked_by_nbval(cell)
    return True


_OTTER_INIT = re.compile(r"""grader = otter\.Notebook\(["']([^"']+)\.ipynb["']\)""")
_INIT_CELL = """\
# Initialize Otter. The public checks are stored in this notebook's file, which is
# found by its assignment name, so you may rename the notebook.
import json
import os
import sys
from pathlib import Path

import otter


def find_this_notebook(assignment):
    \"\"\"The newest .ipynb here (or the one Jupyter names) of this assignment.\"\"\"
    session = os.environ.get("JPY_SESSION_NAME", "")
    paths = [Path(session)] if session.endswith(".ipynb") else []
    paths += sorted(Path().glob("*.ipynb"), key=os.path.getmtime, reverse=True)
    for path in paths:
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
            if metadata["otter"]["assignment_name"] == assignment:
                return str(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    raise FileNotFoundError(
        f"no notebook of {assignment!r} in {Path.cwd()}: start Jupyter in the folder "
        "that holds this notebook"
    )


def checks_from_colab(assignment):
    \"\"\"Colab keeps the notebook off disk: write its public checks to tests/.\"\"\"
    from google.colab import _message

    notebook = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]
    metadata = notebook["metadata"]["otter"]
    if metadata["assignment_name"] != assignment:
        raise ValueError(f"this notebook is not {assignment!r}")
    Path("tests").mkdir(exist_ok=True)
    for question, source in metadata["tests"].items():
        Path("tests", f"{question}.py").write_text(source, encoding="utf-8")
    return "tests"


if "google.colab" in sys.modules:
    grader = otter.Notebook(tests_dir=checks_from_colab(ASSIGNMENT))
else:
    grader = otter.Notebook(find_this_notebook(ASSIGNMENT))"""


def _init_cell(assignment: str) -> str:
    """otter's init cell, made to find the notebook's file whatever it is called."""
    return _INIT_CELL.replace("ASSIGNMENT", repr(assignment))


def normalise_notebook(nb: nbformat.NotebookNode, *, keep_outputs: bool) -> nbformat.NotebookNode:
    """Make a generated notebook deterministic (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook written by otter assign (executed or not).
    keep_outputs : bool
        Keep the reproducible outputs (solution notebooks) or drop all outputs
        (student notebooks, which also lose their ``# NBVAL_CHECK_OUTPUT`` markers).

    Returns
    -------
    nbformat.NotebookNode
        A normalised copy.
    """
    nb = copy.deepcopy(nb)
    otter_metadata = nb.metadata.get("otter")
    nb.metadata = nbformat.NotebookNode(
        {"kernelspec": dict(_KERNELSPEC), "language_info": dict(_LANGUAGE_INFO)}
    )
    if otter_metadata is not None:
        nb.metadata["otter"] = otter_metadata
    seen: dict[str, int] = {}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        source = _source(cell)
        if cell.cell_type == "code":
            if _OTTER_INIT.search(source):
                source = cell.source = _init_cell(_OTTER_INIT.search(source).group(1))
            tags = cell.metadata.get("tags", [])
            volatile = VOLATILE_TAG in tags or _CHECK_CELL.match(source)
            if not keep_outputs or volatile:
                cell.outputs = []
                cell.execution_count = None
            else:
                cell.outputs = [out for out in cell.outputs if _keep_output(cell, out)]
                if cell.outputs and not _is_checked_by_nbval(cell):
                    cell.metadata["tags"] = [*tags, NBVAL_CHECK_TAG]
            if not keep_outputs:
                source = _strip_marker_lines(source)
                cell.source = source
        digest = _cell_id(cell.cell_type, source)
        count = seen.get(digest, 0)
        seen[digest] = count + 1
        cell["id"] = digest if count == 0 else f"{digest}-{count}"
    nbformat.validate(nb)
    return nb


def strip_solution_markers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove otter's ``# SOLUTION`` suffixes and ``# BEGIN/END SOLUTION`` lines from code.

    otter assign leaves them in the solution notebook; they mean nothing to a reader.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [
            _SOLUTION_SUFFIX.sub("", line)
            for line in _source(cell).split("\n")
            if not _SOLUTION_DELIMITER.match(line)
        ]
        cell.source = "\n".join(lines)
    return nb


def _kernel_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COMPANION_FAST", None)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _execute(nb: nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    client = NotebookClient(
        nb,
        timeout=EXECUTION_TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=_kernel_environment())
    return nb


def _failed_checks(nb: nbformat.NotebookNode) -> list[str]:
    """Check cells of an executed solution notebook whose output is not a pass."""
    failures = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not _CHECK_CELL.match(_source(cell)):
            continue
        text = "".join(
            output.get("data", {}).get("text/plain", "") or output.get("text", "")
            for output in cell.get("outputs", [])
        )
        if "passed" not in text or "failed" in text:
            failures.append(f"{_source(cell).strip()}: {text.strip()[:2000]}")
    return failures


def _dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def without_outputs(text: str) -> str:
    """A solution notebook's text as generated without execution: no outputs, no
    execution counts, no :data:`NBVAL_CHECK_TAG` (which follows the outputs)."""
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        tags = [tag for tag in cell.metadata.get("tags", []) if tag != NBVAL_CHECK_TAG]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return _dumps(nb)


def _cell_id(cell_type: str, source: str) -> str:
    return hashlib.sha1(f"{cell_type}\n{source}".encode()).hexdigest()[:12]


def install_cell_source(root: Path = REPO_ROOT) -> str:
    """The first cell of every exercise and solution notebook: installs the companion (from
    ``repository.url`` at ``repository.branch`` in ``<root>/_config.yml``) and otter-grader
    where they are missing, at the versions of ``<root>/requirements.lock``
    (:mod:`coursetools.install_cell`)."""
    from coursetools import book

    root = Path(root) if (Path(root) / "_config.yml").is_file() else REPO_ROOT
    url, branch = book.repository_setting(root)
    return _install_cell_source(
        url,
        branch=branch,
        modules=EXERCISE_REQUIREMENTS,
        versions=book.locked_versions(root),
    )


def write_install_cells(root: Path = REPO_ROOT, *, check: bool = False) -> list[Path]:
    """Rewrite the install cell of every notebook in ``exercises/`` and ``solutions/`` for
    the current repository setting and lock, without regenerating the rest.

    ``make launch-notebooks`` runs this, so a fork that sets ``repository.url`` need not
    re-execute the solutions (``make exercises`` writes the same cells).

    Returns
    -------
    list of Path
        The notebooks rewritten (or, with ``check``, those whose install cell is stale).
    """
    source = install_cell_source(root)
    changed = []
    for folder in ("exercises", "solutions"):
        for path in sorted((Path(root) / folder).glob("*.ipynb")):
            text = path.read_text(encoding="utf-8")
            nb = nbformat.reads(text, as_version=4)
            if not nb.cells or not is_install_cell(nb.cells[0]):
                continue
            nb.cells[0].source = source
            nb.cells[0]["id"] = _cell_id("code", source)
            if _dumps(nb) != text:
                changed.append(path)
                if not check:
                    path.write_text(_dumps(nb), encoding="utf-8")
    return changed


def generate(master: Path, *, autograder_dir: Path, execute: bool = True) -> GeneratedNotebooks:
    """Run otter assign on ``master``, execute the solution and return both notebooks.

    Parameters
    ----------
    master : pathlib.Path
        The otter-assign master ``assignments/<name>.ipynb``.
    autograder_dir : pathlib.Path
        Where to put ``<name>-autograder.zip`` (and its stamp).
    execute : bool
        Execute the solution (default). Without it the solution has no outputs: compare
        it with :func:`without_outputs` of the committed one.

    Returns
    -------
    GeneratedNotebooks
        The student and solution notebooks as text, and the autograder's path.

    Raises
    ------
    RuntimeError
        If otter assign fails or the executed solution fails one of its own checks.
    """
    master = Path(master).resolve()
    name = master.stem
    install = install_cell_source(master.parents[1])
    with tempfile.TemporaryDirectory(prefix=f"exercises-{name}-") as tmp:
        result_dir = Path(tmp) / "out"
        _run_otter_assign(master, result_dir)
        student = nbformat.read(result_dir / "student" / master.name, as_version=4)
        student.cells.insert(0, install_cell(install))
        solution_dir = result_dir / "autograder"
        solution = strip_solution_markers(nbformat.read(solution_dir / master.name, as_version=4))
        solution.cells.insert(0, install_cell(install))
        executed = _execute(solution, solution_dir) if execute else solution
        failures = _failed_checks(executed) if execute else []
        if failures:
            raise RuntimeError(
                f"the solution of {name} fails its own tests:\n" + "\n".join(failures)
            )
        autograder = _copy_autograder_zip(result_dir, name, Path(autograder_dir))
    autograder.with_suffix(".stamp").write_text(_stamp(master) + "\n")
    return GeneratedNotebooks(
        name=name,
        student=_dumps(normalise_notebook(student, keep_outputs=False)),
        solution=_dumps(normalise_notebook(executed, keep_outputs=True)),
        autograder=autograder,
    )


def _diff_summary(path: Path, committed: str | None, regenerated: str, limit: int = 12) -> str:
    if committed is None:
        return f"{path}: missing (run `make exercises`)"
    diff = list(
        difflib.unified_diff(
            committed.splitlines(), regenerated.splitlines(), "committed", "regenerated", n=0
        )
    )
    changed = sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    shown = "\n".join(f"    {line[:160]}" for line in diff[2 : 2 + limit])
    more = "\n    ..." if len(diff) > 2 + limit else ""
    return f"{path}: out of date ({changed} changed lines)\n{shown}{more}"


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate (default) or ``--check`` the exercise and solution notebooks."""
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.exercises",
        description="Generate exercises/ and solutions/ from the otter-assign masters.",
    )
    parser.add_argument("--check", action="store_true", help="only report whether in sync")
    parser.add_argument(
        "--no-execute",
        action="store_true",
        help="with --check: compare without executing the solutions (their outputs are "
        "left to nbval, which compares every output a solution keeps)",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    parser.add_argument("names", nargs="*", help="only these assignments (default: all)")
    args = parser.parse_args(argv)
    if args.no_execute and not args.check:
        parser.error("--no-execute needs --check (generated solutions keep their outputs)")
    root = args.root.resolve()
    masters = find_masters(root / "assignments")
    if args.names:
        masters = [m for m in masters if m.stem in set(args.names)]
        unknown = set(args.names) - {m.stem for m in masters}
        if unknown:
            parser.error(f"no master for {', '.join(sorted(unknown))} in {root / 'assignments'}")
    if not masters:
        print(f"no masters found in {root / 'assignments'}", file=sys.stderr)
        return 1
    # --check only reads: its autograders go to a temporary folder, so graders using
    # _build/autograder (and their --resume caches, keyed on the zip) are left alone.
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as scratch:
        autograder_dir = Path(scratch) if args.check else root / "_build" / "autograder"
        return _generate_all(
            masters, root, autograder_dir, check=args.check, execute=not args.no_execute
        )


def _generate_all(
    masters: list[Path], root: Path, autograder_dir: Path, *, check: bool, execute: bool = True
) -> int:
    problems = []
    doing = "executing the solution" if execute else "solution not executed"
    for master in masters:
        print(f"{master.relative_to(root)}: otter assign, {doing} ...", flush=True)
        try:
            generated = generate(master, autograder_dir=autograder_dir, execute=execute)
        except RuntimeError as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
        for folder, text in (("exercises", generated.student), ("solutions", generated.solution)):
            path = root / folder / f"{generated.name}.ipynb"
            committed = path.read_text(encoding="utf-8") if path.is_file() else None
            if committed is not None and folder == "solutions" and not execute:
                committed = without_outputs(committed)
            if check:
                if committed != text:
                    problems.append(_diff_summary(path.relative_to(root), committed, text))
            elif committed != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"  wrote {path.relative_to(root)}")
            else:
                print(f"  {path.relative_to(root)} unchanged")
        if not check:
            print(f"  autograder: {generated.autograder.relative_to(root)}")
    if check:
        if problems:
            print("Notebooks out of sync with their masters:\n" + "\n".join(problems))
            print("Run `make exercises` and commit the result.")
            return 1
        print("exercises/ and solutions/ are in sync with assignments/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
