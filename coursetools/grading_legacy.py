"""Grade a folder of submitted notebooks into a CSV, offline, each one in a sandbox.

``python -m coursetools.grading <dir> --output grades.csv`` (``make grade
SUBMISSIONS=<dir>``) grades every file in ``<dir>`` with otter-grader (``otter run``,
the non-containerised grader) and writes one CSV row per student and question.

Submissions
-----------
A submission is a notebook named ``<student>.ipynb``, where ``<student>`` (letters,
digits, ``.``, ``_`` and ``-``; no spaces) becomes the ``student`` column. The
assignment is read from the notebook itself: ``otter assign`` writes its name into the
metadata of every student notebook (``metadata.otter.assignment_name``), so students
may rename the file. ``--assignment NAME`` grades notebooks whose metadata lost that
name (e.g. answers pasted into a new notebook) as assignment ``NAME``. The known
assignments are the masters in ``assignments/``; their autograders are (re)built on
demand into ``_build/autograder/`` (see :mod:`coursetools.exercises`).

The table
---------
Columns: ``student, file, assignment, question, score, max_score, reason, sandbox,
seconds``. Grading never stops at a bad submission, and every file appears:

- a notebook for a known assignment gets one row **per question**, even when it could
  not be graded (it raised so that the kernel died, it ran out of time or memory):
  then every question scores 0 and ``reason`` says why;
- a file that cannot be matched to an assignment (not a notebook, empty, invalid JSON,
  a wrongly named file, a notebook for an unknown assignment) gets a single row with
  question ``*``, score 0, an empty ``max_score`` and the reason.

``reason`` is ``all tests passed`` for full marks, otherwise the failed tests' messages.
Files and folders whose names start with ``.`` (``.ipynb_checkpoints``, ``.DS_Store``)
are skipped and listed on stderr.

Isolation
---------
Each submission is copied into its own temporary directory, which is the only
writable place its code sees, under the file name the assignment's notebook has
(``01-pooling.ipynb``: otter's init cell opens the notebook by that name) and with
its kernel set to ``python3``. ``otter run`` -- called as ``otter.run.main``, the
function behind the command, so that the cells' exceptions, which otter's results
leave out, can be reported too -- is executed inside a bubblewrap (``bwrap``)
sandbox (otter's Docker grading is not used: the course grades without Docker):

- the file system is a fresh, empty root with read-only binds of ``/usr``, ``/etc``
  (and the ``/bin``, ``/lib*`` links), the Python installation, the virtual environment
  and the companion package's source folder (it is an editable install). Everything
  else -- the rest of the repository, the submissions folder, other submissions'
  directories, the host's ``/tmp`` and home -- does not exist inside;
- the submission's directory is bound read-write at ``/sandbox``; ``HOME`` and the
  caches (``MPLCONFIGDIR``, pytensor's ``base_compiledir``, ``NUMBA_CACHE_DIR``,
  ``XDG_CACHE_HOME``) point into it; ``/tmp`` and ``/dev/shm`` are small private
  tmpfs;
- new network (loopback only: the Jupyter kernel talks to otter over it), PID, IPC and
  UTS namespaces, ``--die-with-parent``, ``--new-session``, a cleared environment.
  When the grader runs as root (as in CI), the code inside runs as ``nobody``
  (``setpriv``, no capabilities, no new privileges); otherwise as the calling user in
  a user namespace.

Without a working ``bwrap`` the submissions are still graded, each in its own
directory and with the same limits, but not isolated: a loud warning is printed and
the ``sandbox`` column says ``NONE``. Note what no sandbox fixes: otter runs the tests
inside the student's own kernel, so a determined student can tamper with their own
results (scores are clamped to ``[0, max_score]`` and read from JSON only).

Limits
------
- **Time**: ``--timeout`` seconds (default 600) of wall-clock time for the whole
  grading of one submission; then the sandbox is killed (all its processes die with
  its PID namespace) and every question scores 0 with the reason.
- **Memory**: ``--memory-gb`` (default 4) as ``RLIMIT_DATA``, set with ``prlimit``
  on the sandbox and inherited by every process in it: it caps each process's
  writable private memory (heap and anonymous mappings, i.e. NumPy arrays), so a
  runaway allocation raises ``MemoryError`` inside the notebook. Why not the other
  options: a cgroup (a true RSS limit) needs a writable cgroup tree, which containers
  such as CI jobs (and the machine this was built on) do not offer; ``RLIMIT_AS``
  counts reserved address space, which grows with the number of threads (malloc
  arenas, thread stacks) rather than with use. Measured on the solution (an MCMC fit
  with nutpie and numba, 2 cores): peak RSS 0.5 GiB, ``VmData`` 1.7 GiB, ``VmPeak``
  2.1 GiB with ``MALLOC_ARENA_MAX=2`` (3.0 GiB without), and the fit also completes
  under ``RLIMIT_AS`` = 2 GiB or ``RLIMIT_DATA`` = 1 GiB, so 4 GiB leaves a wide
  margin. Also: files up to 1 GiB each (``RLIMIT_FSIZE``), no core dumps,
  and at most 1024 processes when running as ``nobody``.

``COMPANION_FAST`` is not passed into the sandbox: submissions are graded with the
course's default number of draws, which the convergence tests (R-hat < 1.01) need.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from coursetools.exercises import REPO_ROOT, ensure_autograder, find_masters

__all__ = [
    "Assignment",
    "GradeRow",
    "Sandbox",
    "detect_sandbox",
    "grade_directory",
    "grade_file",
    "load_assignments",
    "main",
    "write_csv",
]

DEFAULT_TIMEOUT = 600.0
DEFAULT_MEMORY_GB = 4.0
MAX_SUBMISSION_BYTES = 50 * 2**20
MAX_FILE_BYTES = 2**30
MAX_RESULTS_BYTES = 10 * 2**20
SANDBOX_UID = 65534
SANDBOX_DIR = "/sandbox"
STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAMING_RULE = "submissions are named <student>.ipynb (letters, digits, '.', '_', '-')"
ALL_PASSED = "all tests passed"
ERRORS_FILE = "cell-errors.json"
OTTER_RUN = """\
import json, sys
from otter.run import main  # what the `otter run` command calls

