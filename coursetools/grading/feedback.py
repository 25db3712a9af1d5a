"""What goes back to students and what the instructor looks at: HTML, self-contained.

- :func:`write_feedback`: one page per student with each question's score and reason
  (reasons can contain the student's own text, so everything is escaped);
- :func:`write_summary`: the class summary, each question's score distribution as an
  embedded PNG, flagging questions almost nobody passed (:data:`LOW_PASS_RATE`: a broken
  test?) and questions everybody passed (does the test check anything?).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from coursetools.grading.hidden_tests import natural_key
from coursetools.grading.report import GradeRow

__all__ = ["LOW_PASS_RATE", "MIN_FOR_FLAGS", "question_stats", "write_feedback", "write_summary"]

LOW_PASS_RATE = 0.1
"""A question passed in full by at most this share of graded notebooks is flagged."""
MIN_FOR_FLAGS = 3
"""Questions are flagged only when at least this many notebooks were graded."""

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .35rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
tr.full td.num { color: #1a7f37; } tr.part td.num { color: #9a6700; }
tr.zero td.num { color: #cf222e; }
.reason { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .9rem; }
.flag { color: #cf222e; font-weight: 600; } .flag.all { color: #9a6700; }
img { max-width: 100%; }
figure { display: inline-block; vertical-align: top; margin: 0 1.5rem 1.5rem 0; }
figcaption { text-align: center; font-size: .9rem; max-width: 320px; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _slug(student: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._")[:80]
    return slug or "student"


def _score_class(score: float, possible: float) -> str:
    return "full" if score >= possible else "zero" if score <= 0 else "part"


def _feedback_body(student: str, rows: Sequence[GradeRow]) -> str:
    first = rows[0]
    who = " · ".join(escape(v) for v in (first.name, first.email, first.student_id) if v)
    parts = [f"<h1>Feedback for {escape(student)}</h1>"]
    if who:
        parts.append(f"<p>{who}</p>")
    by_assignment: dict[str, list[GradeRow]] = {}
    for row in rows:
        by_assignment.setdefault(row.assignment, []).append(row)
    for assignment, own in by_assignment.items():
        graded = [r for r in own if r.max_score is not None]
        other = [r for r in own if r.max_score is None]
        if graded:
            total = sum(r.score for r in graded)
            possible = sum(r.max_score or 0.0 for r in graded)
            late = " (submitted late)" if any(r.late for r in graded) else ""
            parts.append(
                f"<h2>{escape(assignment)}: {total:g} / {possible:g}{escape(late)}</h2>"
                f"<p>Graded file: <code>{escape(graded[0].source or graded[0].file)}</code></p>"
                "<table><thead><tr><th>question</th><th>score</th><th>what the tests found"
                "</th></tr></thead><tbody>"
            )
            for row in sorted(graded, key=lambda r: natural_key(r.question)):
                cls = _score_class(row.score, row.max_score or 0.0)
                parts.append(
                    f'<tr class="{cls}"><td>{escape(row.question)}</td>'
                    f'<td class="num">{row.score:g} / {row.max_score or 0:g}</td>'
                    f'<td class="reason">{escape(row.reason)}</td></tr>'
                )
            parts.append("</tbody></table>")
        if other:
            heading = escape(assignment) if assignment and not graded else "Other files"
            parts.append(f"<h2>{heading}</h2><ul>")
            for row in other:
                parts.append(
                    f"<li><code>{escape(row.source or row.file)}</code>: "
                    f'<span class="reason">{escape(row.reason)}</span></li>'
                )
            parts.append("</ul>")
    return "\n".join(parts)


def write_feedback(rows: Sequence[GradeRow], folder: Path) -> dict[str, Path]:
    """Write ``folder/<student>.html`` for every student in ``rows``; returns the paths.

    File names keep letters, digits, ``.``, ``_`` and ``-`` of the student's id (a number
    is appended when two ids map to the same name).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[GradeRow]] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    written: dict[str, Path] = {}
    used: set[str] = set()
    for student, own in by_student.items():
        slug = base = _slug(student)
        count = 1
        while slug.lower() in used:
            count += 1
            slug = f"{base}-{count}"
        used.add(slug.lower())
        path = folder / f"{slug}.html"
        path.write_text(_page(f"Feedback: {student}", _feedback_body(student, own)), "utf-8")
        written[student] = path
    return written


