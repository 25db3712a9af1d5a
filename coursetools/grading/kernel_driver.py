"""Runs in the student's sandbox: execute the notebook, export its answers, answer calls.

``python -m coursetools.grading.kernel_driver plan.json``, where the plan (written by
the grader) names the notebook, the answers folder and, per question, the answers its
hidden tests read. The driver executes every cell in a Jupyter kernel (errors do not
stop it). Right after a question's check cell (``grader.check("q3")``) it exports
that question's answers (:func:`coursetools.grading.answers.export_question`), so that
later cells cannot change them; a question whose check cell never ran is exported at
the end. Then it reports on the channel (:mod:`~coursetools.grading.protocol`) and
answers function calls -- ``{"function": "q3/name", "args": ..., "kwargs": ...}`` --
by running them in the kernel, until the grader closes the channel.

Nothing here is trusted by the grader: the notebook's code runs in the same sandbox and
may tamper with this process. It can only change the data its own answers are made of.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from coursetools.grading.protocol import open_channel

CHECK_CELL = re.compile(r"""grader\.check\(\s*["']([\w-]+)["']\s*\)""")
REPLY_MARK = "@@course-grading-reply@@"
ANSWERS_MODULE = "coursetools.grading.answers"


def _export_source(question: str, names: list[str], folder: str) -> str:
    return (
        f"__import__({ANSWERS_MODULE!r}, fromlist=['_']).export_question("
        f"{question!r}, {names!r}, globals(), {folder!r})"
    )


def _call_source(request: str) -> str:
    return (
        f"print({REPLY_MARK!r} + __import__({ANSWERS_MODULE!r}, fromlist=['_'])"
        f".respond({request!r}))"
    )


def _errors(cell) -> list[str]:
    return [
        f"{output.get('ename')}: {str(output.get('evalue'))[:200]}"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _stream_text(cell) -> str:
    return "".join(
        output.get("text", "")
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


class Driver:
    """The kernel that runs the notebook, and the cells the grader adds to it."""

    def __init__(self, notebook: nbformat.NotebookNode, cell_timeout: float | None):
        self.notebook = notebook
        self.client = NotebookClient(
            notebook,
            kernel_name="python3",
            allow_errors=True,
            timeout=cell_timeout,
            resources={"metadata": {"path": str(Path.cwd())}},
        )

    def run(self, source: str):
        """Execute extra code in the kernel; the executed cell (with outputs)."""
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        return cell


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    channel = open_channel()
    plan = json.loads(Path((argv or sys.argv[1:])[0]).read_text(encoding="utf-8"))
    questions: dict[str, list[str]] = plan["questions"]
    folder = plan["answers"]
    notebook = nbformat.read(plan["notebook"], as_version=4)
    driver = Driver(notebook, plan.get("cell_timeout"))
    errors: list[str] = []
    exported: dict[str, str] = {}
    with driver.client.setup_kernel():
        try:
            for index, cell in enumerate(list(notebook.cells)):
                if cell.cell_type != "code":
                    continue
                driver.client.execute_cell(cell, index)
                errors += _errors(cell)
                for question in CHECK_CELL.findall(cell.source):
                    if question in questions:
                        driver.run(_export_source(question, questions[question], folder))
                        exported[question] = "check cell"
            for question, names in questions.items():
                if question not in exported:
                    driver.run(_export_source(question, names, folder))
                    exported[question] = "end of notebook"
        except Exception as error:  # the kernel died or a cell ran out of time
            errors.append(f"{type(error).__name__}: {str(error)[:200]}")
        channel.send({"ready": True, "errors": errors[:20], "exported": exported})
        while (request := channel.receive()) is not None:
            try:
                stream = _stream_text(driver.run(_call_source(json.dumps(request))))
            except Exception as error:
                stream = REPLY_MARK + json.dumps({"error": f"{type(error).__name__}: {error}"})
            replies = [
                line[len(REPLY_MARK) :]
                for line in stream.splitlines()
                if line.startswith(REPLY_MARK)
            ]
            try:
                reply = json.loads(replies[-1])
            except (IndexError, ValueError):
                reply = {"error": "the call gave no readable reply"}
            channel.send(reply if isinstance(reply, dict) else {"error": "malformed reply"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