submission, autograder, output_dir = sys.argv[1:4]
results = main(submission, autograder=autograder, output_dir=output_dir, no_logo=True)
errors = []
for cell in getattr(getattr(results, "notebook", None), "cells", []):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            errors.append(f"{output.get('ename')}: {str(output.get('evalue'))[:200]}")
with open(f"{output_dir}/ERRORS_FILE", "w") as handle:
    json.dump(errors[:20], handle)
""".replace("ERRORS_FILE", ERRORS_FILE)
"""Runs ``otter run`` (through the function the command line calls) and also records the
exceptions raised by the submission's cells, which otter's results do not report."""
SANDBOXED_PACKAGES = ("companion",)
"""Packages whose source lives outside the environment (editable installs) and must be visible."""


@dataclass(frozen=True)
class Assignment:
    """A gradable assignment: its name, notebook file name, autograder and questions."""

    name: str
    notebook: str
    autograder: Path
    questions: dict[str, float]

    @property
    def points(self) -> float:
        """Total points of the assignment."""
        return float(sum(self.questions.values()))


@dataclass
class GradeRow:
    """One row of the grade table (see the module docstring)."""

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


@dataclass(frozen=True)
class Sandbox:
    """How submissions are isolated: ``kind`` is ``"bwrap"`` or ``"none"``."""

    kind: str
    detail: str = ""
    as_nobody: bool = False
    readonly_paths: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """The value of the CSV's ``sandbox`` column."""
        if self.kind == "bwrap":
            return "bwrap (nobody)" if self.as_nobody else "bwrap"
        return "NONE (not isolated)"


# ---------------------------------------------------------------------------- assignments


