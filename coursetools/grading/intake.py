"""Read the exports instructors download: which file is whose, and which attempt counts.

Layouts (``detect_layout`` picks one; ``--layout`` forces it):

- ``flat``: a folder of ``<student>.ipynb`` (the student is the file name);
- ``nbgrader``: ``submitted/<student>/<assignment>/<notebook>.ipynb`` (the folder may be
  ``submitted`` itself or hold it; ``timestamp.txt`` gives the submission time);
- ``canvas``: a Canvas bulk download,
  ``<login>_[LATE_]<userid>_<submissionid>_<original name>[-N].ipynb``; Canvas renames a
  file uploaded again under the same name ``name-1``, ``name-2``: attempts 2, 3;
- ``gradescope``: ``submission_metadata.yml`` and a ``submission_<id>/`` folder per
  submission; each submitter of a group submission gets their own rows.

Any of these may come as a ``.zip``: :func:`open_export` extracts it member by member into a
temporary folder, refusing (with the reason) members that would land outside it (``..``,
absolute paths, drive letters), symbolic links and oversized members, and the whole archive
when it has too many members or expands beyond :data:`MAX_ZIP_BYTES` (counted while
extracting, so a lying header does not help a zip bomb).

Every file found becomes a :class:`Submission`; a file the layout does not explain keeps a
``problem`` and gets a row with that reason. :data:`DUPLICATE_RULE`: when a student has
several notebooks for one assignment, the latest attempt is graded and the others are
reported as superseded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

__all__ = [
    "DUPLICATE_RULE",
    "LAYOUTS",
    "MAX_ZIP_BYTES",
    "MAX_ZIP_MEMBERS",
    "Export",
    "Layout",
    "Submission",
    "UnsafeArchive",
    "apply_duplicate_rule",
    "detect_layout",
    "extract_zip",
    "open_export",
    "read_export",
]

Layout = Literal["auto", "flat", "nbgrader", "canvas", "gradescope"]
LAYOUTS: tuple[str, ...] = ("auto", "flat", "nbgrader", "canvas", "gradescope")
DUPLICATE_RULE = "the latest attempt counts; earlier ones are reported as superseded"
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_BYTES = 4 * 2**30
MAX_MEMBER_BYTES = 200 * 2**20
GRADESCOPE_METADATA = "submission_metadata.yml"
NBGRADER_EXTRAS = {"timestamp.txt"}
NBGRADER_COURSE = {
    "source", "release", "autograded", "feedback", "feedback_cache", "exchange",
    "gradebook.db", "nbgrader_config.py", "header.ipynb",
}  # fmt: skip
CANVAS_NAME = re.compile(
    r"^(?P<login>[^_/]+)_(?P<late>LATE_)?(?P<userid>\d+)_(?P<submission>\d+)_"
    r"(?P<original>.+?)(?:-(?P<again>\d+))?(?P<suffix>\.[A-Za-z0-9]+)?$"
)


class UnsafeArchive(ValueError):
    """A zip archive refused as a whole (too many members, or expands too far)."""


@dataclass
class Submission:
    """One file of an export, with whose it is.

    ``student`` is ``None`` in the flat layout, where the file name is the student (and
    the grader checks its naming rule). ``problem`` is set when the file cannot be graded
    at all (its row carries it as the reason); ``superseded_by`` when a later attempt of
    the same student counts instead (:data:`DUPLICATE_RULE`).
    """

    path: Path | None
    source: str
    student: str | None
    student_id: str = ""
    name: str = ""
    email: str = ""
    late: bool | None = None
    attempt: int | None = None
    order: tuple = ()
    assignment_hint: str = ""
    problem: str = ""
    superseded_by: str = ""
    group: str = ""

    @property
    def key(self) -> str:
        """The student this submission counts for."""
        return self.student if self.student is not None else (self.path or Path(self.source)).stem


@dataclass
class Export:
    """What :func:`read_export` found: the layout and every submission, in order."""

    layout: str
    submissions: list[Submission] = field(default_factory=list)


# ------------------------------------------------------------------------------------ zips


def _member_problem(info: zipfile.ZipInfo) -> str:
    name = info.filename
    mode = info.external_attr >> 16
    if "\x00" in name:
        return "a member name with a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    parts = re.split(r"[\\/]+", name)
    if ".." in parts:
        return "a path leaving the archive ('..')"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"too large ({info.file_size / 2**20:.0f} MiB > {MAX_MEMBER_BYTES // 2**20} MiB)"
    return ""


def extract_zip(
    archive: Path,
    target: Path,
    *,
    max_members: int = MAX_ZIP_MEMBERS,
    max_bytes: int = MAX_ZIP_BYTES,
) -> list[tuple[str, str]]:
    """Extract ``archive`` into the existing folder ``target``, member by member.

    Returns the refused members as ``(name, reason)``; raises :class:`UnsafeArchive` when
    the archive is refused as a whole (more than ``max_members`` members, or more than
    ``max_bytes`` uncompressed, declared or actually read) and ``ValueError`` when it is
    not a zip archive. Nothing is ever written outside ``target``.
    """
    target = Path(target).resolve()
    try:
        handle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"not a readable zip archive ({error})") from error
    refused: list[tuple[str, str]] = []
    with handle:
        members = handle.infolist()
        if len(members) > max_members:
            raise UnsafeArchive(f"zip refused: {len(members)} members > {max_members}")
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            raise UnsafeArchive(
                f"zip refused: expands to {declared / 2**20:.0f} MiB > {max_bytes / 2**20:.0f} MiB"
            )
        written = 0
        for info in members:
            problem = _member_problem(info)
            if problem:
                refused.append((info.filename, problem))
                continue
            relative = PurePosixPath(*[p for p in re.split(r"[\\/]+", info.filename) if p])
            if not relative.parts or relative.parts[0] == "__MACOSX":
                continue
            destination = target.joinpath(*relative.parts)
            if not destination.resolve().is_relative_to(target):
                refused.append((info.filename, "a path leaving the archive"))
                continue
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.parent.resolve().is_relative_to(target):
                refused.append((info.filename, "a path leaving the archive"))
                continue
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            try:
                descriptor = os.open(destination, flags, 0o600)
            except FileExistsError:
                refused.append((info.filename, "a duplicate member name"))
                continue
            member_bytes, corrupt = 0, ""
            with os.fdopen(descriptor, "wb") as out:
                try:
                    with handle.open(info) as source:
                        while chunk := source.read(1 << 20):
                            member_bytes += len(chunk)
                            written += len(chunk)
                            if written > max_bytes:
                                raise UnsafeArchive(
                                    f"zip refused: expands beyond {max_bytes / 2**20:.0f} MiB"
                                )
                            if member_bytes > MAX_MEMBER_BYTES:
                                corrupt = "too large"
                                break
                            out.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
                    corrupt = f"a corrupt member ({error})"[:200]
                except RuntimeError as error:  # encrypted
                    corrupt = f"an unreadable member ({error})"[:200]
            if corrupt:
                destination.unlink()
                refused.append((info.filename, corrupt))
    return refused


@contextlib.contextmanager
def open_export(
    source: Path, *, scratch: Path | None = None, max_bytes: int = MAX_ZIP_BYTES
) -> Iterator[tuple[Path, list[tuple[str, str]]]]:
    """The folder to read ``source`` from (extracted to a temporary folder if a zip),
    with the refused zip members; the temporary folder is removed afterwards.

    Raises :class:`UnsafeArchive` or ``ValueError`` for an archive refused as a whole.
    """
    source = Path(source)
    if source.is_dir():
        yield source, []
        return
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=scratch))
    try:
        refused = extract_zip(source, folder, max_bytes=max_bytes)
        yield folder, refused
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------- layouts


def _visible(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"),
        key=lambda p: p.name,
    )


def _unwrap(root: Path) -> Path:
    """Descend through folders that hold nothing but one folder (a zip of a folder)."""
    while True:
        entries = _visible(root)
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            if entries[0].name == "submitted":
                return root
            root = entries[0]
        else:
            return root


def _is_nbgrader(root: Path) -> bool:
    submitted = root / "submitted"
    if submitted.is_dir() and not submitted.is_symlink():
        return True
    students = [p for p in _visible(root) if p.is_dir() and not p.is_symlink()]
    if not students or len(students) < len(_visible(root)):
        return False
    return all(any(a.is_dir() and any(a.glob("*.ipynb")) for a in _visible(s)) for s in students)


def detect_layout(root: Path) -> str:
    """The layout of the export folder ``root`` (after :func:`open_export`)."""
    root = _unwrap(Path(root))
    if (root / GRADESCOPE_METADATA).is_file():
        return "gradescope"
    if _is_nbgrader(root):
        return "nbgrader"
    files = [p for p in _visible(root) if p.is_file()]
    canvas = [p for p in files if CANVAS_NAME.match(p.name)]
    if files and len(canvas) * 2 > len(files):
        return "canvas"
    return "flat"


def _relative(path: Path, root: Path, prefix: str) -> str:
    return prefix + path.relative_to(root).as_posix()


def _peek_assignment(path: Path) -> str:
    """The otter assignment name in a notebook's metadata, or '' (cheap; never raises)."""
    try:
        if path.is_symlink() or path.stat().st_size > 50 * 2**20:
            return ""
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name", "")
        return name if isinstance(name, str) else ""
    except (OSError, ValueError, AttributeError):
        return ""


