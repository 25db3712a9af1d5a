"""``python -m coursetools.grading.limits --data N --fsize N --core N [--nproc N] -- cmd ...``

Set resource limits, then replace this process with ``cmd``: the limits are inherited
by the sandbox and every process in it. (A small program rather than a ``preexec_fn``,
which is unsafe when submissions are graded from several threads.)
"""

from __future__ import annotations

import os
import resource
import sys

LIMITS = {
    "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
    "nproc": resource.RLIMIT_NPROC,
}


def command(limits: dict[str, int], argv: list[str]) -> list[str]:
    """The command line running ``argv`` under ``limits`` (names as in :data:`LIMITS`)."""
    options = [f"--{name}={value}" for name, value in limits.items()]
    return [sys.executable, "-m", "coursetools.grading.limits", *options, "--", *argv]


def main(argv: list[str]) -> None:
    """Apply the limits and exec the command."""
    split = argv.index("--")
    for option in argv[:split]:
        name, value = option.removeprefix("--").split("=")
        resource.setrlimit(LIMITS[name], (int(value), int(value)))
    os.execvp(argv[split + 1], argv[split + 1 :])


if __name__ == "__main__":
    main(sys.argv[1:])
