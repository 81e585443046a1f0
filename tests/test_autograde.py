"""``python -m grader autograde``: a class graded through the real path, hostile submissions included.

Three class rounds (about five minutes on two cores): an LMS zip graded twice (idempotent, with an
instructor's hidden-test seed), then, into the same course root, a class of broken and hostile
submissions (``tests/hostile.py``), each checked for its points, status, reason and feedback; and,
into a course root of its own, a class whose attacks target the grader from outside the kernel
(``hostile.sandbox_class``: the sandbox, docs/sandbox.md), graded in one ``--jobs 2`` round.
The fast tests at the top exercise the intake, the guard and the feedback filter without kernels.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import sqlite3
import zipfile
from pathlib import Path

import hostile
import nbformat
import pytest

from grader import intake
from grader.autograde import autograde
from grader.execution import guard as kernel_guard
from grader.feedback import HideHiddenTests, sanitize_traceback, strip_hidden
from grader.notebooks import SOLUTIONS, nbgrader_meta

CHAPTER = hostile.CHAPTER
GIB = 1024**3
# Short limits so that the endless loops cost seconds; 2.5 GiB is ample for chapter 02 (its kernel peaks near 1.6 GiB).
OVERRIDES = {"Execute": {"timeout": 20}, "GuardedExecute": {"interrupt_grace": 5, "memory_limit": int(2.5 * GIB)}}
SEED = 424242


def chapter_info() -> intake.ChapterInfo:
    return intake.ChapterInfo(CHAPTER, hostile.solution(), hostile.release())


def read_csv(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def page_text(path: Path) -> str:
    text = re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))
    return html.unescape(text)


# --- fast: intake, guard, feedback filter ---------------------------------------------------------------


def test_intake_reads_the_three_layouts(tmp_path):
    sub_dir = tmp_path / "submitted"
    for student, source in [("ann", hostile.solution()), ("ben", hostile.release())]:
        (sub_dir / student / CHAPTER).mkdir(parents=True)
        nbformat.write(source, sub_dir / student / CHAPTER / f"{CHAPTER}.ipynb")
    (sub_dir / "ann" / CHAPTER / "timestamp.txt").write_text("2024-03-01 10:00:00")
    subs, _, layout = intake.find_submissions(tmp_path, CHAPTER)
    assert layout.startswith("nbgrader") and [s.student for s in subs] == ["ann", "ben"]
    assert subs[0].timestamp == "2024-03-01 10:00:00"

    flat = tmp_path / "flat"
    flat.mkdir()
    nbformat.write(hostile.solution(), flat / "cy.ipynb")
    (flat / "notes.txt").write_text("not a notebook")
    subs, remarks, layout = intake.find_submissions(flat, CHAPTER)
    assert layout.startswith("flat") and [s.student for s in subs] == ["cy"] and remarks

    from grader.config import load_config

    archive = tmp_path / "lms.zip"
    inner = tmp_path / "dee.zip"
    with zipfile.ZipFile(inner, "w") as z:  # a student's own zip inside the download
        z.writestr(f"{CHAPTER}_dee_attempt_2024-03-02-09-30-00_{CHAPTER}.ipynb", nbformat.writes(hostile.solution()))
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{CHAPTER}_eve_attempt_2024-03-01-08-00-00_{CHAPTER}.ipynb", nbformat.writes(hostile.release()))
        z.writestr(f"{CHAPTER}_eve_attempt_2024-03-01-09-00-00_{CHAPTER}.ipynb", nbformat.writes(hostile.solution()))
        z.writestr(f"{CHAPTER}_fay_attempt_2024-03-01-09-00-00_answers.py", "print(1)")
        z.writestr("readme.txt", "no student in this name")
        z.write(inner, "dee.zip")
    subs, remarks, layout = intake.find_submissions(archive, CHAPTER, load_config(), workdir=tmp_path)
    by = {s.student: s for s in subs}
    assert layout == "LMS archive" and sorted(by) == ["dee", "eve", "fay"]
    assert any("readme.txt" in r for r in remarks)
    assert by["eve"].timestamp == "2024-03-01 09:00:00"  # the newest attempt wins
    nb = intake.check_notebook(by["eve"], chapter_info(), intake.known_chapter_ids(), 2**30)
    assert sum("BEGIN SOLUTION" in c.source for c in nb.cells) > 0, "the newer (solved) attempt should be graded"
    assert by["fay"].problem and "no notebook" in by["fay"].problem


def test_intake_rejects_and_repairs(tmp_path):
    info, known = chapter_info(), intake.known_chapter_ids()

    def submission(name: str, writer) -> intake.Submission:
        folder = tmp_path / name
        folder.mkdir()
        writer(folder)
        sub = intake.Submission(name)
        intake._choose(sub, intake._notebooks_in(folder), [p.name for p in folder.iterdir()])
        return sub

    students = hostile.hostile_class()
    for name in ("corrupt", "otherch", "missing"):
        sub = submission(name, students[name][0])
        if not sub.problem:
            assert intake.check_notebook(sub, info, known, 2**30) is None
        assert students[name][1].reason in sub.problem, sub.problem
    sub = submission("renamed", students["renamed"][0])
    nb = intake.check_notebook(sub, info, known, 2**30)
    assert nb is not None and any("was named" in n for n in sub.notes)

    nb, notes = intake.prepare(students["edited"][0], info)
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    assert "test_bonus" not in by_id, "a fake graded cell keeps no nbgrader metadata"
    assert nbgrader_meta(by_id["test_split_merge_heads"])["points"] == 2
    assert nbgrader_meta(by_id["test_MultiHeadAttention"])["grade"] is True
    assert "tags" not in by_id["test_scaled_dot_product_attention"].metadata
    assert any("had been changed" in n for n in notes) and any("posing as course cells" in n for n in notes)

    nb, notes = intake.prepare(students["deleted"][0], info)
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")]
    assert ids == info.grade_ids, "deleted test cells come back, in the chapter's order"
    assert any("put back" in n for n in notes)


def test_the_hostile_class_is_complete():
    assert sorted(hostile.hostile_class()) == sorted(hostile.STUDENTS)


def test_scan_flags_tampering_but_not_a_solution():
    info = chapter_info()
    assert intake.scan_source(hostile.solution(), info) == []
    # The release's own unlocked cells (the Colab setup cell) are not flagged while unchanged ...
    assert intake.scan_source(copy.deepcopy(info.release), info) == []
    edited = copy.deepcopy(info.release)
    setup = next(c for c in edited.cells if "colab-setup" in c.metadata.get("tags", []))
    setup.source += "\nimport builtins"
    # ... and are, once a learner changes them.
    assert any("builtins" in f for f in intake.scan_source(edited, info))
    flags = intake.scan_source(hostile.hostile_class()["patcher"][0], info)
    text = "\n".join(flags)
    for expected in (
        "torch.allclose",
        "np.testing.assert_allclose",
        "F.scaled_dot_product_attention",
        "re-defines check_close",
        "__dict__",
    ):
        assert expected in text, f"{expected!r} not flagged in:\n{text}"


def test_guard_puts_back_what_a_cell_changed():
    import torch
    import torch.nn.functional as F

    guard = kernel_guard.Guard(None, b"key")
    import numpy as np

    original_allclose, original_sdpa, original_eq = (
        torch.allclose,
        F.scaled_dot_product_attention,
        torch.Tensor.__dict__.get("__eq__"),
    )
    original_np = np.testing.assert_allclose
    try:
        np.testing.assert_allclose = print
        torch.allclose = lambda *a, **k: True
        F.scaled_dot_product_attention = lambda *a, **k: None
        torch.Tensor.__eq__ = lambda self, other: True
        data = kernel_guard.verify(guard("before", "n1"), "key", "n1", "before")
        assert data is not None
        assert {
            "torch.allclose",
            "torch.nn.functional.scaled_dot_product_attention",
            "torch.Tensor.__eq__",
            "numpy.testing.assert_allclose",
        } <= set(data["changed"]), data["changed"]
        assert torch.allclose is original_allclose and F.scaled_dot_product_attention is original_sdpa
        assert np.testing.assert_allclose is original_np
        assert torch.Tensor.__dict__.get("__eq__") is original_eq
        assert kernel_guard.verify(guard("before", "n2"), "key", "n2", "before")["changed"] == []
        assert kernel_guard.verify(guard("before", "n3"), "other key", "n3", "before") is None, "a forged answer passes"
        assert kernel_guard.verify(guard("before", "n4"), "key", "n5", "before") is None, "a replayed answer passes"
    finally:
        torch.allclose, F.scaled_dot_product_attention = original_allclose, original_sdpa
        np.testing.assert_allclose = original_np
        if torch.Tensor.__dict__.get("__eq__") is not original_eq:
            if original_eq is None:
                del torch.Tensor.__eq__
            else:
                torch.Tensor.__eq__ = original_eq


def test_feedback_filter_cuts_hidden_tests():
    source = (
        "check(x)\n### BEGIN HIDDEN TESTS\nsecret_case = 42\ncheck(secret_case)\n### END HIDDEN TESTS\nprint('done')"
    )
    shown, count = strip_hidden(source)
    assert count == 1 and "secret_case" not in shown and "print('done')" in shown
    traceback = [
        "-----",
        "\x1b[0;32mCell In[7], line 3\x1b[0m\n      1 check(x)\n----> 3 check(secret_case)",
        "\x1b[0;32mCell In[4], line 2\x1b[0m, in f(x)\n----> 2 return x.T",
        "AssertionError: bad",
    ]
    kept = sanitize_traceback(traceback, 7)
    assert not any("secret_case" in chunk for chunk in kept) and any("return x.T" in chunk for chunk in kept)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    cell.execution_count = 7
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="bad", traceback=traceback)]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret_case" not in json.dumps(cell)


# --- the real path: two class rounds ---------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return tmp_path_factory.mktemp("course")


@pytest.fixture(scope="module")
def zip_rounds(course, tmp_path_factory):
    """An LMS zip (two students, one with two attempts) graded twice, with an instructor's seed."""
    import os

    folder = tmp_path_factory.mktemp("lms")
    probe = hostile.insert_after(hostile.solution(), "setup", 'print("hidden seed:", hidden_seed())')
    archive = folder / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{CHAPTER}_alice_attempt_2024-03-01-08-00-00_{CHAPTER}.ipynb", nbformat.writes(hostile.release()))
        z.writestr(f"{CHAPTER}_alice_attempt_2024-03-01-09-00-00_{CHAPTER}.ipynb", nbformat.writes(probe))
        z.writestr(f"{CHAPTER}_bob_attempt_2024-03-01-09-30-00_{CHAPTER}.ipynb", nbformat.writes(hostile.release()))
    old = os.environ.get("AIECOURSE_HIDDEN_SEED")
    os.environ["AIECOURSE_HIDDEN_SEED"] = str(SEED)
    try:
        rounds = []
        for _ in range(2):
            code, rows = autograde(archive, CHAPTER, jobs=2, out=course, overrides=OVERRIDES)
            rounds.append(
                {
                    "code": code,
                    "csv": (course / "grades" / f"{CHAPTER}.csv").read_bytes(),
                    "db": _db_rows(course / "gradebook.db"),
                    "files": sorted(
                        str(p.relative_to(course))
                        for p in course.rglob("*")
                        if p.is_file() and p.parts[len(course.parts)] in ("autograded", "feedback", "submitted")
                    ),
                }
            )
    finally:
        if old is None:
            os.environ.pop("AIECOURSE_HIDDEN_SEED", None)
        else:
            os.environ["AIECOURSE_HIDDEN_SEED"] = old
    return rounds


