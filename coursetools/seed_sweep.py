"""Rerun every MCMC assertion over fresh seeds and print how often each one failed.

``python -m coursetools.seed_sweep`` (``make seed-sweep``; not part of ``make test``)
checks the course's rule that an MCMC assertion must hold for *any* seed, because seeded
draws are not bit-identical across machines:

1. **Tests**: every test marked ``mcmc`` runs once per seed (the ``mcmc_seed`` fixture
   in ``tests/conftest.py`` takes the seeds from ``COMPANION_SEED_SWEEP``).
2. **Graded answers**: for every master in ``assignments/`` that samples, the solution
   code runs once per seed with its sampler and posterior-predictive seeds replaced (the
   simulated data keep the notebook's ``RANDOM_SEED``, as a student's do), and every test
   of the master, public and hidden, is evaluated on the result.

A failure is a *convergence* failure when the fit itself failed its checks (a test of a
graded fit whose name ends in ``converged``, or ``ConvergenceFailure`` in the tests),
otherwise a *comparison* failure. Comparison failures are expected at the rate the
thresholds imply: ``c`` MCSE on ``k`` quantities gives ``1 - (1 - 2 Phi(-c))^k`` per seed,
printed next to the count. The table is written to ``_build/seed-sweep.md`` too.
"""

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import numpy as np
from scipy import stats

REPO_ROOT = Path(__file__).resolve().parent.parent
SWEEP_VARIABLE = "COMPANION_SEED_SWEEP"
"""How many fresh seeds the tests' ``mcmc_seed`` fixture takes (unset: one fixed seed)."""
BASE_VARIABLE = "COMPANION_SEED_BASE"
"""The seed from which the fresh seeds are drawn."""
RECORD_VARIABLE = "COMPANION_SWEEP_RECORD"
"""A file to which every MCMC test appends its outcome as a JSON line."""
SEED_LINE = re.compile(r"^RANDOM_SEED = \d+", re.MULTILINE)
SAMPLER_SEEDS = (
    (re.compile(r"random_seed=RANDOM_SEED\b"), "random_seed=MCMC_SEED"),
    (re.compile(r"default_rng\(RANDOM_SEED\)"), "default_rng(MCMC_SEED)"),
)
TEST_CALL = re.compile(r"^(test_\w+)\(", re.MULTILINE)


def seed_list(count: int, base: int) -> list[int]:
    """``count`` fresh seeds drawn from ``base``: the same list for the tests and the masters."""
    rng = np.random.default_rng([base, 17])
    return [int(seed) for seed in rng.integers(1, 2**31 - 1, count)]


def false_alarm_rate(quantities: int, within: float) -> float:
    """Chance per seed that one of ``quantities`` exact comparisons exceeds ``within`` MCSE."""
    return 1 - (1 - 2 * stats.norm.sf(within)) ** quantities


def sweep_tests(seeds: int, base: int, paths: list[str]) -> list[dict]:
    """Run the ``mcmc`` tests in ``paths`` once per seed in one pytest process."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "outcomes.jsonl"
        env = dict(os.environ, MPLBACKEND="Agg")
        env.update({SWEEP_VARIABLE: str(seeds), BASE_VARIABLE: str(base)})
        env[RECORD_VARIABLE] = str(record)
        env.pop("COMPANION_FAST", None)
        command = [sys.executable, "-m", "pytest", "-m", "mcmc", "-q", "-p", "no:cacheprovider"]
        subprocess.run([*command, *paths], cwd=REPO_ROOT, env=env, check=False)
        lines = record.read_text().splitlines() if record.exists() else []
    return [json.loads(line) for line in lines]


def _is_test_cell(source: str) -> bool:
    return source.lstrip().startswith('"""') and "BEGIN TEST CONFIG" in source


def _sampling_masters() -> list[Path]:
    masters = sorted((REPO_ROOT / "assignments").glob("*.ipynb"))
    return [m for m in masters if "sampling.sample(" in m.read_text()]


