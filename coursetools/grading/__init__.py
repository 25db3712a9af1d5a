"""Grade submitted notebooks so that no notebook can forge its grade.

``python -m coursetools.grading <dir> --output grades.csv`` (``make grade``) grades
every submission in a folder into a CSV with one row per student and question.

How a notebook is graded (one module per step):

- :mod:`~coursetools.grading.assignments`: the masters' autograders (built by ``otter
  assign``) and their tests; :mod:`~coursetools.grading.hidden_tests` reads and runs them;
- :mod:`~coursetools.grading.sandbox`: bubblewrap boxes, limits from
  :mod:`~coursetools.grading.settings` applied by :mod:`~coursetools.grading.limits`;
- :mod:`~coursetools.grading.kernel_driver` runs the notebook in the student's box and
  exports each question's answers at its check cell as data
  (:mod:`~coursetools.grading.answers`);
- :mod:`~coursetools.grading.test_runner` runs the hidden tests in a second box that
  never runs student code, calling function answers over
  :mod:`~coursetools.grading.protocol`;
- :mod:`~coursetools.grading.submission` drives both for one file;
  :mod:`~coursetools.grading.intake` reads a class's export (flat folder, nbgrader,
  Canvas, Gradescope, or a zip of one) and :mod:`~coursetools.grading.batch` grades it
  in parallel, resumably;
- :mod:`~coursetools.grading.report` writes the per-question table,
  :mod:`~coursetools.grading.gradebook` one row per student and
  :mod:`~coursetools.grading.feedback` a page per student and a class summary;
  :mod:`~coursetools.grading.cli` is the command line;
- :mod:`~coursetools.grading.gradescope` builds a Gradescope autograder zip per assignment
  (``make autograder``) and grades one submission in Gradescope's ``/autograder`` layout;
- :mod:`~coursetools.grading.mutations`: the catalogues of typical mistakes and
  legitimate alternatives that every graded question is checked against.

Submissions are named ``<student>.ipynb``; the assignment is read from the notebook's
metadata (``otter assign`` writes it), so students may rename the file. Every file gets
a row: a notebook of a known assignment one row per question (0 with the reason when it
could not be graded), anything else a single row with question ``*`` and the reason.
"""

from coursetools.grading.assignments import Assignment, load_assignments
from coursetools.grading.batch import grade_directory
from coursetools.grading.cli import main
from coursetools.grading.report import ALL_PASSED, GradeRow, write_csv
from coursetools.grading.sandbox import Sandbox, detect_sandbox
from coursetools.grading.settings import Limits
from coursetools.grading.submission import NAMING_RULE, grade_file

__all__ = [
    "ALL_PASSED",
    "NAMING_RULE",
    "Assignment",
    "GradeRow",
    "Limits",
    "Sandbox",
    "detect_sandbox",
    "grade_directory",
    "grade_file",
    "load_assignments",
    "main",
    "write_csv",
]