def _db_rows(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
        grades = sorted(
            con.execute(
                "select sa.student_id, bc.name, g.auto_score, g.needs_manual_grade, sn.flagged, sa.timestamp from grade g "
                "join base_cell bc on g.cell_id = bc.id join submitted_notebook sn on g.notebook_id = sn.id "
                "join submitted_assignment sa on sn.assignment_id = sa.id"
            ).fetchall()
        )
        return {"counts": counts, "grades": grades, "integrity": con.execute("pragma integrity_check").fetchone()[0]}
    finally:
        con.close()


@pytest.fixture(scope="module")
def hostile_round(course, zip_rounds, tmp_path_factory):
    students = hostile.hostile_class()
    submitted = hostile.write_nbgrader_layout(tmp_path_factory.mktemp("hostile"), students)
    code, rows = autograde(submitted, CHAPTER, jobs=2, out=course, overrides=OVERRIDES)
    return {
        "code": code,
        "rows": {r.student: r for r in rows},
        "expect": {k: v[1] for k, v in students.items()},
        "csv": read_csv(course / "grades" / f"{CHAPTER}.csv"),
    }


@pytest.mark.slow
def test_zip_round_is_idempotent_and_uses_the_instructors_seed(course, zip_rounds):
    first, second = zip_rounds
    assert first["code"] == 0 and second["code"] == 0
    assert first["csv"] == second["csv"], "a rerun changed the grades CSV"
    assert first["db"] == second["db"], "a rerun changed the gradebook"
    assert first["files"] == second["files"]
    assert first["db"]["integrity"] == "ok"
    rows = read_csv_bytes(first["csv"])
    assert float(rows["alice"]["total"]) == hostile.TOTAL and rows["alice"]["status"] == "graded", rows["alice"]
    assert rows["bob"]["total"] == "0" and rows["bob"]["status"] == "graded"
    autograded = (course / "autograded" / "alice" / CHAPTER / f"{CHAPTER}.ipynb").read_text()
    # The seed reaches the hidden tests only (tests below: test_no_secret_reaches_a_learner); a cell of
    # the submission reads the public default.
    assert f"hidden seed: {SEED}" not in autograded and "hidden seed: 1234" in autograded


def read_csv_bytes(data: bytes) -> dict[str, dict]:
    return {row["student"]: row for row in csv.DictReader(data.decode().splitlines())}


@pytest.mark.slow
@pytest.mark.parametrize("student", hostile.STUDENTS)
def test_hostile_submission_gets_exactly_its_points(hostile_round, course, student):
    expect, row, line = hostile_round["expect"][student], hostile_round["rows"][student], hostile_round["csv"][student]
    got = {t: float(line[t]) for t in hostile.TESTS}
    assert row.status == expect.status and line["status"] == expect.status, (row.status, row.reason)
    assert got == expect.points, f"{student}: {got} (reason: {row.reason})"
    assert float(line["total"]) == sum(expect.points.values()) and float(line["max"]) == hostile.TOTAL
    assert expect.reason in line["reason"], line["reason"]
    page = page_text(course / "feedback" / student / CHAPTER / f"{CHAPTER}.html")
    for phrase in expect.feedback + ([expect.reason] if expect.reason else []):
        assert phrase.lower() in page.lower(), f"{student}'s feedback does not say {phrase!r}"
    if expect.flagged:
        assert line["flags"], f"{student} should be flagged for review"


@pytest.mark.slow
def test_the_gradebook_keeps_every_grade(course, zip_rounds, hostile_round):
    from nbgrader.api import Gradebook

    assert hostile_round["code"] == 0
    assert _db_rows(course / "gradebook.db")["integrity"] == "ok"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.assignment_submissions(CHAPTER)}
        flagged = {s.student.id: any(nb.flagged for nb in s.notebooks) for s in gb.assignment_submissions(CHAPTER)}
    assert scores["alice"] == hostile.TOTAL and scores["bob"] == 0, "the earlier round's grades were lost"
    for student, expect in hostile_round["expect"].items():
        assert scores[student] == sum(expect.points.values()), student
        if expect.status == "invalid" or expect.flagged:
            assert flagged[student], f"{student} is not flagged in the gradebook"


