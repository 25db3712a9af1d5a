"""``python -m coursetools.grading <dir> --output grades.csv`` (``make grade``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from coursetools.exercises import REPO_ROOT
from coursetools.grading.assignments import load_assignments
from coursetools.grading.batch import grade_directory
from coursetools.grading.report import write_csv
from coursetools.grading.sandbox import detect_sandbox, warn_unsandboxed
from coursetools.grading.settings import Limits

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 0 whenever the table was written."""
    defaults = Limits()
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grading",
        description="Grade every submission in a folder into a CSV (one row per question).",
    )
    parser.add_argument("directory", type=Path, help="folder of submissions <student>.ipynb")
    parser.add_argument("--output", "-o", type=Path, default=Path("_build/grades.csv"))
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout,
        help="seconds for running one notebook (default %(default)g)",
    )
    parser.add_argument(
        "--test-timeout",
        type=float,
        default=defaults.test_timeout,
        help="seconds for one notebook's hidden tests (default %(default)g)",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=defaults.memory_gb,
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
        limits = Limits(
            timeout=args.timeout, test_timeout=args.test_timeout, memory_gb=args.memory_gb
        )
        sandbox = detect_sandbox(args.sandbox)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    if sandbox.kind == "none":
        warn_unsandboxed(sandbox)
    assignments = load_assignments(args.root)
    if args.assignment and args.assignment not in assignments:
        parser.error(f"--assignment {args.assignment!r} is not one of {sorted(assignments)}")
    print(
        f"grading {args.directory} ({sandbox.label}; {limits.timeout:g} s, "
        f"{limits.memory_gb:g} GiB per notebook; assignments: {', '.join(assignments)})",
        flush=True,
    )
    rows = grade_directory(
        args.directory,
        assignments,
        sandbox=sandbox,
        limits=limits,
        default_assignment=args.assignment,
        jobs=args.jobs,
    )
    write_csv(rows, args.output)
    print(f"wrote {args.output}: {len(rows)} rows for {len({row.file for row in rows})} files")
    if sandbox.kind == "none":
        warn_unsandboxed(sandbox)
    return 0
