"""``python -m coursetools.grading <dir-or-zip> --output grades.csv`` (``make grade``).

Next to ``grades.csv`` (one row per question) it writes ``grades-gradebook.csv`` (one row
per student), ``grades-feedback/<student>.html``, ``grades-summary.html`` and the
``--resume`` cache ``grades-cache.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coursetools.exercises import REPO_ROOT
from coursetools.grading.assignments import load_assignments
from coursetools.grading.batch import default_jobs, grade_export
from coursetools.grading.feedback import write_feedback, write_summary
from coursetools.grading.gradebook import write_gradebook
from coursetools.grading.intake import DUPLICATE_RULE, LAYOUTS
from coursetools.grading.report import write_csv
from coursetools.grading.sandbox import detect_sandbox, warn_unsandboxed
from coursetools.grading.settings import Limits

__all__ = ["main", "outputs"]


def outputs(output: Path) -> dict[str, Path]:
    """The files written next to the per-question CSV ``output``."""
    stem = output.with_suffix("")
    return {
        "gradebook": stem.with_name(f"{stem.name}-gradebook.csv"),
        "feedback": stem.with_name(f"{stem.name}-feedback"),
        "summary": stem.with_name(f"{stem.name}-summary.html"),
        "cache": stem.with_name(f"{stem.name}-cache.json"),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 0 whenever the table was written."""
    defaults = Limits()
    parser = argparse.ArgumentParser(
        prog="python -m coursetools.grading",
        description="Grade an export of submissions (a folder or a .zip: flat, nbgrader, "
        "Canvas or Gradescope) into a CSV with one row per question, a gradebook, one "
        "feedback page per student and a class summary.",
    )
    parser.add_argument("directory", type=Path, help="folder or .zip of submissions (see --layout)")
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="flat <student>.ipynb, nbgrader submitted/<student>/<assignment>/, Canvas bulk "
        "download, Gradescope export; auto detects it (default)",
    )
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
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help=f"submissions graded at once (default: one per core, here {default_jobs()})",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse results of notebooks already graded by the same autograder "
        "(the cache next to --output)",
    )
    parser.add_argument(
        "--no-feedback",
        action="store_true",
        help="write only the CSVs (no feedback pages, no summary page)",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="isolation: bwrap if it works (auto), required, or none",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    if not args.directory.is_dir() and not (
        args.directory.is_file() and args.directory.suffix.lower() == ".zip"
    ):
        parser.error(f"{args.directory} is neither a folder nor a .zip file")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
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
    files = outputs(args.output)
    result = grade_export(
        args.directory,
        assignments,
        sandbox=sandbox,
        limits=limits,
        layout=args.layout,
        default_assignment=args.assignment,
        jobs=args.jobs,
        cache=files["cache"],
        resume=args.resume,
    )
    rows = result.rows
    write_csv(rows, args.output)
    book = write_gradebook(rows, files["gradebook"])
    print(f"wrote {args.output}: {len(rows)} rows for {len({row.file for row in rows})} files")
    print(f"wrote {files['gradebook']}: {len(book)} students")
    if not args.no_feedback:
        pages = write_feedback(rows, files["feedback"])
        write_summary(rows, files["summary"], title=f"Class summary: {args.directory.name}")
        print(f"wrote {len(pages)} feedback pages in {files['feedback']}/ and {files['summary']}")
    for old, new in result.superseded:
        print(f"superseded: {old} by {new} ({DUPLICATE_RULE})")
    if result.reused:
        print(f"{result.reused} notebooks already graded reused (--resume)")
    if sandbox.kind == "none":
        warn_unsandboxed(sandbox)
    return 0
