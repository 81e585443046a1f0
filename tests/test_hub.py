"""A class on a real JupyterHub: release, fetch, submit, collect and grade, then the course update with
nbgitpuller, then the student's and the instructor's views in a real browser; and, without the hub,
nbgrader's exchange as Zero to JupyterHub runs it (every user the same `jovyan`).

The hub (tools/hub/jupyterhub_config.py) runs on loopback with its configurable-http-proxy, the shared
password authenticator and the local process spawner; the instructor and the two students are real
system users. Everything is driven the way the users would: the nbgrader buttons' REST calls in each
user's own JupyterLab, the grading command typed into the instructor's terminal.

Needs root, `make hub-setup` (tools/hub/setup.sh) and, for the browser, Debian's Chromium with the pip
`playwright` package. Missing any of them skips with the reason, except with AIECOURSE_CI=1 (set by
.ci/run), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests
from conftest import CHROMIUM_ARGS
from hubclass import HIDDEN_SEED, PASSWORD, ClassHub, free_port, prerequisites, read_grades

from grader.notebooks import REPO_ROOT, is_solution, nbgrader_meta, notebook_path

pytestmark = pytest.mark.hub


CHAPTER = "02_attention"
ARTIFACTS = REPO_ROOT / "artifacts" / "hub"
CLASS_CYCLE_BOUND_S = 300  # hub start + three spawns + the whole class cycle; about 1 minute on an idle machine
CHROMIUM = os.environ.get("AIECOURSE_CHROMIUM", "/usr/bin/chromium")


def missing(reason: str):
    if os.environ.get("AIECOURSE_CI") == "1":
        pytest.fail(f"{reason} (AIECOURSE_CI=1: required here, not skipped)", pytrace=False)
    pytest.skip(reason)


def grading_command(chapter: str) -> tuple[str, str]:
    """The grading step the instructor types in ~/aiecourse: (command, the grades CSV it writes there)."""
    return f"python -m grader autograde submitted --chapter {chapter} --jobs 2", f"grades/{chapter}.csv"


@pytest.fixture(scope="module")
def hub():
    lacking = prerequisites()
    if lacking:
        missing("the class hub needs " + "; ".join(lacking))
    h = ClassHub()
    try:
        h.start()
        yield h
    finally:
        h.save_logs(ARTIFACTS)
        t0 = time.monotonic()
        problems = h.stop()
        h.timings["stop"] = time.monotonic() - t0
        h.save_logs(ARTIFACTS)
        assert not problems, "clean-up failed: " + "; ".join(problems)


def assignment_status(hub: ClassHub, student: str) -> set[str]:
    """The chapter's entries in the student's Assignment List (what its panel shows): released, fetched,
    and one `submitted` per submission."""
    body = hub.call("GET", student, "assignments?course_id=aiecourse").json()
    assert body.get("success"), body
    return {a["status"] for a in body["value"] if a["assignment_id"] == CHAPTER}


def release(hub: ClassHub) -> None:
    """The instructor's formgrader: Generate, then Release (the two buttons' REST calls)."""
    if (hub.exchange / "aiecourse" / "outbound" / CHAPTER).exists():
        return
    hub.action(hub.instructor, f"formgrader/api/assignment/{CHAPTER}/assign")
    hub.action(hub.instructor, f"formgrader/api/assignment/{CHAPTER}/release")


def fill_in_solutions(nb: dict) -> int:
    """The instructor's solutions typed into the released notebook's exercise cells; returns how many."""
    source = nbformat.read(notebook_path(CHAPTER), as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if is_solution(c)}
    filled = 0
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
            filled += 1
    return filled


def stubs(nb: dict) -> int:
    """Exercise cells still holding the release's `raise NotImplementedError()`."""
    return sum("raise NotImplementedError()" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_class_cycle(hub: ClassHub):
    """Release -> two students fetch -> one solves, one does not -> both submit -> collect -> grade."""
    t0 = time.monotonic()
    ada, bob = hub.students
    nb_path = f"{CHAPTER}/{CHAPTER}.ipynb"

    # Students have the assignment list but not the formgrader; the instructor has both.
    assert (
        requests.get(hub.user_url(ada, "formgrader/api/status"), headers=hub.http.headers, timeout=30).status_code
        == 404
    ), "a student's server serves the formgrader (tools/hub/jupyter/student/jupyter_server_config.json not applied?)"
    hub.call("GET", hub.instructor, "formgrader/api/status")

    release(hub)
    for student in (ada, bob):
        assert assignment_status(hub, student) == {"released"}
    hub.timings["release"] = time.monotonic() - t0

    t = time.monotonic()
    for student in (ada, bob):
        hub.call("POST", student, "assignments/fetch", data={"course_id": "aiecourse", "assignment_id": CHAPTER})
        assert assignment_status(hub, student) == {"fetched"}, f"{student} could not fetch {CHAPTER}\n{hub.log_tail()}"
        assert (hub.home(student) / CHAPTER / f"{CHAPTER}.ipynb").exists()

    nb = hub.read_notebook(ada, nb_path)
    exercises = stubs(nb)
    assert fill_in_solutions(nb) == exercises >= 3
    hub.write_notebook(ada, nb_path, nb)
    assert stubs(hub.read_notebook(ada, nb_path)) == 0
    assert stubs(hub.read_notebook(bob, nb_path)) == exercises

    for student in (ada, bob):
        hub.action(student, "assignments/submit", course_id="aiecourse", assignment_id=CHAPTER)
        assert assignment_status(hub, student) == {"fetched", "submitted"}
    hub.timings["fetch_edit_submit"] = time.monotonic() - t
    # Each student is their own system user: the exchange's inbound folder is write-only for them.
    peek = subprocess.run(
        ["runuser", "-u", bob, "--", "ls", str(hub.exchange / "aiecourse" / "inbound")], capture_output=True, text=True
    )
    assert peek.returncode != 0 and "Permission denied" in peek.stderr, f"{bob} can list the submissions: {peek.stdout}"

    t = time.monotonic()
    hub.action(hub.instructor, f"formgrader/api/assignment/{CHAPTER}/collect")
    course = hub.home(hub.instructor) / "aiecourse"
    for student in (ada, bob):
        assert (course / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb").exists(), (
            f"{student}'s submission not collected"
        )

    # The hidden tests' seed reaches the instructor's server only.
    rc, out = hub.terminal(bob, 'test -z "$AIECOURSE_HIDDEN_SEED"', timeout=60)
    assert rc == 0, f"a student's server has AIECOURSE_HIDDEN_SEED:\n{out}"
    command, grades_csv = grading_command(CHAPTER)
    rc, out = hub.terminal(
        hub.instructor, f'test "$AIECOURSE_HIDDEN_SEED" = {HIDDEN_SEED} && cd ~/aiecourse && {command}', timeout=240
    )
    (ARTIFACTS).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "grading_terminal.txt").write_text(out)
    assert rc == 0, f"the grading command failed ({rc}) in the instructor's terminal:\n{out[-4000:]}"
    hub.timings["collect_grade"] = time.monotonic() - t

    grades = read_grades(course / grades_csv)
    assert set(grades) == {ada, bob}, grades
    assert {g["status"] for g in grades.values()} == {"graded"}, grades
    score, max_score = grades[ada]["total"], grades[ada]["max"]
    assert max_score >= 10, grades
    assert score == max_score, f"{ada} submitted the solutions but scored {score}/{max_score}: {grades[ada]}"
    assert grades[bob]["total"] == 0.0 and grades[bob]["max"] == max_score, (
        f"{bob} submitted the untouched release but scored {grades[bob]}"
    )
    # Where the formgrader and `nbgrader export` read grades: the course's gradebook, and each student's feedback.
    for student in (ada, bob):
        assert (course / "feedback" / student / CHAPTER / f"{CHAPTER}.html").exists(), f"no feedback for {student}"
    assert (course / "gradebook.db").exists()

    # Feedback back to the students: the formgrader's *Release Feedback*, then each student's *Fetch Feedback*.
    hub.action(hub.instructor, f"formgrader/api/assignment/{CHAPTER}/release_feedback")
    for student in (ada, bob):
        hub.call(
            "POST", student, "assignments/fetch_feedback", data={"course_id": "aiecourse", "assignment_id": CHAPTER}
        )
        pages = list((hub.home(student) / CHAPTER / "feedback").glob(f"*/{CHAPTER}.html"))
        assert len(pages) == 1, f"{student} fetched no feedback ({pages})\n{hub.log_tail()}"
        page = pages[0].read_text()
        assert "BEGIN HIDDEN TESTS" not in page, f"{student}'s feedback shows the hidden tests"
        expected = f"Score: {grades[student]['total']:g} / {max_score:g}"
        assert expected in page, f"{student}'s feedback does not say {expected!r}"
    hub.timings["feedback"] = time.monotonic() - t - hub.timings["collect_grade"]

    total = time.monotonic() - hub.started
    hub.timings["class_cycle_total"] = total
    print(f"\nclass hub timings (s): {json.dumps({k: round(v, 1) for k, v in hub.timings.items()})}")
    assert total < CLASS_CYCLE_BOUND_S, f"the class cycle took {total:.0f} s (bound {CLASS_CYCLE_BOUND_S} s)"