def _code_cells(master: Path) -> list[str]:
    notebook = nbformat.read(master, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


class ReusingSampler:
    """``sampling.sample`` for a sweep: each fit compiles its model only on the first seed.

    A run (a test, or one execution of a master) builds the same models on every seed,
    since its data do not depend on the sweep's seed, so the n-th fit of a run reuses the
    model compiled for the n-th fit of that run on the first seed:
    :class:`companion.sampling.CompiledModel` gives the same draws as
    ``sample(..., sampler="nutpie")``, the course's default sampler.
    """

    def __init__(self) -> None:
        self.compiled: dict[tuple[str, int], object] = {}
        self.run = ""
        self.calls = 0

    def start(self, run: str) -> None:
        """Begin a run: its fits are numbered from 0 again."""
        self.run, self.calls = run, 0

    def __call__(self, model, *, sampler: str = "auto", **options):
        from companion import sampling

        key = (self.run, self.calls)
        self.calls += 1
        if key not in self.compiled:
            self.compiled[key] = sampling.CompiledModel(model)
        return self.compiled[key].sample(**options)


def sweep_master(master: Path, seeds: list[int]) -> list[dict]:
    """Run one master's solution once per seed and evaluate all its tests on each run."""
    from companion import sampling

    cells = _code_cells(master)
    outcomes = []
    reusing = ReusingSampler()
    original, sampling.sample = sampling.sample, reusing
    try:
        for seed in seeds:
            reusing.start(master.stem)
            outcomes += _run_master(master, cells, seed)
    finally:
        sampling.sample = original
    return outcomes


def _run_master(master: Path, cells: list[str], seed: int) -> list[dict]:
    """Execute the master's code cells once with the sweep's sampler seed."""
    outcomes = []
    namespace = {"__name__": "__sweep__", "MCMC_SEED": seed}
    for source in cells:
        name = TEST_CALL.findall(source)
        if not _is_test_cell(source):
            for pattern, replacement in SAMPLER_SEEDS:
                source = pattern.sub(replacement, source)
        outcome, message = _execute(source, master.name, namespace)
        if not name:
            if outcome != "passed":
                raise RuntimeError(f"{master.name}, seed {seed}: solution cell failed: {message}")
            continue
        if outcome == "failed":
            outcome = "convergence" if name[-1].endswith("converged") else "comparison"
        outcomes.append(
            {"test": f"{master.stem}::{name[-1]}", "case": "", "seed": seed,
             "outcome": outcome, "message": message, "quantities": 0, "within": 4.0}
        )  # fmt: skip
    return outcomes


def _execute(source: str, filename: str, namespace: dict) -> tuple[str, str]:
    """Run one cell; return passed, failed (an assertion) or error, and the first line."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    except AssertionError as error:
        return "failed", (str(error).splitlines() or [""])[0][:200]
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        return "error", f"{type(error).__name__}: {error}"[:200]
    return "passed", ""


def table(outcomes: list[dict]) -> str:
    """A Markdown table: per test, seeds run, convergence and comparison failures."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in outcomes:
        groups[(line["test"], line["case"])].append(line)
    rows = [
        "| test | seeds | convergence failures | comparison failures | expected false alarms "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for (test, case), lines in groups.items():
        counts = defaultdict(int)
        for line in lines:
            counts[line["outcome"]] += 1
        rate = false_alarm_rate(lines[0]["quantities"], lines[0]["within"])
        expected = f"{len(lines) * rate:.3f}" if lines[0]["quantities"] else "-"
        label = f"{test}[{case}]" if case else test
        rows.append(
            f"| {label} | {len(lines)} | {counts['convergence']} | {counts['comparison']} "
            f"| {expected} | {counts['error']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="fresh seeds per assertion")
    parser.add_argument("--base", type=int, default=None, help="seed of the seed list")
    parser.add_argument("--part", choices=["all", "tests", "graded"], default="all")
    parser.add_argument("--tests", nargs="*", default=["tests"], help="test files or folders")
    parser.add_argument("--masters", nargs="*", default=None, help="assignment names")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "_build" / "seed-sweep.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.pop("COMPANION_FAST", None)
    base = args.base if args.base is not None else int(time.time())
    seeds = seed_list(args.seeds, base)
    outcomes = []
    if args.part in ("all", "tests"):
        outcomes += sweep_tests(args.seeds, base, args.tests)
    if args.part in ("all", "graded"):
        for master in _sampling_masters():
            if args.masters is None or master.stem in args.masters:
                outcomes += sweep_master(master, seeds)
    report = f"Seed sweep: {args.seeds} seeds from base {base}\n\n{table(outcomes)}\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)
    bad = [o for o in outcomes if o["outcome"] in ("convergence", "error")]
    for line in bad:
        print(f"{line['outcome']}: {line['test']} seed {line['seed']}: {line['message']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
