"""``python -m grader deadline --chapter CHAPTER [--due TIME] [--student ID --extension DURATION]``.

A chapter's due date and each student's extension live in nbgrader's gradebook, where plain
``nbgrader autograde``, the formgrader and ``python -m grader autograde`` all read them: a
submission is late by ``timestamp - (due date + extension)`` and nbgrader's ``LateSubmissionPlugin``
(``c.LateSubmissionPlugin.penalty_method``, or a plugin of your own in
``c.AssignLatePenalties.plugin_class``) decides the penalty. nbgrader sets the due date with
``nbgrader db assignment add CHAPTER --duedate=...`` but has no command for an extension; this one
does both, and lists them.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

DURATION = re.compile(
    r"^\s*(?:(?P<days>\d+(?:\.\d+)?)\s*d)?\s*(?:(?P<hours>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<minutes>\d+)\s*m(?:in)?)?\s*$"
)


def parse_duration(text: str) -> datetime.timedelta:
    """``2d``, ``36h``, ``1d 12h``, ``90m`` or ``0`` (no extension) as a timedelta; ValueError otherwise."""
    if text.strip() == "0":
        return datetime.timedelta(0)
    match = DURATION.match(text)
    if not match or not any(match.groupdict().values()):
        raise ValueError(
            f"extension {text!r}: write it as days, hours and minutes, e.g. 2d, 36h, 1d 12h, 90m (0: none)"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return datetime.timedelta(**parts)


def _ensure_assignment(root: Path, chapter: str) -> None:
    """The chapter's assignment, with its notebooks, in the gradebook of ``root`` (a submission row made
    before its notebooks exist would lack them)."""
    from .autograde import Round, _template
    from .config import load_config

    config = load_config({}, root)
    work = root / ".autograde" / chapter
    work.mkdir(parents=True, exist_ok=True)
    _template(Round(chapter, 1, {}, config, root, root, work, True))


def deadline(
    root: Path | str,
    chapter: str,
    due: str | None = None,
    students: list[str] | None = None,
    extension: str | None = None,
    echo=print,
) -> int:
    """Set the due date and/or the students' extension, then print the chapter's due date and extensions."""
    from nbgrader.api import Gradebook

    from .config import load_config
    from .intake import parse_time, safe_student_id, shown_utc
    from .notebooks import chapters

    if chapter not in chapters():
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are: {', '.join(chapters())}")
    if (extension is None) != (not students):
        raise ValueError("--extension and --student go together")
    delta = parse_duration(extension) if extension is not None else None
    due_utc = parse_time(due) if due else None
    root = Path(root).resolve()
    course_id = load_config({}, root).CourseDirectory.course_id
    _ensure_assignment(root, chapter)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id) as gb:
        if due_utc:
            gb.update_or_create_assignment(chapter, duedate=due_utc)
        for raw in students or []:
            student = safe_student_id(raw)
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(chapter, student)
            sub.extension = delta if delta else None
        gb.db.commit()
        assignment = gb.find_assignment(chapter)
        when = shown_utc(assignment.duedate) or "none"
        echo(f"{chapter}: due {when}")
        for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
            if sub.extension:
                until = f", until {shown_utc(sub.duedate)}" if assignment.duedate else ""
                echo(f"  {sub.student.id}: extension {sub.extension}{until}")
    return 0
