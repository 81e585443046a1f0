"""Late submissions through the real ``grader autograde`` path, against plain ``nbgrader autograde``.

One class of chapter 02, due 2026-11-20 17:00 UTC, with a 25%-per-started-day penalty
(``grader.late.PercentPerDay``) and two extensions: on time, 9.5 days late, late but excused by an
extension, and late past an extension with a partly wrong notebook. Plain nbgrader grades it from
nbgrader's layout; ours grades the same notebooks from that layout and from a flat folder with
``--submitted-at``; both must give every student the same late penalty and score. A rerun without
the times keeps them; ``nbgrader release_feedback`` hands back what came through the exchange and
names what did not; an LMS archive's file times are read as submission times.
"""

from __future__ import annotations

import csv
import datetime
import shutil
import zipfile

import hostile
import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.__main__ import main
from grader.autograde import autograde, read_submitted_at
from grader.deadline import parse_duration
from grader.intake import find_submissions
from grader.notebooks import REPO_ROOT

CHAPTER = hostile.CHAPTER
DUE = "2026-11-20 17:00:00 UTC"
PLUGIN = {
    "AssignLatePenalties": {"plugin_class": "grader.late.PercentPerDay"},
    "PercentPerDay": {"percent_per_day": 25},
}
PLUGIN_FLAGS = ["--AssignLatePenalties.plugin_class=grader.late.PercentPerDay", "--PercentPerDay.percent_per_day=25"]
OVERRIDES = {"Execute": {"timeout": 60}, **PLUGIN}
SUBMITTED = {  # student -> (when, extension)
    "ontime": ("2026-11-20 16:00:00.000000 UTC", None),
    "late": ("2026-11-30 05:00:00.000000 UTC", None),
    "excused": ("2026-11-22 10:00:00.000000 UTC", "2d"),
    "partial": ("2026-11-21 18:00:00.000000 UTC", "12h"),
}

pytestmark = pytest.mark.slow


def notebook(student):
    nb = hostile.solution()
    if student == "partial":
        wrong = sorted(hostile.load_spec(CHAPTER)["causal_mask"]["mutants"])[0]
        hostile.append_to(nb, "causal_mask", hostile.mutant("causal_mask", wrong))
    return nb


def nbgrader_layout(folder, secrets=False):
    for student, (when, _) in SUBMITTED.items():
        target = folder / "submitted" / student / CHAPTER
        target.mkdir(parents=True)
        nbformat.write(notebook(student), target / f"{CHAPTER}.ipynb")
        (target / "timestamp.txt").write_text(when)
        if secrets:
            (target / "submission_secret.txt").write_text(f"secret-of-{student}")
    return folder / "submitted"


def standings(db):
    """student -> (late penalty, score after it, seconds late) as nbgrader's gradebook has them."""
    with Gradebook(f"sqlite:///{db}") as gb:
        out = {}
        for sub in gb.assignment_submissions(CHAPTER):
            penalty = float(sub.late_submission_penalty or 0)
            out[sub.student.id] = (penalty, max(0.0, float(sub.score) - penalty), float(sub.total_seconds_late))
        return out