def test_course_update_with_nbgitpuller(hub: ClassHub):
    """An nbgitpuller link clones the course into a student's home; after an update, the same link
    brings the new files and keeps the student's own edits."""
    t0 = time.monotonic()
    student = hub.students[1]
    repos = hub.base / "git"
    work = repos / "work"
    shutil.copytree(REPO_ROOT / "course" / CHAPTER, work / "course" / CHAPTER)
    git = [
        "git",
        "-c",
        "user.name=Instructor",
        "-c",
        "user.email=instructor@example.org",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "chapter 02"], check=True)
    subprocess.run([*git, "clone", "-q", "--bare", str(work), str(repos / "aiecourse.git")], check=True)
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={repos}",
            str(repos),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    hub.procs.append(daemon)
    repo_url = f"git://127.0.0.1:{port}/aiecourse.git"

    def pull() -> list[dict]:
        r = hub.call(
            "GET",
            student,
            "git-pull/api",
            params={"repo": repo_url, "branch": "main", "targetpath": "aiecourse"},
            timeout=120,
        )
        events = [json.loads(line[len("data: ") :]) for line in r.text.splitlines() if line.startswith("data: ")]
        assert events and events[-1].get("phase") == "finished", f"nbgitpuller did not finish: {events[-3:]}"
        return events

    deadline = time.monotonic() + 20  # the daemon needs a moment to listen
    while True:
        try:
            pull()
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    nb_path = f"aiecourse/course/{CHAPTER}/{CHAPTER}.ipynb"
    nb = hub.read_notebook(student, nb_path)
    assert any("raise NotImplementedError()" in "".join(c["source"]) for c in nb["cells"])

    # The student works in the pulled copy; the instructor publishes an update.
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my notes"})
    hub.write_notebook(student, nb_path, nb)
    (work / "course" / "UPDATES.md").write_text("Chapter 02: a clearer hint for the causal mask.\n")
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "update"], check=True)
    subprocess.run([*git, "-C", str(work), "push", "-q", str(repos / "aiecourse.git"), "main"], check=True)

    pull()
    assert (
        "clearer hint"
        in hub.call("GET", student, "api/contents/aiecourse/course/UPDATES.md?content=1").json()["content"]
    )
    nb = hub.read_notebook(student, nb_path)
    assert nb["cells"][-1]["source"] == "my notes", "nbgitpuller lost the student's own edit"

    # The link an instructor shares opens nbgitpuller's page in the student's server.
    page = hub.call(
        "GET",
        student,
        "git-pull",
        params={"repo": repo_url, "branch": "main", "urlpath": f"lab/tree/aiecourse/course/{CHAPTER}/{CHAPTER}.ipynb"},
    )
    assert "git-pull" in page.text
    hub.timings["nbgitpuller"] = time.monotonic() - t0


