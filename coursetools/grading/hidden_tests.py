"""The tests of an assignment, read from its autograder, and how they judge answers.

The test files are the ones ``otter assign`` writes (``tests/q1.py`` in the autograder
zip): functions decorated ``@test_case(points=..., hidden=...)`` whose parameters name
the answers they read. :func:`load_tests` reads them without importing otter;
:func:`run_tests` calls each one with the answers of its question and records whether
it passed, with the assertion's message. It is what the sandboxed test process runs on
the answers a notebook exported, and what the mutation suite runs on generated answers.
"""

from __future__ import annotations

import ast
import json
import re
import traceback
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursetools.grading import answers as answer_codec

__all__ = [
    "Outcome",
    "TestCase",
    "imported_modules",
    "load_tests",
    "natural_key",
    "parse_tests",
    "question_names",
    "roundtrip",
    "run_tests",
]

TEST_FILE = re.compile(r"tests/([\w-]+)\.py")


@dataclass(frozen=True)
class TestCase:
    """One test function of a question: its points, visibility, parameters and source."""

    question: str
    name: str
    points: float
    hidden: bool
    parameters: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Outcome:
    """The result of one test on one set of answers."""

    question: str
    test: str
    points: float
    passed: bool
    message: str = ""

    @property
    def score(self) -> float:
        """The points earned."""
        return self.points if self.passed else 0.0


def _decorator_options(function: ast.FunctionDef) -> dict[str, Any] | None:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "test_case":
            return {kw.arg: ast.literal_eval(kw.value) for kw in decorator.keywords}
    return None


def parse_tests(question: str, source: str) -> list[TestCase]:
    """The ``@test_case`` functions of one otter test file, in file order."""
    tests = []
    for node in ast.parse(source).body:
        options = _decorator_options(node) if isinstance(node, ast.FunctionDef) else None
        if options is None:
            continue
        node.decorator_list = []
        tests.append(
            TestCase(
                question=question,
                name=node.name,
                points=float(options.get("points") or 0.0),
                hidden=bool(options.get("hidden", False)),
                parameters=tuple(arg.arg for arg in node.args.args),
                source=ast.unparse(node),
            )
        )
    return tests


def load_tests(autograder: Path) -> list[TestCase]:
    """Every test of an autograder zip (or of a folder holding its ``tests/``)."""
    autograder = Path(autograder)
    if autograder.is_dir():
        files = {f"tests/{p.name}": p.read_text() for p in sorted(autograder.glob("tests/*.py"))}
    else:
        with zipfile.ZipFile(autograder) as archive:
            files = {
                name: archive.read(name).decode("utf-8")
                for name in sorted(archive.namelist())
                if TEST_FILE.fullmatch(name)
            }
    tests = []
    for member, source in files.items():
        tests += parse_tests(TEST_FILE.fullmatch(member).group(1), source)
    return tests


def imported_modules(tests: Iterable[TestCase]) -> list[str]:
    """The modules the tests' code imports, in first-use order: ``import a.b`` gives
    ``a.b``; ``from a import b`` gives ``a.b`` (which may name an attribute, not a module:
    the importer falls back to ``a``). Relative imports are left out."""
    names: dict[str, None] = {}
    for test in tests:
        for node in ast.walk(ast.parse(test.source)):
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names))
    return list(names)


def natural_key(text: str) -> list:
    """Sort key putting ``q2`` before ``q10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def question_names(tests: Iterable[TestCase]) -> dict[str, list[str]]:
    """For each question, the names its hidden tests read (what the notebook must export)."""
    names: dict[str, list[str]] = {}
    for test in tests:
        if test.hidden:
            for name in test.parameters:
                if name not in names.setdefault(test.question, []):
                    names[test.question].append(name)
    return names


def _compile(test: TestCase) -> Callable:
    namespace: dict[str, Any] = {"__name__": f"hidden_tests.{test.question}"}
    exec(compile(test.source, f"<{test.question}:{test.name}>", "exec"), namespace)
    return namespace[test.name]


def _failure_message(error: BaseException, test: TestCase) -> str:
    if isinstance(error, AssertionError):
        text = str(error).strip()
        return text or f"{test.name} failed"
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f"line {f.lineno}" for f in reversed(frames) if f.filename.startswith("<q")), "")
    return f"{type(error).__name__}: {error}".strip()[:300] + (f" ({where})" if where else "")


def run_tests(
    tests: Iterable[TestCase],
    answers: Mapping[str, Mapping[str, Any]],
    problems: Mapping[str, Mapping[str, str]] | None = None,
    *,
    hidden_only: bool = True,
) -> list[Outcome]:
    """Run each test with the answers of its question (``answers[question][name]``).

    ``problems[question][name]`` says why an answer is missing (not defined, could not
    be exported; key ``"*"``: the whole question); a test reading it fails with that reason.
    """
    problems = problems or {}
    outcomes = []
    for test in tests:
        if hidden_only and not test.hidden:
            continue
        given = answers.get(test.question, {})
        missing = [name for name in test.parameters if name not in given]
        if missing:
            why = problems.get(test.question, {})
            message = "; ".join(
                why.get(name) or why.get("*") or f"`{name}` is not defined" for name in missing
            )
            outcomes.append(Outcome(test.question, test.name, test.points, False, message))
            continue
        try:
            _compile(test)(*(given[name] for name in test.parameters))
        except Exception as error:  # a failed test, whatever it raised
            message = _failure_message(error, test)
            outcomes.append(Outcome(test.question, test.name, test.points, False, message))
        else:
            outcomes.append(Outcome(test.question, test.name, test.points, True))
    return outcomes


def roundtrip(answers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The answers as the test process receives them: through JSON, functions by call.

    What the mutation suite feeds to :func:`run_tests`, so that a generated answer is
    judged exactly as a notebook's exported answer would be.
    """
    functions: dict[str, Callable] = {}

    def register(function: Callable) -> str:
        functions[str(len(functions))] = function
        return str(len(functions) - 1)

    def call(name: str) -> Callable:
        def through_data(*args, **kwargs):
            request = {
                "function": name,
                "args": answer_codec.encode(list(args)),
                "kwargs": answer_codec.encode(kwargs),
            }
            request = json.loads(json.dumps(request))
            result = answer_codec.encode(
                functions[name](
                    *answer_codec.decode(request["args"]), **answer_codec.decode(request["kwargs"])
                )
            )
            return answer_codec.decode(json.loads(json.dumps(result)))

        return through_data

    travelled = {}
    for question, named in answers.items():
        encoded = {
            name: answer_codec.encode(value, on_callable=register) for name, value in named.items()
        }
        encoded = json.loads(json.dumps(encoded))
        travelled[question] = {
            name: answer_codec.decode(node, call=call) for name, node in encoded.items()
        }
    return travelled
