"""Grades out of nbgrader's gradebook, in files that a learning-management system imports.

    python -m grader export --format canvas|moodle|csv [--chapter 02_attention ...] [--out FILE]

Each chapter's score is the gradebook's total for the submission (autograded points plus any manual
grade or extra credit the instructor gave in the formgrader) minus its late penalty, never below zero.
A student with no submission for a chapter gets an empty cell (``--missing blank``, the default: the
LMS leaves that grade as it is) or 0 (``--missing zero``).

Names, e-mail addresses and LMS ids come from the gradebook's roster (``nbgrader db student import
roster.csv`` with columns ``id,first_name,last_name,email,lms_user_id``); without a roster those cells
are empty and the student is identified by the id nbgrader graded them under.

- ``canvas``: Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section`` and one
  column per chapter, with a "Points Possible" row. Canvas matches a row by ``ID`` (the roster's
  ``lms_user_id``) when it is there, else by ``SIS Login ID`` (the nbgrader id).
- ``moodle``: Moodle's "Import grades from CSV": ``Username, Email address, First name, Last name`` and
  one column per chapter; on import, map "Username" (or "Email address") to the matching user field
  and each chapter's column to its grade item.
- ``csv``: everything, for a spreadsheet: per chapter the score, the maximum, the late penalty and the
  seconds late.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("canvas", "moodle", "csv")


@dataclass
class StudentGrades:
    """One student of the roster and their score in each chapter (None: nothing submitted)."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    scores: dict[str, float | None] = field(default_factory=dict)
    penalties: dict[str, float] = field(default_factory=dict)
    seconds_late: dict[str, float] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """'Last, First' as Canvas lists students; the id when the roster has no name."""
        if self.last_name or self.first_name:
            return ", ".join(part for part in (self.last_name, self.first_name) if part)
        return self.id


def read_gradebook(db: str | Path, chapters: list[str] | None = None) -> tuple[dict[str, float], list[StudentGrades]]:
    """The chapters' maximum points and every student's grades, from the gradebook ``db``.

    ``chapters`` defaults to every assignment of the gradebook, in the order of their names."""
    from nbgrader.api import Gradebook, MissingEntry

    db = Path(db)
    if not db.is_file():
        raise FileNotFoundError(f"no gradebook at {db}: grade a chapter first (python -m grader autograde ...)")
    with Gradebook(f"sqlite:///{db}") as gb:
        known = sorted(a.name for a in gb.assignments)
        selected = chapters or known
        unknown = [c for c in selected if c not in known]
        if unknown:
            raise ValueError(f"the gradebook has no grades for {unknown}; it has: {', '.join(known) or 'none'}")
        maxima = {c: float(gb.find_assignment(c).max_score) for c in selected}
        students = []
        for s in sorted(gb.students, key=lambda s: s.id):
            row = StudentGrades(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for chapter in selected:
                try:
                    sub = gb.find_submission(chapter, s.id)
                except MissingEntry:
                    row.scores[chapter] = None
                    continue
                penalty = float(sub.late_submission_penalty or 0.0)
                row.scores[chapter] = max(0.0, float(sub.score) - penalty)
                row.penalties[chapter] = penalty
                row.seconds_late[chapter] = float(sub.total_seconds_late or 0.0)
            students.append(row)
    return maxima, students


def _score(value: float | None, missing: str) -> str:
    if value is None:
        return "0" if missing == "zero" else ""
    return f"{value:g}"


def table(fmt: str, maxima: dict[str, float], students: list[StudentGrades], missing: str = "blank") -> list[list[str]]:
    """The rows (header first) of the export in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if missing not in ("blank", "zero"):
        raise ValueError(f"missing must be 'blank' or 'zero', got {missing!r}")
    chapters = list(maxima)
    if fmt == "canvas":
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *chapters]]
        rows.append(["Points Possible", "", "", "", "", *(f"{maxima[c]:g}" for c in chapters)])
        for s in students:
            scores = [_score(s.scores[c], missing) for c in chapters]
            rows.append([s.display_name, s.lms_user_id, "", s.id, "", *scores])
        return rows
    if fmt == "moodle":
        rows = [["Username", "Email address", "First name", "Last name", *chapters]]
        for s in students:
            rows.append([s.id, s.email, s.first_name, s.last_name, *(_score(s.scores[c], missing) for c in chapters)])
        return rows
    header = ["student_id", "first_name", "last_name", "email", "lms_user_id"]
    for c in chapters:
        header += [c, f"{c} max", f"{c} late penalty", f"{c} seconds late"]
    rows = [header]
    for s in students:
        row = [s.id, s.first_name, s.last_name, s.email, s.lms_user_id]
        for c in chapters:
            submitted = s.scores[c] is not None
            row += [
                _score(s.scores[c], missing),
                f"{maxima[c]:g}",
                f"{s.penalties[c]:g}" if submitted else "",
                f"{s.seconds_late[c]:g}" if submitted else "",
            ]
        rows.append(row)
    return rows


def export(
    root: str | Path, fmt: str, chapters: list[str] | None = None, out: str | Path | None = None, missing: str = "blank"
) -> Path:
    """Write the export of the course root's ``gradebook.db``; returns the file (default ``grades/<fmt>.csv``)."""
    root = Path(root)
    maxima, students = read_gradebook(root / "gradebook.db", chapters)
    rows = table(fmt, maxima, students, missing)
    path = Path(out) if out else root / "grades" / f"{fmt}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path