@pytest.mark.browser
def test_browser_views(hub: ClassHub):
    """The student's Assignment List shows the chapter; the instructor's formgrader lists it."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium ({CHROMIUM}): apt-get install -y chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the pip package playwright (pip install playwright)")
    release(hub)
    t0 = time.monotonic()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    student = hub.students[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            for user in (student, hub.instructor):
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.set_default_timeout(90_000)
                page.goto(f"{hub.url}/hub/login")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", PASSWORD)
                page.click("input[type=submit], button[type=submit]")
                page.wait_for_url(f"**/user/{user}/lab**")
                if user == student:
                    page.locator("#jp-main-statusbar").wait_for()
                    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
                    page.locator("li.lm-Menu-item[data-command='nbgrader:open-assignment-list']").click()
                    panel = page.locator("#nbgrader-assignment-list")
                    panel.get_by_text(CHAPTER).first.wait_for()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(ARTIFACTS / "student_assignment_list.png"))
                    text = panel.inner_text()
                    assert CHAPTER in text, text
                    menu = page.locator(".lm-MenuBar-item", has_text="Nbgrader")
                    menu.click()
                    page.locator(
                        "li.lm-Menu-item[data-command='nbgrader:open-assignment-list'] >> visible=true"
                    ).wait_for()
                    formgrader_item = "li.lm-Menu-item[data-command='nbgrader:open-formgrader'] >> visible=true"
                    assert page.locator(formgrader_item).count() == 0, "a student sees the Formgrader menu item"
                    page.keyboard.press("Escape")
                else:
                    page.goto(hub.user_url(user, "formgrader/manage_assignments"))
                    row = page.locator("tr", has_text=CHAPTER).first
                    row.wait_for()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(ARTIFACTS / "instructor_formgrader.png"))
                    assert "released" in row.inner_text(), (
                        f"the formgrader does not show {CHAPTER} as released: {row.inner_text()}"
                    )
                    # as many submissions as the instructor has collected (two after test_class_cycle)
                    collected = list((hub.home(user) / "aiecourse" / "submitted").glob(f"*/{CHAPTER}"))
                    column = [h.strip() for h in page.locator("thead th").all_inner_texts()].index("# Submissions")
                    shown = row.locator("td").nth(column).inner_text().strip()
                    assert shown == str(len(collected)), (
                        f"the formgrader shows {shown} submissions, {len(collected)} collected"
                    )
        finally:
            browser.close()
    hub.timings["browser"] = time.monotonic() - t0


def test_exchange_when_every_user_is_jovyan():
    """Zero to JupyterHub runs every user's pod as the same user, jovyan (uid 1000), with the exchange on a
    shared volume. Emulated here with one system user `jovyan` and one home folder per hub user:
    nbgrader names each submission after JUPYTERHUB_USER, so grades land on the right students; and the
    exchange's permissions no longer keep one student from reading another's submission
    (docs/jupyterhub.md, part 4)."""
    lacking = prerequisites()
    if lacking:
        missing("the exchange emulation needs " + "; ".join(lacking))
    if subprocess.run(["id", "jovyan"], capture_output=True).returncode == 0:
        pytest.skip("a user named jovyan already exists on this machine; the emulation creates and deletes its own")
    from hubclass import HUB_VENV

    base = Path(tempfile.mkdtemp(prefix="aiecourse-z2jh-", dir="/tmp"))
    base.chmod(0o755)
    created = False
    try:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/bin/bash", "--user-group", "jovyan"],
            check=True,
            capture_output=True,
        )
        created = True
        exchange = base / "exchange"  # the shared volume, after the init container's chmod 0777
        exchange.mkdir()
        exchange.chmod(0o777)
        jupyter = base / "jupyter"
        shutil.copytree(REPO_ROOT / "tools" / "hub" / "jupyter", jupyter)
        homes = {name: base / "pods" / name for name in ("prof", "ada", "bob")}  # one home volume per pod
        course = homes["prof"] / "aiecourse"
        for name in ("solutions", "course", "grader"):
            shutil.copytree(REPO_ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        for home in homes.values():
            home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
        subprocess.run(["chown", "-R", "jovyan:jovyan", str(base / "pods")], check=True)

        def pod(user: str, role: str, *command: str, cwd: Path) -> subprocess.CompletedProcess:
            env = {
                "HOME": str(homes[user]),
                "JUPYTERHUB_USER": user,
                "USER": "jovyan",
                "LANG": "C.UTF-8",
                "PATH": f"{HUB_VENV / 'bin'}:/usr/bin:/bin",
                "AIECOURSE_EXCHANGE": str(exchange),
                "JUPYTER_CONFIG_PATH": f"{jupyter / role}:{jupyter / 'shared'}",
            }
            return subprocess.run(
                ["runuser", "-u", "jovyan", "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=180,
            )

        def ok(proc: subprocess.CompletedProcess) -> None:
            assert proc.returncode == 0, f"{proc.args[-3:]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"

        ok(pod("prof", "instructor", "nbgrader", "release_assignment", CHAPTER, cwd=course))
        for student in ("ada", "bob"):
            ok(pod(student, "student", "nbgrader", "fetch_assignment", CHAPTER, cwd=homes[student]))
            ok(pod(student, "student", "nbgrader", "submit", CHAPTER, cwd=homes[student]))
        ok(pod("prof", "instructor", "nbgrader", "collect", CHAPTER, cwd=course))
        assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ada", "bob"], (
            "submissions are not named after the hub users"
        )

        # The same uid everywhere: bob's pod can list the inbound folder and read ada's submission.
        inbound = exchange / "aiecourse" / "inbound"
        listing = pod("bob", "student", "ls", "-1", str(inbound), cwd=homes["bob"])
        ok(listing)
        theirs = [name for name in listing.stdout.splitlines() if name.startswith("ada+")]
        assert theirs, listing.stdout
        ok(pod("bob", "student", "cat", str(inbound / theirs[0] / f"{CHAPTER}.ipynb"), cwd=homes["bob"]))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if created:
            subprocess.run(["userdel", "jovyan"], capture_output=True)
            assert subprocess.run(["id", "jovyan"], capture_output=True).returncode != 0, "could not delete user jovyan"
