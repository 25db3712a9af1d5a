"""Measure the performance budget and print it as a table (``make bench``).

The cold and warm book builds, and the browser test of the built pages (headless
Chromium, ``tests/test_browser.py``), run in a temporary copy of the tracked files, so
the instructor's ``_build`` and execution cache are left alone. Budget (DESIGN.md): import
under 0.1 s, each chapter under 60 s cold, whole book under 4 min cold, a rebuild with
nothing changed under 10 s, the inner loop ``make test-fast`` under 3 min, the full test
command under 15 min, grading overhead for a notebook without MCMC under 8 s (the time
``grade_file`` takes beyond executing the notebook itself).

Grading throughput: a class of :data:`CLASS_SIZE` submissions (copies of the committed
solution, :data:`CLASS_BLANKS` of them the blank student notebook, each under its own
name) graded in parallel by :func:`coursetools.grading.batch.grade_export`, one worker
per core, for an assignment without MCMC and for the lightest one with MCMC (one NUTS
fit); wall time, seconds per submission and submissions per minute. It takes minutes;
``--skip-throughput`` leaves it out.

``make test-fast`` is always timed. The full test command (``make test``, about 15 min)
is timed only with ``--full``; without it its row says so instead of a time.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET = {
    "import companion": 0.1,
    "book build, cold": 240.0,
    "book build, warm (nothing changed)": 10.0,
    "chapter": 60.0,
    "make test-fast": 180.0,
    "make test": 900.0,
    "grading overhead": 8.0,
}
CLASS_SIZE = 20
CLASS_BLANKS = 2
THROUGHPUT = {"02-shrinkage": "no MCMC", "01-pooling": "MCMC, one NUTS fit"}
"""The assignments whose class is graded, with what their notebooks run."""


def _timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _timed_make(target: str) -> tuple[float, bool]:
    """Seconds ``make <target>`` takes in the repository, and whether it passed (a failing
    test still gives a time worth reporting, so it does not stop the table)."""
    start = time.perf_counter()
    completed = subprocess.run(["make", target], cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, completed.returncode == 0


def _import_time(repeats: int = 5) -> float:
    command = [sys.executable, "-c", "import companion"]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def _book_copy(destination: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    for name in tracked:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def _chapter_times(cache_dir: Path) -> dict[str, float]:
    from jupyter_cache import get_cache

    records = get_cache(str(cache_dir)).list_cache_records()
    return {Path(r.uri).name: float(r.data.get("execution_seconds", float("nan"))) for r in records}


def _page_load_times(report: Path) -> dict[str, float]:
    """Per-page load times (page, MathJax and images ready) written by the browser test."""
    lines = report.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])
    return {row["page"]: float(row["load_seconds"]) for row in rows}


def _exact_vs_mcmc() -> tuple[float, float]:
    from companion import data, exact, models, sampling

    schools = data.load_eight_schools()
    start = time.perf_counter()
    posterior = exact.normal_hierarchy(schools["y"], schools["sigma"])
    _ = posterior.mean, posterior.quantile([0.05, 0.95])
    exact_seconds = time.perf_counter() - start
    model = models.group_summaries(schools["y"], schools["sigma"], dim="school")
    sampling.sample(model, random_seed=1)  # first call pays the one-off JIT warm-up
    start = time.perf_counter()
    sampling.sample(model, random_seed=2)
    return exact_seconds, time.perf_counter() - start


def _grading_times(name: str = "02-shrinkage") -> tuple[float, float]:
    """Seconds to execute a solution notebook directly, and to grade it (two sandboxes)."""
    import nbformat
    from nbclient import NotebookClient

    from coursetools.grading import detect_sandbox, grade_file, load_assignments

    solution = REPO / "solutions" / f"{name}.ipynb"
    assignments = load_assignments(REPO)
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        shutil.copyfile(solution, Path(scratch) / "student.ipynb")
        notebook = nbformat.read(solution, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            notebook, kernel_name="python3", resources={"metadata": {"path": scratch}}
        ).execute()
        executed = time.perf_counter() - start
        start = time.perf_counter()
        rows = grade_file(Path(scratch) / "student.ipynb", assignments, sandbox=detect_sandbox())
        graded = time.perf_counter() - start
    if sum(row.score for row in rows) != assignments[name].points:
        raise RuntimeError(f"the {name} solution did not get full marks: {rows}")
    return executed, graded


def _class_throughput(name: str) -> tuple[float, int, bool]:
    """Wall seconds to grade a class of ``name`` in parallel, the workers, and whether every
    solution got full marks and every blank notebook 0."""
    from coursetools.grading import batch, detect_sandbox, load_assignments

    assignments = load_assignments(REPO)
    sandbox, jobs = detect_sandbox(), batch.default_jobs()
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        folder = Path(scratch) / "class"
        folder.mkdir()
        expected = {}
        for index in range(CLASS_SIZE):
            blank = index < CLASS_BLANKS
            source = REPO / ("exercises" if blank else "solutions") / f"{name}.ipynb"
            shutil.copyfile(source, folder / f"student{index:02d}.ipynb")
            expected[f"student{index:02d}"] = 0.0 if blank else assignments[name].points
        start = time.perf_counter()  # no cache: every notebook is graded
        result = batch.grade_export(
            folder, assignments, sandbox=sandbox, jobs=jobs, progress=False, scratch=Path(scratch)
        )
        seconds = time.perf_counter() - start
    totals: dict[str, float] = {}
    for row in result.rows:
        totals[row.student] = totals.get(row.student, 0.0) + row.score
    return seconds, jobs, totals == expected and result.graded == CLASS_SIZE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-book", action="store_true", help="skip the cold/warm builds")
    parser.add_argument(
        "--skip-tests", action="store_true", help="skip timing `make test-fast` and `make test`"
    )
    parser.add_argument(
        "--full", action="store_true", help="also time the full `make test` (about 15 min)"
    )
    parser.add_argument(
        "--skip-throughput",
        action="store_true",
        help=f"skip grading a class of {CLASS_SIZE} for {' and '.join(THROUGHPUT)} (minutes)",
    )
    args = parser.parse_args(argv)

    rows: list[tuple[str, float | None, float | None]] = []
    notes: dict[str, str] = {}
    rows.append(("import companion", _import_time(), BUDGET["import companion"]))
    exact_seconds, mcmc_seconds = _exact_vs_mcmc()
    rows.append(("Eight Schools exact posterior (mean, sd, quantiles)", exact_seconds, None))
    rows.append(("Eight Schools NUTS fit, 4 x 1000 draws (after JIT warm-up)", mcmc_seconds, None))
    executed, graded = _grading_times()
    rows.append(("02-shrinkage solution executed directly (nbclient)", executed, None))
    rows.append(("02-shrinkage solution graded (both sandboxes)", graded, None))
    rows.append(("  grading overhead", graded - executed, BUDGET["grading overhead"]))
    if not args.skip_throughput:
        for name, runs in THROUGHPUT.items():
            seconds, jobs, right = _class_throughput(name)
            label = f"class of {CLASS_SIZE}, {name} ({runs}), {jobs} workers: wall time"
            rows.append((label, seconds, None))
            rate = f"  per submission ({60 * CLASS_SIZE / seconds:.1f} submissions per minute)"
            rows.append((rate, seconds / CLASS_SIZE, None))
            if not right:
                notes[label] = "(WRONG SCORES: a solution without full marks or a blank with some)"

    if not args.skip_book:
        with tempfile.TemporaryDirectory(prefix="bench-book-") as scratch:
            copy = Path(scratch)
            _book_copy(copy)
            # as `make book` builds: chapters executed in parallel, one process per core
            build = [
                sys.executable,
                "-m",
                "coursetools.book",
                "build",
                ".",
                "-W",
                "-n",
                "--keep-going",
            ]
            rows.append(("book build, cold", _timed(build, copy), BUDGET["book build, cold"]))
            rows.append(
                (
                    "book build, warm (nothing changed)",
                    _timed(build, copy),
                    BUDGET["book build, warm (nothing changed)"],
                )
            )
            for chapter, seconds in sorted(_chapter_times(copy / "_build/.jupyter_cache").items()):
                rows.append((f"  chapter {chapter} (execution)", seconds, BUDGET["chapter"]))
            pytest = str(Path(sys.executable).with_name("pytest"))
            browser = [pytest, "-m", "browser", "-p", "no:cacheprovider", "tests/test_browser.py"]
            env = dict(os.environ, BOOK_REQUIRED="1")
            rows.append(("browser test, every page", _timed(browser, copy, env), None))
            report = copy / "_build/screenshots/pages.tsv"
            for page, seconds in sorted(_page_load_times(report).items()):
                rows.append((f"  page {page} (load, MathJax, images)", seconds, None))

    if not args.skip_tests:
        for target, label, run in [
            ("test-fast", "make test-fast (lint, unit tests without MCMC/grading/book)", True),
            ("test", "make test (everything, warm venv)", args.full),
        ]:
            budget = BUDGET[f"make {target}"]
            if not run:
                rows.append((label, None, budget))
                notes[label] = "not run (--full times it, about 15 min)"
                continue
            seconds, passed = _timed_make(target)
            rows.append((label, seconds, budget))
            if not passed:
                notes[label] = "(some tests FAILED)"

    _print_table(rows, notes)


def _print_table(
    rows: list[tuple[str, float | None, float | None]], notes: dict[str, str] | None = None
) -> None:
    """Print the rows (name, seconds or None when not measured, budget or None)."""
    notes = notes or {}
    width = max(len(name) for name, _, _ in rows)
    print(f"{'measurement':<{width}}  {'seconds':>9}  {'budget':>7}  status")
    print("-" * (width + 30))
    for name, seconds, budget in rows:
        budget_text = "" if budget is None else f"{budget:g}"
        if seconds is None:
            seconds_text, status = f"{'-':>9}", ""
        else:
            seconds_text = f"{seconds:9.3f}"
            status = "" if budget is None else ("ok" if seconds <= budget else "OVER BUDGET")
        status = " ".join(part for part in (status, notes.get(name, "")) if part)
        print(f"{name:<{width}}  {seconds_text}  {budget_text:>7}  {status}")


if __name__ == "__main__":
    main()
