"""Tests of coursetools.exercises: the committed notebooks are in sync with their masters.

The slow check regenerates the notebooks from ``assignments/`` with otter assign but does
not execute the solutions (``--check --no-execute``): their outputs are compared by nbval
(``make notebooks``), which checks every output a solution keeps, and the grading tests
show that every solution scores full marks; executing them here as well cost about 30 s
each. The rest test the normalisation that makes regeneration deterministic on small
notebooks built here. (That the blank student notebook runs without error is checked
where it is graded, in ``test_grading.py``.)
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursetools import exercises
from coursetools.exercises import REPO_ROOT, VOLATILE_TAG

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")

MASTER = REPO_ROOT / "assignments" / "01-pooling.ipynb"
EXERCISE = REPO_ROOT / "exercises" / "01-pooling.ipynb"
SOLUTION = REPO_ROOT / "solutions" / "01-pooling.ipynb"


@pytest.mark.slow
def test_regenerating_the_notebooks_produces_no_diff():
    """`python -m coursetools.exercises --check --no-execute` regenerates every master and
    finds no difference but the solutions' outputs."""
    completed = subprocess.run(
        [sys.executable, "-m", "coursetools.exercises", "--check", "--no-execute"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "in sync" in completed.stdout


def test_committed_notebooks_have_the_expected_outputs():
    """Solutions store outputs for nbval-checked cells, none for MCMC and check cells;
    the student notebook stores no outputs and no nbval markers."""
    solution = nbformat.read(SOLUTION, as_version=4)
    code = [cell for cell in solution.cells if cell.cell_type == "code"]
    checked = [cell for cell in code if "# NBVAL_CHECK_OUTPUT" in cell.source]
    assert len(checked) >= 3 and all(cell.outputs for cell in checked)
    volatile = [cell for cell in code if VOLATILE_TAG in cell.metadata.get("tags", [])]
    assert volatile and not any(cell.outputs for cell in volatile)
    assert any("sampling.sample(" in cell.source for cell in volatile)
    checks = [cell for cell in code if cell.source.startswith("grader.check")]
    assert len(checks) == 6 and not any(cell.outputs for cell in checks)
    assert "# SOLUTION" not in "".join(cell.source for cell in code)

    student = nbformat.read(EXERCISE, as_version=4)
    student_code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert not any(cell.outputs for cell in student_code)
    assert not any("NBVAL" in cell.source for cell in student_code)
    assert "pooled_estimate = ...\n" in "\n".join(cell.source + "\n" for cell in student_code)
    assert student.metadata["otter"]["assignment_name"] == "01-pooling"
    assert "version" not in str(student.metadata.get("language_info", {}))


def _notebook_with_noise() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "x", "language": "python"}
    nb.metadata["otter"] = {"assignment_name": "a"}
    checked = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)")
    checked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
    ]
    plain = nbformat.v4.new_code_cell("x = 2\nx")
    plain.metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    plain.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
    ]
    volatile = nbformat.v4.new_code_cell("idata = fit()")
    volatile.metadata["tags"] = [VOLATILE_TAG]
    volatile.outputs = [nbformat.v4.new_output("stream", name="stdout", text="sampled\n")]
    check = nbformat.v4.new_code_cell('grader.check("q1")')
    check.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "passed! 🎉"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), checked, plain, volatile, check]
    return nb


def test_normalise_keeps_only_reproducible_outputs():
    """Solution mode keeps checked and plain outputs, drops volatile, check and stray stderr."""
    nb = exercises.normalise_notebook(_notebook_with_noise(), keep_outputs=True)
    _, checked, plain, volatile, check = nb.cells
    assert [out.get("name") for out in checked.outputs] == ["stdout", "stderr"]
    assert [out.output_type for out in plain.outputs] == ["execute_result"]
    assert "execution" not in plain.metadata
    assert volatile.outputs == [] and check.outputs == []
    assert "version" not in nb.metadata["language_info"]
    assert nb.metadata["otter"] == {"assignment_name": "a"}