def read_csv(path):
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Plain nbgrader: generate_assignment, the due date with `nbgrader db`, extensions with its API, autograde."""
    root = tmp_path_factory.mktemp("plain")
    shutil.copytree(REPO_ROOT / "solutions" / CHAPTER, root / "solutions" / CHAPTER)
    hostile.run_nbgrader(root, "generate_assignment", CHAPTER, "--force")
    hostile.run_nbgrader(root, "db", "assignment", "add", CHAPTER, f"--duedate={DUE}")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, (_, extension) in SUBMITTED.items():
            gb.update_or_create_student(student)
            if extension:
                gb.update_or_create_submission(CHAPTER, student, extension=parse_duration(extension))
    nbgrader_layout(root)
    proc = hostile.run_nbgrader(root, "autograde", CHAPTER, "--force", *PLUGIN_FLAGS)
    return {"standings": standings(root / "gradebook.db"), "log": proc.stderr}


def set_deadline(root):
    assert main(["deadline", "--chapter", CHAPTER, "--due", DUE, "--root", str(root)]) == 0
    for student, (_, extension) in SUBMITTED.items():
        if extension:
            argv = [
                "deadline",
                "--chapter",
                CHAPTER,
                "--root",
                str(root),
                "--student",
                student,
                "--extension",
                extension,
            ]
            assert main(argv) == 0


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """Ours from nbgrader's layout (with the exchange's secrets), and from a flat folder with --submitted-at."""
    hub, hub_root = tmp_path_factory.mktemp("hub"), tmp_path_factory.mktemp("ours-hub")
    set_deadline(hub_root)
    autograde(nbgrader_layout(hub, secrets=True), CHAPTER, jobs=2, out=hub_root, overrides=OVERRIDES, echo=print)

    flat, flat_root = tmp_path_factory.mktemp("flat"), tmp_path_factory.mktemp("ours-flat")
    for student in SUBMITTED:
        nbformat.write(notebook(student), flat / f"{student}.ipynb")
    times = flat / "times.csv"
    times.write_text("student,timestamp\n" + "".join(f"{s},{w}\n" for s, (w, _) in SUBMITTED.items()))
    set_deadline(flat_root)
    lines: list[str] = []
    autograde(flat, CHAPTER, jobs=2, out=flat_root, overrides=OVERRIDES, submitted_at=times, echo=lines.append)
    first = {"csv": read_csv(flat_root / "grades" / f"{CHAPTER}.csv"), "db": standings(flat_root / "gradebook.db")}
    autograde(flat, CHAPTER, jobs=2, out=flat_root, overrides=OVERRIDES, echo=lines.append)  # no times this time
    return {
        "hub_root": hub_root,
        "hub": standings(hub_root / "gradebook.db"),
        "flat_root": flat_root,
        "flat": first,
        "rerun": {
            "csv": read_csv(flat_root / "grades" / f"{CHAPTER}.csv"),
            "db": standings(flat_root / "gradebook.db"),
        },
        "lines": lines,
    }


def test_plain_nbgrader_penalises_as_the_rule_says(plain):
    plain = plain["standings"]
    assert plain["ontime"] == (0.0, hostile.TOTAL, 0.0)
    assert plain["late"][0] == hostile.TOTAL and plain["late"][1] == 0.0  # 10 started days x 25%: everything
    assert plain["excused"] == (0.0, hostile.TOTAL, 0.0)  # within the 2-day extension
    penalty, score, late = plain["partial"]
    assert late == 13 * 3600 and 0 < penalty and penalty == pytest.approx((penalty + score) * 0.25), plain["partial"]


def test_ours_gives_every_student_plain_nbgraders_penalty(plain, ours):
    plain = plain["standings"]
    assert ours["hub"] == plain, "from nbgrader's layout"
    assert ours["flat"]["db"] == plain, "from a flat folder with --submitted-at"


def test_the_csv_has_the_penalty_the_total_after_it_and_the_time(plain, ours):
    rows = ours["flat"]["csv"]
    for student, (penalty, score, late) in plain["standings"].items():
        row = rows[student]
        assert float(row["penalty"]) == pytest.approx(penalty) and float(row["total"]) == pytest.approx(score), row
        assert float(row["raw"]) == pytest.approx(score + penalty)
        assert float(row["hours_late"]) == pytest.approx(late / 3600, abs=0.01)
        assert row["submitted"] == SUBMITTED[student][0].replace(".000000", "")
    assert rows["late"]["due"] == "2026-11-20 17:00:00 UTC" and rows["excused"]["due"] == "2026-11-22 17:00:00 UTC"


def test_plain_nbgrader_and_the_formgrader_log_the_public_seed(plain):
    assert "the hidden tests use the PUBLIC default seed" in plain["log"], plain["log"][-2000:]


def test_a_rerun_without_the_times_keeps_them_and_the_penalties(ours):
    assert ours["rerun"]["db"] == ours["flat"]["db"]
    assert ours["rerun"]["csv"] == ours["flat"]["csv"]
    assert any("the gradebook (an earlier round) (4)" in line for line in ours["lines"]), ours["lines"]


def test_the_feedback_page_tells_the_late_time_and_penalty(ours):
    page = (ours["flat_root"] / "feedback" / "late" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert "9 d 12 h after the due date (2026-11-20 17:00:00 UTC)" in page and f"late penalty {hostile.TOTAL:g}" in page
    ontime = (ours["flat_root"] / "feedback" / "ontime" / CHAPTER / f"{CHAPTER}.html").read_text()
    assert "before the due date" in ontime


def test_release_feedback_hands_back_what_came_through_the_exchange(ours, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    proc = hostile.run_nbgrader(ours["hub_root"], "release_feedback", CHAPTER, f"--Exchange.root={exchange}")
    released = sorted((exchange / "aiecourse" / "feedback").glob("*.html"))
    assert len(released) == len(SUBMITTED), proc.stderr[-2000:]
    assert "not released through the exchange" not in proc.stderr


def test_release_feedback_names_what_did_not_and_the_zip_hands_it_back(ours, tmp_path, capsys):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    proc = hostile.run_nbgrader(ours["flat_root"], "release_feedback", CHAPTER, f"--Exchange.root={exchange}")
    assert not list((exchange / "aiecourse" / "feedback").glob("*.html"))
    for student in SUBMITTED:
        assert f"feedback for {student} ({CHAPTER}) is not released through the exchange" in proc.stderr, proc.stderr
    assert main(["return-feedback", "--chapter", CHAPTER, "--root", str(ours["flat_root"])]) == 0
    with zipfile.ZipFile(ours["flat_root"] / "grades" / f"{CHAPTER}-feedback.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"{s}/{CHAPTER}.html" for s in SUBMITTED)


def test_submission_times_from_an_lms_archive_and_bad_times_are_clear(tmp_path):
    archive = tmp_path / "canvas.zip"
    config = {"FileNameCollectorPlugin": {"named_regexp": r".*/(?P<student_id>[^/_]+)_\d+_\d+_(?P<file_id>[^/]+)$"}}
    from grader.config import load_config

    with zipfile.ZipFile(archive, "w") as zf:
        for i, (student, when) in enumerate([("ann", (2026, 11, 20, 18, 30, 0)), ("bo", (2026, 11, 19, 9, 0, 0))]):
            info = zipfile.ZipInfo(f"{student}_1{i}_2{i}_{CHAPTER}.ipynb", date_time=when)
            zf.writestr(info, nbformat.writes(hostile.release()))
    subs, _, _ = find_submissions(archive, CHAPTER, load_config(config), workdir=tmp_path)
    times = {s.student: s.timestamp for s in subs}
    assert times == {"ann": "2026-11-20 18:30:00.000000 UTC", "bo": "2026-11-19 09:00:00.000000 UTC"}, times

    bad = tmp_path / "times.csv"
    bad.write_text("student,timestamp\nann,2026-11-20 10:00\nbo,next tuesday-ish\n")
    with pytest.raises(ValueError, match=r"times.csv, line 3 \(bo\)"):
        read_submitted_at(bad)
    assert read_submitted_at({"ann": "2026-11-20 18:30 Europe/Paris"}) == {"ann": "2026-11-20 17:30:00.000000 UTC"}
    assert parse_duration("1d 12h") == datetime.timedelta(days=1, hours=12)
    with pytest.raises(ValueError, match="e.g. 2d"):
        parse_duration("soon")
