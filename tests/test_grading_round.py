"""The instructor's round through the real ``grader autograde`` path: regrading one student keeps every
other row, the progress bar, and the hidden seed told by its fingerprint (never the seed itself)."""

from __future__ import annotations

import csv
import os

import hostile
import nbformat
import pytest

from grader import seed as hidden
from grader.__main__ import main
from grader.autograde import autograde

CHAPTER = hostile.CHAPTER
GIB = 1024**3
OVERRIDES = {"Execute": {"timeout": 20}, "GuardedExecute": {"interrupt_grace": 5, "memory_limit": int(2.5 * GIB)}}
SEED = 987654321

pytestmark = pytest.mark.slow


def read_csv(path):
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    """Three students graded with the instructor's seed, then one of them resubmits and is regraded alone."""
    folder, course = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("course")
    for student, nb in (("ann", hostile.solution()), ("dave", hostile.release()), ("erin", hostile.release())):
        nbformat.write(nb, folder / f"{student}.ipynb")
    old = os.environ.get("AIECOURSE_HIDDEN_SEED")
    os.environ["AIECOURSE_HIDDEN_SEED"] = str(SEED)
    lines: list[str] = []
    try:
        autograde(folder, CHAPTER, jobs=2, out=course, overrides=OVERRIDES, echo=lines.append)
        first = read_csv(course / "grades" / f"{CHAPTER}.csv")
        nbformat.write(hostile.solution(), folder / "erin.ipynb")  # erin fixes her work
        code, rows = autograde(
            folder, CHAPTER, jobs=1, out=course, overrides=OVERRIDES, students=["erin"], echo=lines.append
        )
        second = read_csv(course / "grades" / f"{CHAPTER}.csv")
    finally:
        if old is None:
            os.environ.pop("AIECOURSE_HIDDEN_SEED", None)
        else:
            os.environ["AIECOURSE_HIDDEN_SEED"] = old
    return {"first": first, "second": second, "code": code, "rows": rows, "lines": lines, "course": course}


def test_regrading_one_student_keeps_every_other_row(regraded):
    first, second = regraded["first"], regraded["second"]
    assert sorted(first) == sorted(second) == ["ann", "dave", "erin"], sorted(second)
    assert [r.student for r in regraded["rows"]] == ["erin"], "only erin was graded in the second round"
    assert first["erin"]["total"] == "0" and second["erin"]["total"] == "12", second["erin"]
    for student in ("ann", "dave"):
        assert second[student] == first[student], f"regrading erin changed {student}'s row"
    assert first["ann"]["total"] == "12" and first["dave"]["total"] == "0"


def test_the_round_tells_the_seed_by_its_fingerprint_only(regraded):
    fingerprint = hidden.fingerprint(SEED)
    assert {row["seed"] for row in regraded["second"].values()} == {fingerprint}
    text = "\n".join(regraded["lines"])
    assert f"fingerprint {fingerprint}" in text and str(SEED) not in text
    assert "PUBLIC default" not in text
    assert hidden.fingerprint(SEED) != hidden.fingerprint(SEED + 1) and len(fingerprint) == 8


def test_a_student_not_in_the_submissions_is_a_clear_error(regraded, capsys):
    course = regraded["course"]
    folder = course.parent / "lone"
    folder.mkdir(exist_ok=True)
    nbformat.write(hostile.release(), folder / "ann.ipynb")
    code = main(["autograde", str(folder), "--chapter", CHAPTER, "--out", str(course), "--student", "zoe"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--student zoe: no submission" in err and "ann" in err
    assert sorted(read_csv(course / "grades" / f"{CHAPTER}.csv")) == ["ann", "dave", "erin"], "nothing was lost"


def test_public_seed_warns_and_the_progress_bar_shows_the_class(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AIECOURSE_HIDDEN_SEED", raising=False)
    nbformat.write(hostile.release(), tmp_path / "bo.ipynb")
    code, rows = autograde(tmp_path, CHAPTER, out=tmp_path / "course", overrides=OVERRIDES, progress=True)
    out, err = capsys.readouterr()
    assert code == 0 and rows[0].status == "graded"
    assert out.splitlines()[0].startswith("WARNING: the hidden tests use the PUBLIC default seed")
    assert "grading" in err and "1/1" in err, err[-500:]  # tqdm: done/total on stderr
    assert "[1/1] bo: graded" in out  # the per-submission lines stay