def test_every_kept_output_is_compared_by_nbval():
    """Each solution cell that keeps an output is marked for nbval, by its comment or by
    the tag; a cell whose outputs are all dropped is not tagged."""
    nb = exercises.normalise_notebook(_notebook_with_noise(), keep_outputs=True)
    _, checked, plain, volatile, check = nb.cells
    assert exercises.NBVAL_CHECK_TAG not in checked.metadata.get("tags", [])
    assert plain.metadata["tags"] == [exercises.NBVAL_CHECK_TAG]
    assert volatile.metadata["tags"] == [VOLATILE_TAG]
    assert "tags" not in check.metadata
    for path in sorted((REPO_ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.outputs:
                marked = "# NBVAL_CHECK_OUTPUT" in cell.source
                tagged = exercises.NBVAL_CHECK_TAG in cell.metadata.get("tags", [])
                assert marked or tagged, f"{path.name}: {cell.source[:60]!r} is not compared"


def test_without_outputs_is_the_unexecuted_solution():
    """Stripping a normalised, executed solution gives the normalised unexecuted one."""
    executed = _notebook_with_noise()
    unexecuted = _notebook_with_noise()
    for cell in unexecuted.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    normalised = exercises.normalise_notebook(executed, keep_outputs=True)
    expected = exercises.normalise_notebook(unexecuted, keep_outputs=True)
    assert normalised.cells[2].outputs  # the executed one had outputs to strip
    text = nbformat.writes(normalised) + "\n"
    assert exercises.without_outputs(text) == nbformat.writes(expected) + "\n"


def test_no_execute_needs_check():
    """Generating without executing would lose the solutions' outputs: refused."""
    with pytest.raises(SystemExit):
        exercises.main(["--no-execute"])


def test_normalise_student_mode_drops_outputs_and_markers():
    """Student mode drops every output and the nbval markers, keeping the code."""
    nb = exercises.normalise_notebook(_notebook_with_noise(), keep_outputs=False)
    assert all(cell.outputs == [] for cell in nb.cells if cell.cell_type == "code")
    assert nb.cells[1].source == "print(1)"


def test_normalise_gives_content_based_unique_ids():
    """Cell ids depend on the contents only, so two runs give the same ids, all unique."""
    first = _notebook_with_noise()
    second = _notebook_with_noise()
    second.cells.append(nbformat.v4.new_markdown_cell("# Title"))  # a duplicate cell
    ids_first = [c.id for c in exercises.normalise_notebook(first, keep_outputs=True).cells]
    ids_second = [c.id for c in exercises.normalise_notebook(second, keep_outputs=True).cells]
    assert ids_second[: len(ids_first)] == ids_first
    assert len(set(ids_second)) == len(ids_second)
    assert ids_first != [c.id for c in first.cells]


def test_strip_solution_markers():
    """otter's solution markers disappear from the solution notebook's code."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
            "x = f()  # SOLUTION\ny = 2  # SOLUTION NO PROMPT"
        )
    ]
    stripped = exercises.strip_solution_markers(nb)
    assert stripped.cells[0].source == "def f():\n    return 1\nx = f()\ny = 2"


def test_check_mode_reports_out_of_sync_notebooks(tmp_path, monkeypatch, capsys):
    """--check exits 1 and names the stale notebook; 0 once the files match."""
    (tmp_path / "assignments").mkdir()
    shutil.copyfile(MASTER, tmp_path / "assignments" / MASTER.name)

    def fake_generate(master, *, autograder_dir, execute=True):
        return exercises.GeneratedNotebooks(
            name=Path(master).stem,
            student="student\n",
            solution="solution\n",
            autograder=Path(autograder_dir) / "a.zip",
        )

    monkeypatch.setattr(exercises, "generate", fake_generate)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "01-pooling.ipynb").write_text("stale\n")
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 1
    report = capsys.readouterr().out
    assert "exercises/01-pooling.ipynb: out of date" in report
    assert "solutions/01-pooling.ipynb: missing" in report
    assert exercises.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "solutions" / "01-pooling.ipynb").read_text() == "solution\n"
    assert exercises.main(["--check", "--root", str(tmp_path)]) == 0


def test_ensure_autograder_rebuilds_only_when_stale(tmp_path, monkeypatch):
    """The autograder zip is reused while the master is unchanged and rebuilt after an edit."""
    builds = []

    def fake_otter_assign(master, result_dir):
        builds.append(master)
        (result_dir / "autograder").mkdir(parents=True)
        (result_dir / "autograder" / f"{master.stem}-autograder_2024.zip").write_bytes(b"zip")

    monkeypatch.setattr(exercises, "_run_otter_assign", fake_otter_assign)
    master = tmp_path / MASTER.name
    shutil.copyfile(MASTER, master)
    built = exercises.ensure_autograder(master, tmp_path / "build")
    assert built == tmp_path / "build" / "01-pooling-autograder.zip" and built.is_file()
    exercises.ensure_autograder(master, tmp_path / "build")
    assert len(builds) == 1
    nb = nbformat.read(master, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("An edit."))
    nbformat.write(nb, master)
    exercises.ensure_autograder(master, tmp_path / "build")
    assert len(builds) == 2


def test_a_master_otter_rejects_gives_an_error_naming_it(tmp_path):
    """otter assign runs in this process; a master it cannot read raises a RuntimeError
    naming the master and what otter said, not an exception from inside otter."""
    master = tmp_path / "broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: broken"),
                nbformat.v4.new_code_cell("x = 1")]  # fmt: skip
    nbformat.write(nb, master)
    with pytest.raises(RuntimeError, match=r"otter assign failed on .*broken\.ipynb: \w+"):
        exercises._run_otter_assign(master, tmp_path / "out")