def _questions_from_autograder(autograder: Path) -> dict[str, float]:
    """Question names and their points, read from the tests in the autograder zip."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    with tempfile.TemporaryDirectory(prefix="autograder-tests-") as tmp:
        with zipfile.ZipFile(autograder) as archive:
            members = [m for m in archive.namelist() if re.fullmatch(r"tests/[\w-]+\.py", m)]
            archive.extractall(tmp, members=members)
        questions = {}
        for member in sorted(members):
            test_file = create_test_file(str(Path(tmp, member)), NBMetadataConfig())
            questions[test_file.name] = float(test_file.possible)
    return dict(sorted(questions.items(), key=lambda item: _natural_key(item[0])))


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def load_assignments(root: Path = REPO_ROOT) -> dict[str, Assignment]:
    """Every assignment with a master in ``<root>/assignments``, keyed by its name.

    The autograder zips are rebuilt into ``<root>/_build/autograder`` when stale.
    """
    assignments = {}
    for master in find_masters(Path(root) / "assignments"):
        autograder = ensure_autograder(master, Path(root) / "_build" / "autograder")
        with zipfile.ZipFile(autograder) as archive:
            config = json.loads(archive.read("otter_config.json"))
        name = config.get("assignment_name") or master.stem
        assignments[name] = Assignment(
            name=name,
            notebook=master.name,
            autograder=autograder,
            questions=_questions_from_autograder(autograder),
        )
    return assignments


# ---------------------------------------------------------------------------- the sandbox


def _package_dirs(packages: Iterable[str]) -> list[Path]:
    import importlib.util

    found = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None:
            continue
        for location in spec.submodule_search_locations or [Path(spec.origin).parent]:
            found.append(Path(location).resolve())
    return found


def _readonly_paths() -> tuple[Path, ...]:
    """The Python installation, the environment and the editable packages, deduplicated."""
    candidates = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix),
        Path(sys.prefix).resolve(),
        *_package_dirs(SANDBOXED_PACKAGES),
    ]
    chosen: list[Path] = []
    for path in sorted(set(candidates), key=lambda p: len(p.parts)):
        under_system = path.parts[1:2] in (("usr",), ("etc",))
        if under_system or any(path.is_relative_to(done) for done in chosen):
            continue
        chosen.append(path)
    return tuple(chosen)


def _bwrap_prefix(sandbox: Sandbox, box: Path, env: dict[str, str]) -> list[str]:
    args = ["bwrap", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    # Private /dev, /proc and /tmp first, so that read-only binds below them (a repository
    # cloned under /tmp, say) are mounted on top instead of being hidden.
    args += ["--dev", "/dev", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm"]
    args += ["--proc", "/proc", "--size", str(2**30), "--tmpfs", "/tmp"]
    made: set[Path] = {Path("/")}
    for path in sandbox.readonly_paths:
        for parent in reversed(path.parents):
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(path), str(path)]
        made.add(path)
    args += ["--bind", str(box), SANDBOX_DIR, "--chdir", SANDBOX_DIR]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if not sandbox.as_nobody:
        args += ["--unshare-user"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--"]
    if sandbox.as_nobody:
        args += [
            "setpriv",
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_UID}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ]
    return args


def _sandbox_environment(home: str, tmp: str) -> dict[str, str]:
    cache_dir = f"{home}/.cache"
    return {
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{cache_dir}/matplotlib",
        "PYTENSOR_FLAGS": f"base_compiledir={cache_dir}/pytensor",
        "NUMBA_CACHE_DIR": f"{cache_dir}/numba",
        "XDG_CACHE_HOME": cache_dir,
        "XDG_CONFIG_HOME": f"{home}/.config",
        "XDG_DATA_HOME": f"{home}/.local/share",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def detect_sandbox(requested: str = "auto") -> Sandbox:
    """Find out whether bubblewrap works here; fall back to no sandbox for ``"auto"``.

    Parameters
    ----------
    requested : {"auto", "bwrap", "none"}
        ``"bwrap"`` raises ``RuntimeError`` when bwrap does not work.
    """
    if requested == "none":
        return Sandbox("none", "switched off with --sandbox none")
    as_nobody = os.geteuid() == 0 and shutil.which("setpriv") is not None
    candidate = Sandbox("bwrap", as_nobody=as_nobody, readonly_paths=_readonly_paths())
    problem = ""
    if shutil.which("bwrap") is None:
        problem = "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    else:
        with tempfile.TemporaryDirectory(prefix="grade-probe-") as tmp:
            box = Path(tmp)
            if as_nobody:
                os.chown(box, SANDBOX_UID, SANDBOX_UID)
            env = _sandbox_environment(SANDBOX_DIR, "/tmp")
            command = _bwrap_prefix(candidate, box, env) + [
                sys.executable,
                "-c",
                f"open('{SANDBOX_DIR}/probe', 'w').write('ok')",
            ]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=60)
                if done.returncode != 0 or (box / "probe").read_text() != "ok":
                    problem = f"bwrap does not work here: {done.stderr.strip()[-500:]}"
            except (OSError, subprocess.SubprocessError) as error:
                problem = f"bwrap does not work here: {error}"
    if not problem:
        return candidate
    if requested == "bwrap":
        raise RuntimeError(problem)
    return Sandbox("none", problem)


def _warn_unsandboxed(sandbox: Sandbox) -> None:
    bar = "!" * 78
    print(
        f"{bar}\n!! WARNING: GRADING WITHOUT A SANDBOX: {sandbox.detail}\n"
        "!! Submitted code runs with your permissions and can read or change any of\n"
        "!! your files, other submissions and their results. Install bubblewrap.\n"
        f"{bar}",
        file=sys.stderr,
        flush=True,
    )


# ---------------------------------------------------------------------------- one submission


@dataclass
class _RunOutcome:
    results: dict | None
    problem: str
    seconds: float
    cell_errors: list[str] = field(default_factory=list)


def _limits(memory_bytes: int, as_nobody: bool) -> dict[str, int]:
    limits = {"data": memory_bytes, "fsize": MAX_FILE_BYTES, "core": 0}
    if as_nobody:
        limits["nproc"] = 1024
    return limits


def _limits_prefix(memory_bytes: int, as_nobody: bool) -> list[str]:
    """``prlimit --data=... --`` (util-linux), or [] when prlimit is missing."""
    if shutil.which("prlimit") is None:
        return []
    limits = _limits(memory_bytes, as_nobody)
    return ["prlimit", *(f"--{name}={value}" for name, value in limits.items()), "--"]


def _set_limits_in_child(memory_bytes: int, as_nobody: bool):
    """A ``preexec_fn`` setting the same limits, for machines without prlimit."""
    import resource

    names = {
        "data": resource.RLIMIT_DATA,
        "fsize": resource.RLIMIT_FSIZE,
        "core": resource.RLIMIT_CORE,
        "nproc": resource.RLIMIT_NPROC,
    }
    limits = {names[name]: value for name, value in _limits(memory_bytes, as_nobody).items()}

    def apply() -> None:
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))

    return apply


def _chown_tree(path: Path, uid: int) -> None:
    os.chown(path, uid, uid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(root, name), uid, uid, follow_symlinks=False)


def _remove_tree(path: Path) -> None:
    def retry(function, target, _error):
        try:
            os.chmod(Path(target).parent, 0o700)
            os.chmod(target, 0o700)
            function(target)
        except OSError:
            pass

    shutil.rmtree(path, onexc=retry)


def _kill_tree(process: subprocess.Popen) -> None:
    try:
        import psutil

        children = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # psutil missing or the process already gone
        children = []
    for target in [process.pid, *(child.pid for child in children)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 20000))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _last_error(text: str) -> str:
    """The most telling line of a failed run's output (the last exception, if any)."""
    errors = re.findall(r"^\s*(\w*(?:Error|Exception|Exit)\b.*)$", text, flags=re.MULTILINE)
    if errors:
        return errors[-1].strip()[:300]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _run_otter(
    notebook_path: Path,
    assignment: Assignment,
    *,
    sandbox: Sandbox,
    timeout: float,
    memory_bytes: int,
    workdir: Path,
) -> _RunOutcome:
    """Run ``otter run`` on one prepared notebook in ``workdir`` and read its results."""
    box = workdir / "box"
    logs = workdir / "logs"
    (box / "home").mkdir(parents=True)
    (box / "results").mkdir()
    (box / "tmp").mkdir()
    logs.mkdir()
    shutil.copyfile(notebook_path, box / assignment.notebook)
    shutil.copyfile(assignment.autograder, box / "autograder.zip")
    otter = [sys.executable, "-c", OTTER_RUN, assignment.notebook, "autograder.zip", "results"]
    if sandbox.kind == "bwrap":
        if sandbox.as_nobody:
            _chown_tree(box, SANDBOX_UID)
        env = _sandbox_environment(f"{SANDBOX_DIR}/home", "/tmp")
        command = _bwrap_prefix(sandbox, box, env) + otter
        cwd = None
    else:
        env = _sandbox_environment(str(box / "home"), str(box / "tmp"))
        command = otter
        cwd = box
    prefix = _limits_prefix(memory_bytes, sandbox.as_nobody)
    command = prefix + command
    preexec = None if prefix else _set_limits_in_child(memory_bytes, sandbox.as_nobody)
    start = time.monotonic()
    with open(logs / "stdout.txt", "wb") as out, open(logs / "stderr.txt", "wb") as err:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env if sandbox.kind != "bwrap" else {"PATH": os.environ.get("PATH", "")},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=preexec,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            process.wait()
            seconds = time.monotonic() - start
            return _RunOutcome(
                None, f"time limit exceeded ({timeout:g} s): grading was stopped", seconds
            )
    seconds = time.monotonic() - start
    results_path = box / "results" / "results.json"
    results = None
    problem = ""
    if results_path.is_file() and not results_path.is_symlink():
        try:
            if results_path.stat().st_size > MAX_RESULTS_BYTES:
                raise ValueError("results.json is too large")
            results = json.loads(results_path.read_text(encoding="utf-8"))
            if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
                raise ValueError("results.json has no list of tests")
        except (OSError, ValueError) as error:
            results, problem = None, f"unreadable grading results ({error})"
    if results is None and not problem:
        text = _tail(logs / "stderr.txt") + "\n" + _tail(logs / "stdout.txt")
        problem = f"grading failed (exit status {returncode}): {_last_error(text)}"
    return _RunOutcome(results, problem, seconds, _read_cell_errors(box / "results" / ERRORS_FILE))


