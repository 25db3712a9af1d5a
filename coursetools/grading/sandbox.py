"""Run a command in a bubblewrap sandbox whose only writable place is one folder.

The file system is a fresh, empty root with read-only binds of ``/usr``, ``/etc`` (and
the ``/bin``, ``/lib*`` links), the Python installation, the virtual environment and
the course's own packages (editable installs). Everything else -- the rest of the
repository, the submissions, the autograders, other boxes, the host's ``/tmp`` and
home -- does not exist inside. The box is bound read-write at ``/sandbox``; ``HOME``
and the caches point into it; ``/tmp`` and ``/dev/shm`` are small private tmpfs. New
network (loopback only), PID, IPC and UTS namespaces, ``--die-with-parent``,
``--new-session``, a cleared environment. Run as root (as in CI), the code inside runs
as ``nobody`` (``setpriv``: no capabilities, no new privileges); otherwise as the
calling user in a user namespace.

Limits (:class:`~coursetools.grading.settings.Limits`) are resource limits set before
the sandbox starts and inherited by every process in it: ``RLIMIT_DATA`` (writable
private memory, i.e. NumPy arrays -- a cgroup would need a writable cgroup tree, which
containers such as CI jobs lack, and ``RLIMIT_AS`` counts reserved address space, which
grows with threads rather than use; measured on an MCMC solution with nutpie: peak RSS
0.5 GiB, ``VmData`` 1.7 GiB with ``MALLOC_ARENA_MAX=2``), ``RLIMIT_FSIZE``, no core
dumps, and a process cap when running as ``nobody``.

Without a working ``bwrap`` the command runs in the box folder with the same limits but
not isolated: :func:`detect_sandbox` says so and the grade table records it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursetools.grading import limits as limits_program
from coursetools.grading.settings import Limits

__all__ = ["SANDBOX_DIR", "Sandbox", "detect_sandbox", "kill", "remove_tree", "warn_unsandboxed"]

SANDBOX_UID = 65534
SANDBOX_DIR = "/sandbox"
COURSE_PACKAGES = ("companion", "coursetools")
"""Packages whose source lives outside the environment (editable installs)."""


@dataclass(frozen=True)
class Sandbox:
    """How commands are isolated: ``kind`` is ``"bwrap"`` or ``"none"``."""

    kind: str
    detail: str = ""
    as_nobody: bool = False
    readonly_paths: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """The value of the grade table's ``sandbox`` column."""
        if self.kind == "bwrap":
            return "bwrap (nobody)" if self.as_nobody else "bwrap"
        return "NONE (not isolated)"

    def prepare(self, box: Path) -> None:
        """Hand the box (created by the caller) to the sandbox's user."""
        if self.kind == "bwrap" and self.as_nobody:
            for root, dirs, files in os.walk(box):
                for name in [".", *dirs, *files]:
                    os.chown(Path(root, name), SANDBOX_UID, SANDBOX_UID, follow_symlinks=False)

    def start(self, box: Path, argv: list[str], limits: Limits, stderr) -> subprocess.Popen:
        """Start ``argv`` in ``box`` with pipes on stdin/stdout (the protocol channel)."""
        inside = SANDBOX_DIR if self.kind == "bwrap" else str(box)
        env = _environment(f"{inside}/home", "/tmp" if self.kind == "bwrap" else f"{inside}/tmp")
        if self.kind == "bwrap":
            argv = _bwrap_prefix(self, box, env) + argv
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        resource_limits = {"data": limits.memory_bytes, "fsize": limits.max_file_bytes, "core": 0}
        if self.as_nobody:
            resource_limits["nproc"] = limits.max_processes
        return subprocess.Popen(
            limits_program.command(resource_limits, argv),
            cwd=box,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )


def _package_dirs(packages) -> list[Path]:
    found = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is not None:
            locations = spec.submodule_search_locations or [Path(spec.origin).parent]
            found += [Path(location).resolve() for location in locations]
    return found


def _readonly_paths() -> tuple[Path, ...]:
    """The Python installation, the environment and the course packages, deduplicated."""
    candidates = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix),
        Path(sys.prefix).resolve(),
        *_package_dirs(COURSE_PACKAGES),
    ]
    chosen: list[Path] = []
    for path in sorted(set(candidates), key=lambda p: len(p.parts)):
        under_system = path.parts[1:2] in (("usr",), ("etc",))
        if not under_system and not any(path.is_relative_to(done) for done in chosen):
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


def _environment(home: str, tmp: str) -> dict[str, str]:
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

    ``requested`` is ``"auto"``, ``"bwrap"`` (``RuntimeError`` when bwrap does not work)
    or ``"none"``.
    """
    if requested not in ("auto", "bwrap", "none"):
        raise ValueError(f"requested must be 'auto', 'bwrap' or 'none', got {requested!r}")
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
            candidate.prepare(box)
            probe = [sys.executable, "-c", f"open('{SANDBOX_DIR}/probe', 'w').write('ok')"]
            try:
                process = candidate.start(box, probe, Limits(), subprocess.PIPE)
                _, stderr = process.communicate(timeout=60)
                if process.returncode != 0 or (box / "probe").read_text() != "ok":
                    problem = f"bwrap does not work here: {stderr.decode()[-500:].strip()}"
            except (OSError, subprocess.SubprocessError) as error:
                problem = f"bwrap does not work here: {error}"
    if not problem:
        return candidate
    if requested == "bwrap":
        raise RuntimeError(problem)
    return Sandbox("none", problem)


def warn_unsandboxed(sandbox: Sandbox) -> None:
    """A loud warning on stderr: submissions run unisolated."""
    bar = "!" * 78
    print(
        f"{bar}\n!! WARNING: GRADING WITHOUT A SANDBOX: {sandbox.detail}\n"
        "!! Submitted code runs with your permissions and can read or change any of\n"
        "!! your files, other submissions and their results. Install bubblewrap.\n"
        f"{bar}",
        file=sys.stderr,
        flush=True,
    )


def kill(process: subprocess.Popen) -> None:
    """Kill a sandbox and everything it started (its session), then reap it."""
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
    process.wait()


def remove_tree(path: Path) -> None:
    """Delete a box, whatever permissions its contents were left with."""

    def retry(function, target, _error):
        try:
            os.chmod(Path(target).parent, 0o700)
            os.chmod(target, 0o700)
            function(target)
        except OSError:
            pass

    shutil.rmtree(path, onexc=retry)