def _flat(root: Path, prefix: str) -> list[Submission]:
    return [
        Submission(path=p, source=_relative(p, root, prefix), student=None) for p in _visible(root)
    ]


def _nbgrader(root: Path, prefix: str) -> list[Submission]:
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found = []
    for top in _visible(root):
        if top != base and base != root and top.name not in NBGRADER_COURSE:
            found.append(
                Submission(
                    path=top,
                    source=_relative(top, root, prefix),
                    student=top.stem,
                    problem="not part of an nbgrader export (expected submitted/<student>/...)",
                )
            )
    for student in _visible(base):
        if not student.is_dir() or student.is_symlink():
            found.append(
                Submission(
                    path=student,
                    source=_relative(student, root, prefix),
                    student=student.stem,
                    problem="expected a folder submitted/<student>/<assignment>/",
                )
            )
            continue
        for assignment in _visible(student):
            if not assignment.is_dir() or assignment.is_symlink():
                found.append(
                    Submission(
                        path=assignment,
                        source=_relative(assignment, root, prefix),
                        student=student.name,
                        problem="expected a folder <student>/<assignment>/ holding the notebook",
                    )
                )
                continue
            stamp = assignment / "timestamp.txt"
            when = stamp.read_text(errors="replace").strip()[:64] if stamp.is_file() else ""
            for path in sorted(p for p in assignment.rglob("*") if not p.is_dir()):
                relative = path.relative_to(assignment)
                if path.name in NBGRADER_EXTRAS or any(
                    part.startswith(".") for part in relative.parts
                ):
                    continue
                found.append(
                    Submission(
                        path=path,
                        source=_relative(path, root, prefix),
                        student=student.name,
                        student_id=student.name,
                        assignment_hint=assignment.name,
                        order=(when,),
                    )
                )
    return found


