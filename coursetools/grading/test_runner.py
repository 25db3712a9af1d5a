"""Runs in a fresh sandboxed interpreter: the hidden tests, on the exported answers.

``python -m coursetools.grading.test_runner <tests> <answers> <max-bytes>`` reads the
autograder's test files from ``<tests>`` and imports the modules those tests import while
the notebook still runs (only those: an assignment without MCMC does not pay for ArviZ).
It waits for the grader's go, then reads each question's answers from
``<answers>/<question>.json`` -- data only (:mod:`coursetools.grading.answers`) -- runs
every hidden test (:func:`coursetools.grading.hidden_tests.run_tests`) and sends the
outcomes to the grader on the channel. This interpreter never imports or runs the
student's code: a function answer is a stand-in that sends the call's arguments to the
grader, which relays them to the student's sandbox and hands back the result as data.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import asdict
from pathlib import Path

from coursetools.grading import answers as answer_codec
from coursetools.grading.hidden_tests import imported_modules, load_tests, run_tests
from coursetools.grading.protocol import Channel, open_channel


class CallError(RuntimeError):
    """A function answer raised, or could not be reached, during a call."""


def _caller(channel: Channel):
    def call(name: str):
        def through_the_grader(*args, **kwargs):
            channel.send(
                {
                    "call": {
                        "function": name,
                        "args": answer_codec.encode(list(args)),
                        "kwargs": answer_codec.encode(kwargs),
                    }
                }
            )
            reply = channel.receive() or {"error": "no reply"}
            if "error" in reply or "result" not in reply:
                raise CallError(f"calling your function raised {reply.get('error')}")
            return answer_codec.decode(reply["result"])

        return through_the_grader

    return call


def _preload(module: str) -> None:
    """Import ``module``, or its parent when the last part names an attribute
    (``from otter.test_files import test_case``); a module missing here is left for the
    test that imports it to report."""
    try:
        importlib.import_module(module)
    except ImportError:
        parent = module.rpartition(".")[0]
        if parent:
            _preload(parent)


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    channel = open_channel()
    tests_dir, answers_dir, max_bytes = (argv or sys.argv[1:])[:3]
    tests = load_tests(Path(tests_dir))
    for module in imported_modules(tests):  # while the notebook runs (started early)
        _preload(module)
    if channel.receive() is None:  # "go": the answers are in place
        return 1
    answers, problems = {}, {}
    for question in dict.fromkeys(test.question for test in tests if test.hidden):
        try:
            answers[question], problems[question] = answer_codec.read_question(
                Path(answers_dir, f"{question}.json"),
                max_bytes=int(max_bytes),
                call=_caller(channel),
            )
        except Exception as error:  # a missing, oversized or malformed answers file
            problems[question] = {"*": f"{question}: {error}"[:300]}
            answers[question] = {}
    outcomes = run_tests(tests, answers, problems)
    channel.send({"results": [asdict(outcome) for outcome in outcomes]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
