"""The gradable assignments: their masters, autograders, questions and hidden tests."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from coursetools.exercises import REPO_ROOT, ensure_autograder, find_masters
from coursetools.grading.hidden_tests import (
    TEST_FILE,
    TestCase,
    load_tests,
    natural_key,
    question_names,
)

__all__ = ["Assignment", "load_assignments"]


@dataclass(frozen=True)
class Assignment:
    """A gradable assignment: its name, notebook file name, autograder and tests."""

    name: str
    notebook: str
    autograder: Path
    tests: tuple[TestCase, ...]

    @property
    def questions(self) -> dict[str, float]:
        """Each question's points (the sum of its hidden tests'), in natural order."""
        points: dict[str, float] = {}
        for test in self.tests:
            points[test.question] = points.get(test.question, 0.0) + (
                test.points if test.hidden else 0.0
            )
        return dict(sorted(points.items(), key=lambda item: natural_key(item[0])))

    @property
    def points(self) -> float:
        """Total points of the assignment."""
        return float(sum(self.questions.values()))

    @property
    def exported_names(self) -> dict[str, list[str]]:
        """For each question, the answers the notebook must export for its hidden tests."""
        return question_names(self.tests)

    def write_tests(self, folder: Path) -> None:
        """Copy the autograder's test files into ``folder/tests``.

        ``autograder`` is otter's zip, or a folder holding its ``tests/`` (as a Gradescope
        autograder does, :mod:`~coursetools.grading.gradescope`).
        """
        (Path(folder) / "tests").mkdir(parents=True)
        if Path(self.autograder).is_dir():
            for path in sorted(Path(self.autograder).glob("tests/*.py")):
                if TEST_FILE.fullmatch(f"tests/{path.name}"):
                    Path(folder, "tests", path.name).write_bytes(path.read_bytes())
            return
        with zipfile.ZipFile(self.autograder) as archive:
            for member in archive.namelist():
                if TEST_FILE.fullmatch(member):
                    Path(folder, member).write_bytes(archive.read(member))


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
            tests=tuple(load_tests(autograder)),
        )
    return assignments
