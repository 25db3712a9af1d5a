"""Mutation catalogues: typical mistakes must lose points, legitimate alternatives keep them.

Each master ``assignments/<name>.ipynb`` has a catalogue next to it,
``assignments/<name>.mutations.py``, defining ``CATALOGUE``: for each question a
:class:`Catalogue` with

- ``reference(seed)``: correct answers built by an independent route (closed forms,
  ``companion.exact``; an MCMC answer as a fit made of exact posterior draws, see
  :func:`fit_from_draws`), varying with ``seed`` where a student's would;
- ``mistakes``: :class:`Mutant` s, each a typical mistake applied to the reference,
  naming the hidden tests it must fail;
- ``alternatives``: legitimate variations that must keep full marks.

A mutant is judged as a notebook's answers are (:func:`judge`): through the answer
codec into the hidden tests, in milliseconds, with no notebook executed.
``python -m coursetools.grading.mutations`` prints the table of every catalogue.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursetools.grading import hidden_tests

__all__ = [
    "Catalogue",
    "From",
    "Mutant",
    "Verdict",
    "alternative",
    "fit_from_draws",
    "judge",
    "load_catalogue",
    "main",
    "mistake",
    "replaced",
    "set_answers",
    "verdicts",
    "wrong_options",
]

Answers = dict[str, Any]


@dataclass(frozen=True)
class Mutant:
    """A change to a question's reference answers: ``change(answers, seed) -> answers``."""

    description: str
    change: Callable[[Answers, int], Answers]
    fails: frozenset[str] = frozenset()
    """Hidden tests a mistake must fail (empty for an alternative)."""


class From:
    """An answer a mutant computes from the reference answers: ``From(lambda answers: ...)``."""

    def __init__(self, compute: Callable[[Answers], Any]):
        self.compute = compute


def replaced(**values) -> Callable[[Answers, int], Answers]:
    """A change that replaces the named answers (by values, or :class:`From` computations)."""

    def change(answers: Answers, seed: int) -> Answers:
        changed = dict(answers)
        for name, value in values.items():
            changed[name] = value.compute(answers) if isinstance(value, From) else value
        return changed

    return change


def set_answers(**values) -> Callable[[Answers, int], Answers]:
    """A change that sets the named answers; a callable value is computed from
    ``(answers, seed)`` (use :func:`replaced` to set a function answer itself)."""

    def change(answers: Answers, seed: int) -> Answers:
        computed = {k: v(answers, seed) if callable(v) else v for k, v in values.items()}
        return {**answers, **computed}

    return change


def mistake(description: str, fails, **values) -> Mutant:
    """A typical mistake replacing answers (see :func:`replaced`), failing ``fails``."""
    return Mutant(description, replaced(**values), frozenset(fails))


def alternative(description: str, **values) -> Mutant:
    """A legitimate alternative replacing answers (see :func:`replaced`)."""
    return Mutant(description, replaced(**values))


def wrong_options(name: str, right: str, test: str, options: str = "abcd") -> tuple[Mutant, ...]:
    """Every wrong letter of a multiple-choice answer ``name``, each failing ``test``."""
    return tuple(
        mistake(f"option {letter}", {test}, **{name: letter})
        for letter in options
        if letter != right
    )


@dataclass(frozen=True)
class Catalogue:
    """One question's reference answers, typical mistakes and legitimate alternatives."""

    reference: Callable[[int], Answers]
    mistakes: tuple[Mutant, ...]
    alternatives: tuple[Mutant, ...] = ()
    seeds: tuple[int, ...] = (0,)
    """Seeds of the reference (several where the answer is random, e.g. posterior draws)."""


@dataclass(frozen=True)
class Verdict:
    """How one mutant (or the reference) of one question and seed was graded."""

    assignment: str
    question: str
    kind: str  # "reference", "mistake" or "alternative"
    description: str
    seed: int
    score: float
    possible: float
    failed: frozenset[str] = field(default_factory=frozenset)
    expected_failures: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        """Full marks for a reference or alternative; the named tests failed for a mistake."""
        if self.kind == "mistake":
            return bool(self.failed) and self.expected_failures <= self.failed
        return self.score == self.possible


