"""Tests of the release check (coursetools.book): one setting, ``repository.url`` and
``repository.branch`` in ``_config.yml``, drives every public link to the repository.

Expected values come from the files read another way: the setting with PyYAML, its line by
searching the text of ``_config.yml``, links in the pages and install cells with regular
expressions, the workflow with PyYAML and the Makefile as text. The release check is run on
temporary copies of the book, never on the real ``_config.yml``.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from coursetools import book

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
FORK = "https://github.com/some-teacher/hierarchical-course-2027"
GITHUB_REPOSITORY = re.compile(r"https?://github\.com/([\w.-]+)/([\w.-]+)")
REQUIREMENT = re.compile(r'"companion @ git\+(https://[^"]+)\.git@([^"]+)"')
PUBLIC_TEXT = [REPO / "README.md", *sorted((REPO / "book").glob("*.md"))]


def _owner_name(url: str) -> tuple[str, str]:
    owner, name = GITHUB_REPOSITORY.match(url).groups()
    return owner.lower(), name.lower().removesuffix(".git")


def _url_line(text: str) -> int:
    """The line of ``url:`` in the ``repository:`` block, found by reading the text."""
    lines = text.splitlines()
    start = lines.index("repository:")
    return next(n for n, line in enumerate(lines[start:], start + 1) if line.strip()[:4] == "url:")


def _book_copy(tmp_path: Path, url: str) -> Path:
    """The book's config, toc, README and chapters (with their committed launch notebooks)
    in ``tmp_path``, with ``repository.url`` set to ``url``."""
    for name in ("_toc.yml", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "book").mkdir()
    for path in (REPO / "book").glob("*.md"):
        shutil.copy(path, tmp_path / "book" / path.name)
        if path.with_suffix(".ipynb").exists():
            shutil.copy(path.with_suffix(".ipynb"), tmp_path / "book" / f"{path.stem}.ipynb")
    text = (REPO / "_config.yml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    number = _url_line(text)
    lines[number - 1] = f"  url: {url}\n"
    (tmp_path / "_config.yml").write_text("".join(lines), encoding="utf-8")
    assert yaml.safe_load("".join(lines))["repository"]["url"] == url
    return tmp_path


def test_placeholder_fails_naming_the_config_line(tmp_path):
    """With the placeholder as repository.url, the check reports one problem, naming
    _config.yml and the line of url: in its repository block."""
    root = _book_copy(tmp_path, "https://github.com/partial-pooling/hierarchical-course")
    line = _url_line((root / "_config.yml").read_text(encoding="utf-8"))
    problems = book.release_problems(root)
    assert len(problems) == 1
    assert problems[0].startswith(f"_config.yml:{line}: repository.url is still the placeholder")


def test_a_url_that_is_not_https_fails_too(tmp_path):
    """A URL pip cannot install from (ssh) is reported at the same line."""
    root = _book_copy(tmp_path, "git@github.com:some-teacher/course.git")
    line = _url_line((root / "_config.yml").read_text(encoding="utf-8"))
    assert book.release_problems(root) == [
        f"_config.yml:{line}: repository.url is not an https:// URL "
        "(git@github.com:some-teacher/course): set it (and repository.branch) to your fork, "
        "then `make launch-notebooks`"
    ]


def test_a_fork_passes_once_its_launch_notebooks_are_regenerated(tmp_path):
    """A real URL with the committed launch notebooks (which install from the old URL)
    fails, naming each notebook; after regenerating them the check passes."""
    root = _book_copy(tmp_path, FORK + "/")
    stale = {problem.split(":")[0] for problem in book.release_problems(root)}
    assert stale == {path.relative_to(root).as_posix() for path in (root / "book").glob("*.ipynb")}
    assert stale  # the course has launch notebooks
    book.write_launch_notebooks(root)
    assert book.release_problems(root) == []
    first_cell = (root / "book" / "pooling.ipynb").read_text(encoding="utf-8")
    assert f"companion @ git+{FORK}.git@main" in first_cell


def test_a_page_still_linking_to_the_placeholder_fails_naming_its_line(tmp_path):
    """After a fork sets its URL, a README line linking to the placeholder is reported."""
    root = _book_copy(tmp_path, FORK)
    book.write_launch_notebooks(root)
    readme = root / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "Clone https://github.com/Partial-Pooling/hierarchical-course.git")
    readme.write_text("\n".join(lines), encoding="utf-8")
    assert book.release_problems(root) == [f"README.md:3: links to the placeholder, not {FORK}"]


def test_check_release_command_exit_status(tmp_path, monkeypatch, capsys):
    """`python -m coursetools.book check-release` exits 1 with the problem on stderr for the
    placeholder, and 0 for a fork with current launch notebooks."""
    monkeypatch.setattr(book, "REPO", _book_copy(tmp_path, book.PLACEHOLDER_REPOSITORY_URL))
    assert book.main(["check-release"]) == 1
    assert "error: _config.yml:" in capsys.readouterr().err
    (tmp_path / "_config.yml").write_text(
        (tmp_path / "_config.yml")
        .read_text(encoding="utf-8")
        .replace(book.PLACEHOLDER_REPOSITORY_URL, FORK),
        encoding="utf-8",
    )
    book.write_launch_notebooks(tmp_path)
    assert book.main(["check-release"]) == 0
    assert FORK in capsys.readouterr().out


def test_the_shipped_setting_is_the_placeholder_constant():
    """The placeholder constant names the URL the course ships with, until a fork changes it
    (then this test is skipped)."""
    url = CONFIG["repository"]["url"]
    if _owner_name(url) != ("partial-pooling", "hierarchical-course"):
        pytest.skip("a fork: _config.yml names its own repository")
    assert book.PLACEHOLDER_REPOSITORY_URL == url


@pytest.mark.parametrize("path", PUBLIC_TEXT, ids=lambda path: path.name)
def test_every_link_to_the_repository_in_the_pages_agrees_with_the_setting(path):
    """Each GitHub link in README.md and book/*.md to the course's repository (the setting's
    or the placeholder's owner or name) is the setting's repository."""
    setting = _owner_name(CONFIG["repository"]["url"])
    ours = {*setting, *_owner_name(book.PLACEHOLDER_REPOSITORY_URL)}
    for match in GITHUB_REPOSITORY.finditer(path.read_text(encoding="utf-8")):
        linked = _owner_name(match[0].rstrip("."))
        if ours.intersection(linked):
            assert linked == setting, f"{path.name}: {match[0]}"


def test_the_install_cell_installs_from_the_setting():
    """The launch notebooks' install cell pip-installs the companion from repository.url at
    repository.branch, whatever the spelling of the URL in _config.yml (trailing / or .git)."""
    url, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    for spelling in (url, url + "/", url + ".git"):
        source = book.install_cell_source(spelling, branch=branch)
        assert REQUIREMENT.findall(source) == [(url.removesuffix("/").removesuffix(".git"), branch)]


def test_readme_and_instructor_guide_say_where_the_setting_is():
    """README.md and the instructor's guide tell a fork to set repository.url in _config.yml
    and name the release check."""
    for path in (REPO / "README.md", REPO / "book" / "instructor_guide.md"):
        text = " ".join(path.read_text(encoding="utf-8").split())
        assert "set `repository.url` (and `branch`" in text, path.name
        assert "`_config.yml`" in text and "make release-check" in text, path.name


def test_release_check_runs_before_publishing_but_not_in_make_test():
    """The Pages workflow runs `make release-check` before building; `make test` does not
    depend on it (the course ships with the placeholder)."""
    steps = yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text())["jobs"]["build"][
        "steps"
    ]
    runs = [step.get("run", "") for step in steps]
    assert runs.index("make release-check") < runs.index("make book")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^release-check:", makefile, flags=re.MULTILINE)
    test_prerequisites = re.search(r"^test:([^#\n]*)", makefile, flags=re.MULTILINE)[1]
    assert "release-check" not in test_prerequisites.split()