def _read_cell_errors(path: Path) -> list[str]:
    """The submission's own exceptions, as recorded in the sandbox (untrusted: text only)."""
    try:
        if path.is_symlink() or path.stat().st_size > MAX_RESULTS_BYTES:
            return []
        errors = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(errors, list):
        return []
    return [str(error)[:300] for error in errors[:20]]


def _summarise_failure(output: str) -> str:
    """A one-line reason from otter's test output for one question."""
    reasons = []
    current = ""
    for line in output.splitlines():
        stripped = line.strip()
        header = re.match(r"^(.*) result:$", stripped)
        if header:
            current = header.group(1)
            continue
        error = re.match(r"^(\w*(?:Error|Exception|Exit)\b.*)$", stripped)
        if error and not stripped.startswith("Error at line"):
            reasons.append(f"{current}: {error.group(1)}" if current else error.group(1))
    text = "; ".join(dict.fromkeys(reasons)) or output.strip().replace("\n", " ")
    return text[:500]


def _rows_from_results(results: dict, assignment: Assignment, base: dict) -> list[GradeRow]:
    by_name = {}
    for test in results["tests"]:
        if isinstance(test, dict) and isinstance(test.get("name"), str):
            by_name[test["name"]] = test
    failure = by_name.get("Autograder Error") or by_name.get("Autograder Failed")
    rows = []
    for question, possible in assignment.questions.items():
        entry = by_name.get(question)
        if failure is not None:
            score, reason = 0.0, _summarise_failure(str(failure.get("output", "")))
        elif entry is None:
            score, reason = 0.0, "no result for this question"
        else:
            try:
                score = float(entry.get("score", 0.0))
            except (TypeError, ValueError):
                score = 0.0
            score = min(max(score if math.isfinite(score) else 0.0, 0.0), possible)
            if score >= possible:
                reason = ALL_PASSED
            else:
                output = str(entry.get("output", ""))
                reason = _summarise_failure(output) or "tests failed (otter gave no details)"
        rows.append(
            GradeRow(**base, question=question, score=score, max_score=possible, reason=reason)
        )
    return rows


