"""The instructor's round through the real ``grader autograde`` path: regrading one student keeps every
other row; a test stopped by the time limit says so by name and, like a repaired notebook, is flagged
for review in the gradebook; the progress bar; the hidden seed told by its fingerprint only."""

from __future__ import annotations

import csv
import html
import os
import re
import sqlite3

import hostile
import nbformat
import pytest

from grader import seed as hidden
from grader.__main__ import main
from grader.autograde import autograde

CHAPTER = hostile.CHAPTER
GIB = 1024**3
OVERRIDES = {"Execute": {"timeout": 20}, "GuardedExecute": {"interrupt_grace": 5, "memory_limit": int(2.5 * GIB)}}
SLOW_CAUSAL_MASK = """
def causal_mask(q_len, k_len=None, device=None):  # never returns, but stops when interrupted
    import time
    while True:
        time.sleep(0.05)
"""


def slowpoke():
    return hostile.append_to(hostile.solution(), "causal_mask", SLOW_CAUSAL_MASK)


def deleted_test():
    nb = hostile.solution()
    del nb.cells[hostile.index_of(nb, "test_split_merge_heads")]
    return nb


SEED = 987654321

pytestmark = pytest.mark.slow


def read_csv(path):
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    """Three students graded with the instructor's seed, then one of them resubmits and is regraded alone."""
    folder, course = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("course")
    class_ = {"ann": hostile.solution(), "dave": hostile.release(), "erin": hostile.release(), "sid": slowpoke()}
    class_["rita"] = deleted_test()
    for student, nb in class_.items():
        nbformat.write(nb, folder / f"{student}.ipynb")
    old = os.environ.get("AIECOURSE_HIDDEN_SEED")
    os.environ["AIECOURSE_HIDDEN_SEED"] = str(SEED)
    lines: list[str] = []
    try:
        slow = {**OVERRIDES, "Execute": {"timeout": 10}}  # sid's two tests that call causal_mask time out
        autograde(folder, CHAPTER, jobs=2, out=course, overrides=slow, echo=lines.append)
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
    assert sorted(first) == sorted(second) == ["ann", "dave", "erin", "rita", "sid"], sorted(second)
    assert [r.student for r in regraded["rows"]] == ["erin"], "only erin was graded in the second round"
    assert first["erin"]["total"] == "0" and float(second["erin"]["total"]) == hostile.TOTAL, second["erin"]
    for student in ("ann", "dave", "rita", "sid"):
        assert second[student] == first[student], f"regrading erin changed {student}'s row"
    assert float(first["ann"]["total"]) == hostile.TOTAL and first["dave"]["total"] == "0"


def _review(db, student):
    """(notebook flagged, {test: needs manual grade}) of the student's submission in the gradebook."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select sn.flagged, bc.name, g.needs_manual_grade from grade g join base_cell bc on g.cell_id = bc.id "
            "join submitted_notebook sn on g.notebook_id = sn.id join submitted_assignment sa "
            "on sn.assignment_id = sa.id where sa.student_id = ?",
            (student,),
        ).fetchall()
    finally:
        con.close()
    return bool(rows[0][0]), {name: bool(manual) for _, name, manual in rows}


def test_a_timed_out_test_says_so_by_name_and_is_flagged_for_review(regraded):
    course, sid = regraded["course"], regraded["first"]["sid"]
    assert sid["status"] == "timed out" and sid["test_causal_mask"] == "0", sid
    assert "test_causal_mask ran past the per-cell time limit" in sid["reason"], sid["reason"]
    page = html.unescape(
        re.sub(r"<[^>]+>", "", (course / "feedback" / "sid" / CHAPTER / f"{CHAPTER}.html").read_text())
    )
    assert "test_causal_maskfailed0 / 2TimedOut: test_causal_mask timed out after 10 s" in page.replace("\n", ""), (
        "the feedback's table names the test and says it timed out"
    )
    flagged, manual = _review(course / "gradebook.db", "sid")
    assert flagged and manual["test_causal_mask"] and not manual["test_scaled_dot_product_attention"], manual
    assert _review(course / "gradebook.db", "rita")[0], "a notebook whose test cell was put back is flagged"
    assert not _review(course / "gradebook.db", "ann")[0], "an honest, complete submission is not flagged"


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
    assert sorted(read_csv(course / "grades" / f"{CHAPTER}.csv")) == ["ann", "dave", "erin", "rita", "sid"]


def test_public_seed_warns_and_the_progress_bar_shows_the_class(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AIECOURSE_HIDDEN_SEED", raising=False)
    nbformat.write(hostile.release(), tmp_path / "bo.ipynb")
    code, rows = autograde(tmp_path, CHAPTER, out=tmp_path / "course", overrides=OVERRIDES, progress=True)
    out, err = capsys.readouterr()
    assert code == 0 and rows[0].status == "graded"
    assert out.splitlines()[0].startswith("WARNING: the hidden tests use the PUBLIC default seed")
    assert "grading" in err and "1/1" in err, err[-500:]  # tqdm: done/total on stderr
    assert "[1/1] bo: graded" in out  # the per-submission lines stay
