"""``python -m grader export``: the gradebook's grades as Canvas, Moodle and plain CSV files."""

from __future__ import annotations

import csv

import pytest

from grader.__main__ import main
from grader.export import read_gradebook, table


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A gradebook with two chapters, a roster with and without names, a late submission and a missing one."""
    from nbgrader.api import Gradebook

    tmp_path = tmp_path_factory.mktemp("course")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        for chapter, points in (("02_attention", (3, 4)), ("05_sampling", (5,))):
            gb.add_assignment(chapter)
            gb.add_notebook(chapter, chapter)
            for i, p in enumerate(points):
                gb.add_grade_cell(f"test_{i}", chapter, chapter, max_score=p, cell_type="code")
        gb.add_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.org", lms_user_id="1001")
        gb.add_student("bob")
        scores = {("ada", "02_attention"): (3, 4), ("ada", "05_sampling"): (2,), ("bob", "02_attention"): (1, 0)}
        for (student, chapter), values in scores.items():
            sub = gb.add_submission(chapter, student)
            for grade, value in zip(sorted(sub.notebooks[0].grades, key=lambda g: g.name), values):
                grade.auto_score = value
            if student == "bob":
                sub.notebooks[0].late_submission_penalty = 2.0  # more than the score: the export stops at zero
        gb.db.commit()
        ada = gb.find_submission("02_attention", "ada")
        ada.notebooks[0].grades[0].extra_credit = 0.5  # a manual bonus from the formgrader counts too
        gb.db.commit()
    return tmp_path


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_file_has_the_columns_and_points_canvas_imports(course):
    assert main(["export", "--format", "canvas", "--root", str(course)]) == 0
    rows = read(course / "grades" / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "02_attention", "05_sampling"]
    assert rows[1] == ["Points Possible", "", "", "", "", "7", "5"]
    assert rows[2] == ["Lovelace, Ada", "1001", "", "ada", "", "7.5", "2"]
    assert rows[3] == ["bob", "", "", "bob", "", "0", ""]  # late penalty 2 > score 1; nothing submitted for 05


def test_moodle_file_maps_by_username_or_email(course):
    out = course / "moodle-import.csv"
    assert main(["export", "--format", "moodle", "--root", str(course), "--out", str(out), "--missing", "zero"]) == 0
    assert read(out) == [
        ["Username", "Email address", "First name", "Last name", "02_attention", "05_sampling"],
        ["ada", "ada@example.org", "Ada", "Lovelace", "7.5", "2"],
        ["bob", "", "", "", "0", "0"],
    ]


def test_full_csv_keeps_penalties_and_one_chapter_can_be_chosen(course):
    maxima, students = read_gradebook(course / "gradebook.db", ["02_attention"])
    rows = table("csv", maxima, students)
    assert rows[0][5:] == ["02_attention", "02_attention max", "02_attention late penalty", "02_attention seconds late"]
    assert rows[2][0] == "bob" and rows[2][5:7] == ["0", "7"] and rows[2][7] == "2"


def test_bad_requests_say_what_is_wrong(course, tmp_path, capsys):
    assert main(["export", "--root", str(course), "--chapter", "09_nothing"]) == 2
    assert "no grades for ['09_nothing']" in capsys.readouterr().err
    assert main(["export", "--root", str(tmp_path)]) == 2
    assert "no gradebook" in capsys.readouterr().err
    with pytest.raises(ValueError, match="format must be one of"):
        table("blackboard", {}, [])