def _canvas(root: Path, prefix: str) -> list[Submission]:
    found = []
    for path in _visible(root):
        match = CANVAS_NAME.match(path.name)
        if not match or not path.is_file():
            found.append(
                Submission(
                    path=path,
                    source=_relative(path, root, prefix),
                    student=path.stem,
                    problem="not a Canvas submission name "
                    "(<login>_[LATE_]<userid>_<submissionid>_<file>)",
                )
            )
            continue
        attempt = int(match["again"]) + 1 if match["again"] else 1
        found.append(
            Submission(
                path=path,
                source=_relative(path, root, prefix),
                student=match["login"],
                student_id=match["userid"],
                late=bool(match["late"]),
                attempt=attempt,
                order=(attempt, int(match["submission"])),
            )
        )
    return found


def _plain(key) -> str:
    return str(key).lstrip(":").lower()


def _gradescope_metadata(path: Path) -> dict:
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _unknown(loader, suffix, node):  # Ruby object tags: read their fields as a mapping
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    _Loader.add_multi_constructor("!", _unknown)
    data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_Loader)
    if not isinstance(data, dict):
        raise ValueError(f"{GRADESCOPE_METADATA} is not a mapping of submissions")
    return {str(k): {_plain(a): b for a, b in (v or {}).items()} for k, v in data.items()}