def _read_notebook(path: Path) -> tuple[dict | None, str]:
    import nbformat

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
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many types for malformed notebooks
        return None, f"not a valid notebook ({type(error).__name__}: {error})"[:300]
    return notebook, ""


def grade_file(
    path: Path,
    assignments: dict[str, Assignment],
    *,
    sandbox: Sandbox,
    timeout: float = DEFAULT_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
    default_assignment: str | None = None,
    scratch: Path | None = None,
) -> list[GradeRow]:
    """Grade one submitted file; never raises for a bad submission.

    Parameters
    ----------
    path : pathlib.Path
        The submitted file.
    assignments : dict
        Known assignments (:func:`load_assignments`).
    sandbox : Sandbox
        From :func:`detect_sandbox`.
    timeout : float
        Wall-clock seconds allowed for grading this submission.
    memory_gb : float
        Memory limit (``RLIMIT_DATA``) per process, in GiB.
    default_assignment : str, optional
        Assignment for notebooks whose metadata names none.
    scratch : pathlib.Path, optional
        Where to create the submission's temporary directory (default: the system's).

    Returns
    -------
    list of GradeRow
        One row per question, or a single row with question ``"*"``.
    """
    path = Path(path)
    student = path.stem
    base = {"student": student, "file": path.name, "assignment": "", "sandbox": sandbox.label}

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
    if not STUDENT_NAME.match(path.stem):
        return whole(f"wrong file name {path.name!r}: {NAMING_RULE}")
    size = path.stat().st_size
    if size == 0:
        return whole("empty file")
    if size > MAX_SUBMISSION_BYTES:
        return whole(f"file too large ({size / 2**20:.0f} MiB > {MAX_SUBMISSION_BYTES // 2**20})")
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
    workdir = Path(tempfile.mkdtemp(prefix="grade-", dir=scratch))
    try:
        prepared = workdir / "submission.ipynb"
        import nbformat

        nbformat.write(notebook, prepared)
        outcome = _run_otter(
            prepared,
            assignment,
            sandbox=sandbox,
            timeout=timeout,
            memory_bytes=int(memory_gb * 2**30),
            workdir=workdir,
        )
    except Exception as error:  # a grader bug must not stop the whole run
        outcome = _RunOutcome(None, f"grader error: {type(error).__name__}: {error}", 0.0)
    finally:
        _remove_tree(workdir)
    base["seconds"] = round(outcome.seconds, 1)
    if outcome.results is None:
        return [
            GradeRow(
                **base, question=question, score=0.0, max_score=possible, reason=outcome.problem
            )
            for question, possible in assignment.questions.items()
        ]
    rows = _rows_from_results(outcome.results, assignment, base)
    if outcome.cell_errors:
        raised = "the notebook raised " + "; ".join(dict.fromkeys(outcome.cell_errors))
        for row in rows:
            if row.score < (row.max_score or 0.0):
                row.reason = f"{raised[:300]} | {row.reason}"
    return rows