@pytest.mark.slow
def test_feedback_never_shows_a_hidden_test(course, hostile_round):
    source = nbformat.read(SOLUTIONS / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    public = "\n".join(cell.source for cell in hostile.release().cells)
    hidden = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 30 and line.strip() not in public:
                hidden.add(line.strip())
    assert len(hidden) > 10
    pages = sorted((course / "feedback").glob(f"*/{CHAPTER}/{CHAPTER}.html"))
    assert len(pages) == len(hostile_round["expect"]) + 2
    for page in pages:
        text = page_text(page)
        shown = [line for line in hidden if line in text]
        assert not shown, f"{page} shows hidden tests: {shown[:3]}"


@pytest.mark.slow
def test_limits_stop_the_bombs(course, hostile_round):
    membomb = nbformat.read(course / "autograded" / "membomb" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    printed = "".join(
        out.get("text", "") for cell in membomb.cells if "grab(12)" in cell.source for out in cell.get("outputs", [])
    )
    assert "memory limit reached" in printed and "NO MEMORY LIMIT" not in printed, printed
    for kind in ("autograded", "feedback"):
        biggest = max(p.stat().st_size for p in (course / kind / "bigout").rglob("*") if p.is_file())
        assert biggest < 5 * 2**20, f"bigout's {kind} file is {biggest / 2**20:.0f} MB"


# --- the sandbox: attacks from outside the kernel, graded beside honest submissions, in one round ----------

SANDBOX_SEED = 731904265  # the instructor's secret for this round


def _processes_of_the_round(token: str) -> list[str]:
    """Processes still alive that the round's kernels started: by their command line, and (root
    grader) by the uids the sandbox gives kernels."""
    from grader.execution.limits import UID_BASE

    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            uid = int((proc / "status").read_text().split("\nUid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        if token in cmdline or (os.geteuid() == 0 and UID_BASE <= uid < 2**31):
            alive.append(f"{proc.name} (uid {uid}): {cmdline[:120]}")
    return alive


@pytest.fixture(scope="module")
def sandbox_round(tmp_path_factory):
    """The sandbox class (``hostile.sandbox_class``) graded in one round, --jobs 2, with a hidden seed."""
    import socket
    import threading
    import time

    from grader.execution import bubblewrap

    problem = bubblewrap.problem()
    if problem is not None:
        if os.environ.get("AIECOURSE_CI"):
            pytest.fail(f"CI must grade in the sandbox: {problem}")
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("sandboxed")
    token = f"pwned{os.getpid()}x{int(time.time())}"
    (root / "instructor.txt").write_text(f"instructor's private notes {token}")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    connections: list = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    students = hostile.sandbox_class(root, server.getsockname()[1], token)
    submitted = hostile.write_nbgrader_layout(tmp_path_factory.mktemp("sandbox-class"), students)
    old = os.environ.get("AIECOURSE_HIDDEN_SEED")
    os.environ["AIECOURSE_HIDDEN_SEED"] = str(SANDBOX_SEED)
    try:
        start = time.time()
        code, rows = autograde(submitted, CHAPTER, jobs=2, out=root, overrides=OVERRIDES, keep=True)
        seconds = time.time() - start
        right_after = {"csv": (root / "grades" / f"{CHAPTER}.csv").read_bytes(), "db": _db_rows(root / "gradebook.db")}
        alive_at_end = _processes_of_the_round(token)
        time.sleep(5)  # the daemon attack polls every 0.5 s: it would have struck by now
    finally:
        stop.set()
        thread.join()
        server.close()
        if old is None:
            os.environ.pop("AIECOURSE_HIDDEN_SEED", None)
        else:
            os.environ["AIECOURSE_HIDDEN_SEED"] = old
    return {
        "root": root,
        "token": token,
        "code": code,
        "seconds": seconds,
        "rows": {r.student: r for r in rows},
        "expect": {k: v[1] for k, v in students.items()},
        "csv": read_csv(root / "grades" / f"{CHAPTER}.csv"),
        "right_after": right_after,
        "alive_at_end": alive_at_end,
        "alive_later": _processes_of_the_round(token),
        "connections": connections,
        "submitted": submitted,
    }


def _outputs(root: Path, student: str) -> str:
    """Every output of the student's autograded notebook (the instructor's copy: tracebacks there may
    quote hidden tests; the feedback filter cuts them for the learner)."""
    nb = nbformat.read(root / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def _attack_output(root: Path, student: str) -> str:
    """What the attack cell (right after the setup cell) printed."""
    nb = nbformat.read(root / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    return json.dumps(nb.cells[hostile.index_of(nb, "setup") + 1].get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(hostile.sandbox_class(Path("/x"), 0, "t")))
def test_sandboxed_submission_gets_what_the_stub_gets(sandbox_round, student):
    expect, line = sandbox_round["expect"][student], sandbox_round["csv"][student]
    got = {t: float(line[t]) for t in hostile.TESTS}
    assert got == expect.points, f"{student}: {got} ({line['status']}: {line['reason']})"
    assert line["sandbox"] == "bubblewrap"
    if student != "forkbomb":  # a fork bomb may take its own kernel down: only its points are promised
        assert line["status"] == expect.status, line


@pytest.mark.slow
def test_results_are_the_graders_alone(sandbox_round):
    """The daemon and the vandal changed nothing: gradebook, CSV and other students' files are the round's."""
    root, token = sandbox_round["root"], sandbox_round["token"]
    assert sandbox_round["code"] == 0
    assert (root / "grades" / f"{CHAPTER}.csv").read_bytes() == sandbox_round["right_after"]["csv"]
    assert _db_rows(root / "gradebook.db") == sandbox_round["right_after"]["db"]
    grades = sandbox_round["right_after"]["db"]["grades"]
    assert not [g for g in grades if g[0] not in ("honest", "seedleak") and g[2]], "an attacker scored"
    with sqlite3.connect(root / "gradebook.db") as con:
        assert con.execute("select count(*) from grade where manual_score is not null").fetchone()[0] == 0
    honest = root / "submitted" / "honest" / CHAPTER / f"{CHAPTER}.ipynb"
    assert honest.read_bytes() == (sandbox_round["submitted"] / "honest" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes()
    written = [p for p in root.rglob(f"*{token}*")] + [p for p in Path("/tmp").glob(f"{token}*")]
    assert not written, f"an attack wrote {written}"
    # (The vandal's own output may say WROTE: a course root under /tmp lands in the sandbox's private /tmp.)


@pytest.mark.slow
def test_no_secret_reaches_a_learner(sandbox_round):
    root, token = sandbox_round["root"], sandbox_round["token"]
    snooped = _attack_output(root, "snoop")
    for secret in ("BEGIN HIDDEN TESTS", token, str(SANDBOX_SEED), "GOT-FILE", "AIECOURSE_HIDDEN_SEED"):
        assert secret not in snooped, f"the snoop attack got {secret!r}"
    assert "SEED 1234" in snooped, "outside the graded cells, hidden_seed() is the public default"
    # The grader's home, the course root and solutions/ do not exist; the home only holds what is bound
    # (a Python installed under it), nothing of the instructor's.
    import ast

    from grader.execution import bubblewrap

    home = Path.home()
    bound = {p.relative_to(home).parts[0] for p in bubblewrap.readable_roots() if p.is_relative_to(home) and p != home}
    listed = re.findall(r"GOT-DIR (\S+) (\[[^\]]*\])", snooped)
    assert all(folder == str(home) for folder, _ in listed), listed
    assert not [name for _, names in listed for name in ast.literal_eval(names) if name not in bound], listed
    leak = _outputs(root, "seedleak")
    assert str(SANDBOX_SEED) not in leak and "<hidden>" in leak, "the seed a test saw was not scrubbed"
    nb = nbformat.read(root / "autograded" / "seedleak" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    printed = [o for c in nb.cells if nbgrader_meta(c).get("grade") for o in c.outputs if o.output_type == "stream"]
    assert not [o for o in printed if "SEED DURING THE TEST" in o.text], (
        "a graded cell shows what the submission printed"
    )
    for page in (root / "feedback").glob(f"*/{CHAPTER}/{CHAPTER}.html"):
        text = page.read_text(encoding="utf-8")
        assert str(SANDBOX_SEED) not in text and "BEGIN HIDDEN TESTS" not in text, page
        own = (sandbox_round["submitted"] / page.parts[-3] / CHAPTER / f"{CHAPTER}.ipynb").read_text()
        assert token in own or token not in text, f"{page} shows what an attack got"  # (an attack's own code names it)
    csv_text = (root / "grades" / f"{CHAPTER}.csv").read_text()
    assert str(SANDBOX_SEED) not in csv_text and token not in csv_text


@pytest.mark.slow
def test_no_network_and_no_survivors(sandbox_round):
    root = sandbox_round["root"]
    assert sandbox_round["connections"] == [], "a kernel reached a server on the host's 127.0.0.1"
    assert "CONNECTED" not in _attack_output(root, "network") and "no network" in _attack_output(root, "network")
    assert sandbox_round["alive_at_end"] == [] and sandbox_round["alive_later"] == [], sandbox_round["alive_later"]
    bomb = _attack_output(root, "forkbomb")
    assert "fork bomb stopped after" in bomb and "NO PROCESS LIMIT" not in bomb, bomb[-500:]
    fill = _attack_output(root, "diskfill")
    assert fill.count("disk full after") == 2, fill[-500:]
    mib = [int(m) for m in re.findall(r"disk full after (\d+) MiB", fill)]
    assert max(mib) < 1100, f"the scratch space is not limited: {mib} MiB"


def test_autograde_refuses_to_grade_without_the_sandbox(tmp_path, monkeypatch, capsys):
    from grader import __main__ as cli
    from grader.execution import bubblewrap

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    bubblewrap.problem.cache_clear()
    try:
        nbformat.write(hostile.release(), tmp_path / "ann.ipynb")
        code = cli.main(["autograde", str(tmp_path), "--chapter", CHAPTER, "--out", str(tmp_path / "course")])
    finally:
        bubblewrap.problem.cache_clear()
    err = capsys.readouterr().err
    assert code == 2 and "bubblewrap" in err and "apt-get install -y bubblewrap" in err and "--no-sandbox" in err
    assert not (tmp_path / "course" / "grades").exists(), "nothing is graded without the sandbox"


@pytest.mark.slow
def test_no_sandbox_grades_and_says_so(tmp_path):
    nbformat.write(hostile.release(), tmp_path / "ann.ipynb")
    said = []
    code, rows = autograde(
        tmp_path, CHAPTER, out=tmp_path / "course", overrides=OVERRIDES, sandbox=False, echo=said.append
    )
    assert code == 0 and rows[0].status == "graded" and rows[0].total == 0
    assert said[0].startswith("WARNING: graded WITHOUT the sandbox")
    assert read_csv(tmp_path / "course" / "grades" / f"{CHAPTER}.csv")["ann"]["sandbox"] == "NONE (--no-sandbox)"