def _gradescope(root: Path, prefix: str) -> list[Submission]:
    try:
        metadata = _gradescope_metadata(root / GRADESCOPE_METADATA)
        problem = ""
    except Exception as error:  # a malformed file: every submission still gets its rows
        metadata, problem = {}, f"{GRADESCOPE_METADATA} unreadable: {error}"[:300]
    found = []
    for folder in _visible(root):
        if folder.name == GRADESCOPE_METADATA:
            continue
        entry = metadata.get(folder.name)
        if not folder.is_dir() or folder.is_symlink():
            found.append(
                Submission(
                    path=folder,
                    source=_relative(folder, root, prefix),
                    student=folder.stem,
                    problem="not a Gradescope submission folder (submission_<id>/)",
                )
            )
            continue
        submitters = []
        if isinstance(entry, dict):
            for person in entry.get("submitters") or []:
                if isinstance(person, dict):
                    submitters.append({_plain(k): str(v or "") for k, v in person.items()})
        late = entry.get("late") if isinstance(entry, dict) else None
        created = str(entry.get("created_at", "")) if isinstance(entry, dict) else ""
        notebooks = sorted(p for p in folder.rglob("*.ipynb") if not p.is_dir())
        notebooks = [
            p for p in notebooks if not any(s.startswith(".") for s in p.relative_to(folder).parts)
        ]
        note = problem or ("" if entry else f"no entry for {folder.name} in {GRADESCOPE_METADATA}")
        targets = notebooks or [folder]
        for person in submitters or [{}]:
            sid = person.get("sid", "")
            student = sid or person.get("email", "") or person.get("name", "") or folder.name
            for path in targets:
                found.append(
                    Submission(
                        path=path,
                        source=_relative(path, root, prefix),
                        student=student,
                        student_id=sid,
                        name=person.get("name", ""),
                        email=person.get("email", ""),
                        late=late if isinstance(late, bool) else None,
                        order=(created, folder.name),
                        group=folder.name if len(submitters) > 1 else "",
                        problem="" if notebooks else "no notebook (.ipynb) in this submission",
                    )
                )
                if note and not notebooks:
                    found[-1].problem += f"; {note}"
    return found


READERS = {"flat": _flat, "nbgrader": _nbgrader, "canvas": _canvas, "gradescope": _gradescope}


def read_export(root: Path, layout: str = "auto", *, prefix: str = "") -> Export:
    """Every submission in the export folder ``root``; duplicates marked as superseded.

    ``prefix`` is put before each ``source`` (the zip's name, for one read from a zip).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    root = _unwrap(Path(root))
    chosen = detect_layout(root) if layout == "auto" else layout
    if chosen == "gradescope" and not (root / GRADESCOPE_METADATA).is_file():
        submissions = [
            Submission(
                path=None,
                source=prefix + GRADESCOPE_METADATA,
                student="*",
                problem=f"--layout gradescope, but there is no {GRADESCOPE_METADATA}",
            ),
            *_flat(root, prefix),
        ]
    else:
        submissions = READERS[chosen](root, prefix)
    return Export(layout=chosen, submissions=apply_duplicate_rule(submissions))


def apply_duplicate_rule(submissions: list[Submission]) -> list[Submission]:
    """Mark all but the latest attempt of each student and assignment as superseded.

    Only notebooks without a problem take part; the latest is the greatest ``order``
    (attempt, then submission id or time), the later file name breaking ties.
    """
    groups: dict[tuple[str, str], list[Submission]] = {}
    for sub in submissions:
        if sub.problem or sub.path is None or sub.path.suffix != ".ipynb":
            continue
        assignment = sub.assignment_hint or _peek_assignment(sub.path)
        groups.setdefault((sub.key, assignment), []).append(sub)
    result = {id(s): s for s in submissions}
    for group in groups.values():
        if len(group) < 2:
            continue
        latest = max(group, key=lambda s: (s.order, s.source))
        for sub in group:
            if sub is not latest:
                result[id(sub)] = replace(sub, superseded_by=latest.source)
    return [result[id(s)] for s in submissions]