# ---------------------------------------------------------------------------- a folder


def grade_directory(
    directory: Path,
    assignments: dict[str, Assignment],
    *,
    sandbox: Sandbox,
    timeout: float = DEFAULT_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
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
            path,
            assignments,
            sandbox=sandbox,
            timeout=timeout,
            memory_gb=memory_gb,
            default_assignment=default_assignment,
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


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 0 whenever the table was written."""
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grading",
        description="Grade every submission in a folder into a CSV (one row per question).",
    )
    parser.add_argument("directory", type=Path, help="folder of submissions <student>.ipynb")
    parser.add_argument("--output", "-o", type=Path, default=Path("_build/grades.csv"))
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds per submission (default %(default)g)",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=DEFAULT_MEMORY_GB,
        help="memory limit per process in GiB (default %(default)g)",
    )
    parser.add_argument("--assignment", help="assignment for notebooks without otter metadata")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="submissions graded at once")
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="isolation: bwrap if it works (auto), required, or none",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"{args.directory} is not a folder")
    try:
        sandbox = detect_sandbox(args.sandbox)
    except RuntimeError as error:
        parser.error(str(error))
    if sandbox.kind == "none":
        _warn_unsandboxed(sandbox)
    assignments = load_assignments(args.root)
    if args.assignment and args.assignment not in assignments:
        parser.error(f"--assignment {args.assignment!r} is not one of {sorted(assignments)}")
    print(
        f"grading {args.directory} ({sandbox.label}; {args.timeout:g} s and "
        f"{args.memory_gb:g} GiB per submission; assignments: {', '.join(assignments)})",
        flush=True,
    )
    rows = grade_directory(
        args.directory,
        assignments,
        sandbox=sandbox,
        timeout=args.timeout,
        memory_gb=args.memory_gb,
        default_assignment=args.assignment,
        jobs=args.jobs,
    )
    write_csv(rows, args.output)
    students = len({row.file for row in rows})
    print(f"wrote {args.output}: {len(rows)} rows for {students} files")
    if sandbox.kind == "none":
        _warn_unsandboxed(sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