def load_catalogue(master: Path) -> dict[str, Catalogue]:
    """The ``CATALOGUE`` of ``<master>.mutations.py`` (imported by path)."""
    path = Path(master).with_suffix(".mutations.py")
    spec = importlib.util.spec_from_file_location(f"mutations_{Path(master).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.CATALOGUE)


def judge(
    tests: list[hidden_tests.TestCase],
    question: str,
    answers: Mapping[str, Any],
    reference: tuple[Mapping[str, Any], list[hidden_tests.Outcome]] | None = None,
) -> list[hidden_tests.Outcome]:
    """The hidden tests of ``question`` run on ``answers`` after the trip through the codec.

    With ``reference`` (the reference answers and their outcomes, in test order), a test
    whose every parameter is the very object the reference holds keeps the reference's
    outcome: the hidden tests are functions of their parameters, so rerunning it (on an
    unchanged fit, say) would only repeat the same convergence checks.
    """
    own = [test for test in tests if test.question == question and test.hidden]
    if reference is None:
        return hidden_tests.run_tests(own, hidden_tests.roundtrip({question: dict(answers)}))
    reference_answers, reference_outcomes = reference
    kept = {
        test.name: outcome
        for test, outcome in zip(own, reference_outcomes, strict=True)
        if all(
            name in answers
            and name in reference_answers
            and answers[name] is reference_answers[name]
            for name in test.parameters
        )
    }
    rerun = [test for test in own if test.name not in kept]
    needed = {name for test in rerun for name in test.parameters if name in answers}
    fresh = {
        outcome.test: outcome
        for outcome in hidden_tests.run_tests(
            rerun, hidden_tests.roundtrip({question: {name: answers[name] for name in needed}})
        )
    }
    return [kept.get(test.name) or fresh[test.name] for test in own]


def verdicts(assignment: str, tests: list[hidden_tests.TestCase], catalogue) -> list[Verdict]:
    """Grade every question's reference, mistakes and alternatives for every seed."""
    found = []
    for question, entry in catalogue.items():
        possible = sum(t.points for t in tests if t.question == question and t.hidden)
        for seed in entry.seeds:
            reference = entry.reference(seed)
            outcomes = judge(tests, question, reference)
            runs = [("reference", "the reference answers", outcomes, frozenset())]
            for kind, mutants in (("mistake", entry.mistakes), ("alternative", entry.alternatives)):
                for mutant in mutants:
                    answers = mutant.change(dict(reference), seed)
                    judged = judge(tests, question, answers, (reference, outcomes))
                    expected = mutant.fails if kind == "mistake" else frozenset()
                    runs.append((kind, mutant.description, judged, expected))
            for kind, description, judged, expected in runs:
                found.append(
                    Verdict(
                        assignment,
                        question,
                        kind,
                        description,
                        seed,
                        score=sum(o.score for o in judged),
                        possible=possible,
                        failed=frozenset(o.test for o in judged if not o.passed),
                        expected_failures=expected,
                    )
                )
    return found


def fit_from_draws(
    posterior: Mapping[str, Any],
    *,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, list[str]] | None = None,
    log_likelihood: Mapping[str, Any] | None = None,
    observed_data: Mapping[str, Any] | None = None,
    repeat: int = 1,
    sample_stats: Mapping[str, float] | None = None,
):
    """A DataTree shaped like ``sampling.sample``'s from draws of shape (chain, draw, ...).

    For mutants of MCMC answers: exact posterior draws stand in for a healthy fit (no
    divergences; R-hat and ESS those of independent draws). With ``repeat`` > 1 each
    chain keeps its first 1/``repeat`` draws (and their log likelihoods), each repeated
    ``repeat`` times: the same length with about 1/``repeat`` of the ESS.
    ``sample_stats`` adds constant columns (``{"step_size": 0.3}``) next to ``diverging``.
    """
    import arviz as az
    import numpy as np

    first = next(iter(posterior.values()))
    chains, draws = np.shape(first)[:2]
    keep = -(-draws // repeat)

    def repeated(group):
        return {
            name: np.repeat(np.asarray(values)[:, :keep], repeat, axis=1)[:, :draws]
            for name, values in group.items()
        }

    stats = {"diverging": np.zeros((chains, draws), dtype=bool)}
    for name, value in (sample_stats or {}).items():
        stats[name] = np.full((chains, draws), value)
    groups = {"posterior": repeated(posterior), "sample_stats": stats}
    if log_likelihood is not None:
        groups["log_likelihood"] = repeated(log_likelihood)
    if observed_data is not None:
        groups["observed_data"] = dict(observed_data)
    return az.from_dict(groups, coords=dict(coords or {}), dims=dict(dims or {}))


def main(argv: list[str] | None = None) -> int:
    """Print the table of every catalogue; exit status 1 when a mutant is judged wrongly."""
    from coursetools.exercises import REPO_ROOT, ensure_autograder, find_masters

    parser = argparse.ArgumentParser(prog="python -m coursetools.grading.mutations")
    parser.add_argument("names", nargs="*", help="assignments (default: all)")
    args = parser.parse_args(argv)
    rows, wrong = [], []
    for master in find_masters(REPO_ROOT / "assignments"):
        if args.names and master.stem not in args.names:
            continue
        tests = hidden_tests.load_tests(ensure_autograder(master, REPO_ROOT / "_build/autograder"))
        found = verdicts(master.stem, tests, load_catalogue(master))
        wrong += [v for v in found if not v.ok]
        for question in dict.fromkeys(v.question for v in found):
            mine = [v for v in found if v.question == question]
            mistakes = [v for v in mine if v.kind == "mistake"]
            alternatives = [v for v in mine if v.kind == "alternative"]
            rows.append(
                f"| {master.stem} | {question} | {len({v.description for v in mistakes})} | "
                f"{sum(v.ok for v in mistakes)}/{len(mistakes)} | "
                f"{len({v.description for v in alternatives})} | "
                f"{sum(v.ok for v in alternatives)}/{len(alternatives)} | "
                f"{len({v.seed for v in mine})} |"
            )
    print("| assignment | question | mistakes | caught | alternatives | kept | seeds |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for verdict in wrong:
        print(f"WRONG: {verdict}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
