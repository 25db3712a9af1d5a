"""Every graded question's mutation catalogue: typical mistakes lose their points, legitimate
alternatives keep full marks, for every seed the catalogue lists.

The expected verdicts are independent of the tests under test: each catalogue builds its
reference answers by its own route (closed forms, ``companion.exact``) and names the hidden
tests each mistake must fail. Mutants are judged through the answer codec, as exported
notebook answers are, so this runs in seconds.
"""

from __future__ import annotations

import pytest

from coursetools.exercises import REPO_ROOT, ensure_autograder, find_masters
from coursetools.grading import hidden_tests, mutations

MASTERS = find_masters(REPO_ROOT / "assignments")


def _tests(master):
    autograder = ensure_autograder(master, REPO_ROOT / "_build" / "autograder")
    return hidden_tests.load_tests(autograder)


@pytest.mark.parametrize("master", MASTERS, ids=lambda m: m.stem)
def test_catalogue_covers_every_question(master):
    catalogue = mutations.load_catalogue(master)
    graded = {test.question for test in _tests(master) if test.hidden and test.points > 0}
    assert set(catalogue) == graded
    for question, entry in catalogue.items():
        assert entry.mistakes, f"{question} has no typical mistake"
        for mutant in entry.mistakes:
            assert mutant.fails, f"{question}: {mutant.description!r} names no test it fails"


@pytest.mark.parametrize("master", MASTERS, ids=lambda m: m.stem)
def test_mistakes_lose_points_and_alternatives_keep_them(master):
    found = mutations.verdicts(master.stem, _tests(master), mutations.load_catalogue(master))
    wrong = [
        f"{v.question} seed {v.seed} {v.kind} {v.description!r}: {v.score:g}/{v.possible:g}, "
        f"failed {sorted(v.failed)}, expected {sorted(v.expected_failures)}"
        for v in found
        if not v.ok
    ]
    assert not wrong, "\n".join(wrong)