def question_stats(rows: Sequence[GradeRow]) -> list[dict]:
    """Per assignment and question: scores, share of full marks, and a flag ('' if none)."""
    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row in rows:
        if row.max_score is not None:
            scores.setdefault((row.assignment, row.question), []).append((row.score, row.max_score))
    stats = []
    for (assignment, question), found in sorted(
        scores.items(), key=lambda item: (item[0][0], natural_key(item[0][1]))
    ):
        values = [score for score, _ in found]
        possible = max(top for _, top in found)
        passed = sum(score >= top for score, top in found) / len(found)
        flag = ""
        if len(found) >= MIN_FOR_FLAGS and possible > 0:
            if passed <= LOW_PASS_RATE:
                flag = "almost nobody passed: a broken test?"
            elif passed == 1.0:
                flag = "everybody passed: does the test check anything?"
        stats.append(
            {
                "assignment": assignment,
                "question": question,
                "scores": values,
                "max_score": possible,
                "n": len(found),
                "mean": sum(values) / len(values),
                "passed": passed,
                "flag": flag,
            }
        )
    return stats


def _histogram_png(values: list[float], possible: float) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(3.2, 2.0), dpi=100, layout="constrained")
    ax = figure.add_subplot()
    levels = sorted(set(values) | {0.0, possible})
    counts = [sum(v == level for v in values) for level in levels]
    ax.bar([f"{level:g}" for level in levels], counts, color="#4c72b0")
    ax.set_xlabel("score")
    ax.set_ylabel("notebooks")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 notebooks
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_summary(rows: Sequence[GradeRow], output: Path, *, title: str = "Class summary") -> Path:
    """Write the class summary page to ``output``; returns it."""
    stats = question_stats(rows)
    students = {row.student for row in rows}
    graded = {row.student for row in rows if row.max_score is not None}
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(students)} students, {len(graded)} with a graded notebook.</p>",
        "<table><thead><tr><th>assignment</th><th>question</th><th>graded</th><th>mean</th>"
        "<th>full marks</th><th>flag</th></tr></thead><tbody>",
    ]
    for item in stats:
        cls = "flag all" if item["flag"].startswith("everybody") else "flag"
        parts.append(
            f"<tr><td>{escape(item['assignment'])}</td><td>{escape(item['question'])}</td>"
            f'<td class="num">{item["n"]}</td>'
            f'<td class="num">{item["mean"]:.2f} / {item["max_score"]:g}</td>'
            f'<td class="num">{100 * item["passed"]:.0f}%</td>'
            f'<td class="{cls}">{escape(item["flag"])}</td></tr>'
        )
    parts.append("</tbody></table><h2>Score distributions</h2>")
    for item in stats:
        label = f"{item['assignment']} {item['question']}"
        png = _histogram_png(item["scores"], item["max_score"])  # the caption names it
        parts.append(
            f'<figure><img alt="score distribution of {escape(label)}" '
            f'src="data:image/png;base64,{png}"><figcaption>{escape(label)}'
            f"{': ' + escape(item['flag']) if item['flag'] else ''}</figcaption></figure>"
        )
    problems = [r for r in rows if r.max_score is None]
    if problems:
        parts.append("<h2>Files not graded</h2><ul>")
        for row in problems:
            parts.append(
                f"<li>{escape(row.student)}: <code>{escape(row.source or row.file)}</code>: "
                f"{escape(row.reason)}</li>"
            )
        parts.append("</ul>")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(_page(title, "\n".join(parts)), encoding="utf-8")
    return output
