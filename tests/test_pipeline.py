"""nbgrader end to end on chapter 02: generate_assignment -> autograde -> generate_feedback -> export."""

from __future__ import annotations

import csv
import shutil

import hostile
import pytest

from grader.notebooks import REPO_ROOT, notebook_path

CHAPTER = "02_attention"


nbgrader = hostile.run_nbgrader


@pytest.mark.slow
def test_release_autograde_export(tmp_path):
    shutil.copytree(REPO_ROOT / "solutions" / CHAPTER, tmp_path / "solutions" / CHAPTER)
    nbgrader(tmp_path, "generate_assignment", CHAPTER, "--force")
    released = tmp_path / "course" / CHAPTER / f"{CHAPTER}.ipynb"
    assert released.exists()
    text = released.read_text()
    assert "### BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text

    submissions = {
        "alice": notebook_path(CHAPTER),  # the instructor's solutions, as a perfect student would write them
        "bob": released,  # the untouched release
    }
    for student, source in submissions.items():
        folder = tmp_path / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        shutil.copy(source, folder / f"{CHAPTER}.ipynb")

    nbgrader(tmp_path, "autograde", CHAPTER, "--force")
    nbgrader(tmp_path, "generate_feedback", CHAPTER, "--force")
    nbgrader(tmp_path, "export", f"--CsvExportPlugin.to={tmp_path / 'grades.csv'}")

    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    max_score = float(rows["alice"]["max_score"])
    assert max_score >= 10
    assert float(rows["alice"]["score"]) == max_score, rows["alice"]
    assert float(rows["bob"]["score"]) == 0.0, rows["bob"]
    feedback = tmp_path / "feedback" / "alice" / CHAPTER / f"{CHAPTER}.html"
    assert feedback.exists()
