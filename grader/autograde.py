"""``python -m grader autograde SUBMISSIONS --chapter CHAPTER [--jobs N] [--out DIR]``: grade a class.

The grades go where an instructor's tools look for them: nbgrader's gradebook of the course root
(``DIR``, default the course root of ``grader/nbgrader_config.py``), so the formgrader shows them and
``nbgrader export`` exports them; ``autograded/`` and ``feedback/`` as nbgrader lays them out (so
``nbgrader release_feedback`` hands the feedback back); and ``grades/<chapter>.csv``.

How a round goes:

1. **Intake** (``grader.intake``): the submissions, in any of three layouts, each checked and repaired.
   An invalid one (no notebook, corrupt JSON, another chapter's) gets zero and its reason at once.
2. **Grading in parallel.** ``--jobs`` worker processes (``grader.execution.worker``) each take one submission
   at a time and run nbgrader's real ``autograde`` and ``generate_feedback`` on it, in a scratch
   course root of its own with its own copy of the assignment's gradebook. nbgrader's gradebook is
   SQLite, and nbgrader was not written for two processes grading into one database (each
   autograde creates, updates and deletes rows across several tables in many transactions), so no
   two processes ever write the same database: the workers write scratch databases only. Every
   submission's kernel runs in a bubblewrap sandbox (``grader.execution.bubblewrap``): it cannot
   reach this folder, the gradebook or anything else it could use to change a result; a round
   refuses to start without the sandbox unless asked (``--no-sandbox``), see docs/sandbox.md.
3. **One writer.** This process alone writes the course's gradebook: as each submission finishes,
   its grades are copied in through nbgrader's Gradebook API, one short transaction per student,
   in the order they finish. A student's earlier manual grades are kept (nbgrader's own rule: a
   manual score stays, and the grade is marked for review if the autograde score changed).
4. **Feedback and CSV**: each student's nbgrader feedback page (hidden tests cut out) with a summary
   on top, and a CSV with the points per test, the total, the maximum and a status: ``graded``,
   ``timed out``, ``crashed`` or ``invalid``, with the reason.

Late submissions are penalised as plain ``nbgrader autograde`` does (the due date and extensions from
the course's gradebook, the penalty from nbgrader's ``LateSubmissionPlugin``, computed in the course's
gradebook so that manual grades count); the submission time comes from the layout or ``--submitted-at``.

A rerun grades the same submissions to the same gradebook rows, files and CSV (idempotent).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import intake
from . import seed as hidden
from .config import CONFIG, load_config
from .environment import put_interpreter_on_path
from .notebooks import REPO_ROOT, SOLUTIONS, chapters

STATUSES = ("graded", "timed out", "crashed", "invalid")
NO_SANDBOX_WARNING = (
    "WARNING: graded WITHOUT the sandbox (--no-sandbox): submitted code ran with the grader's rights "
    "and could have changed any result of this round"
)


class SandboxUnavailable(RuntimeError):
    """The grading sandbox cannot start on this machine; the message says why and what to do."""


@dataclass
class Row:
    student: str
    status: str
    reason: str = ""
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max: float = 0.0
    flags: list[str] = field(default_factory=list)
    grader_error: bool = False
    raw: float = 0.0  # points before the late penalty
    penalty: float = 0.0  # nbgrader's late penalty (LateSubmissionPlugin); total = max(0, raw - penalty)
    submitted: str = ""  # when it was submitted (UTC), if known
    due: str = ""  # the student's due date, extension included (UTC), if the chapter has one
    seconds_late: float = 0.0


class _Workers:
    """``jobs`` long-lived grading processes fed from a queue; a stuck or dead one is replaced."""

    def __init__(self, jobs: int, chapter: str, overrides: dict, env: dict, limit: float, log: Path):
        self.chapter, self.overrides, self.env, self.limit, self.log = chapter, overrides, env, limit, log
        self.tasks: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(jobs)]
        self.running: dict[str, float] = {}  # student -> time.monotonic() when their grading began

    def _spawn(self):
        return subprocess.Popen(
            [sys.executable, "-m", "grader.execution.worker", self.chapter, json.dumps(self.overrides)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "a"),
            text=True,
            env=self.env,
            cwd=str(REPO_ROOT),
            start_new_session=True,
        )

    @staticmethod
    def _kill(proc) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()

    def _run(self) -> None:
        proc = self._spawn()
        try:
            while True:
                task = self.tasks.get()
                if task is None:
                    break
                student, root = task
                problem = None
                self.running[student] = time.monotonic()
                try:
                    proc.stdin.write(json.dumps({"root": str(root), "student": student}) + "\n")
                    proc.stdin.flush()
                    ready, _, _ = select.select([proc.stdout], [], [], self.limit)
                    line = proc.stdout.readline() if ready else None
                    if line is None:
                        problem = ("timed out", f"the grader stopped this submission after {self.limit:.0f} s")
                    elif not line:
                        problem = ("crashed", "the grading process died while grading this submission")
                except (BrokenPipeError, OSError):
                    problem = ("crashed", "the grading process died while grading this submission")
                if problem is not None:
                    self._kill(proc)
                    proc = self._spawn()
                self.running.pop(student, None)
                self.done.put((student, root, problem))
        finally:
            try:
                proc.stdin.close()
                proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                self._kill(proc)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def longest_running(self) -> tuple[str, float] | None:
        """The submission being graded for the longest time now, and for how many seconds."""
        running = dict(self.running)
        if not running:
            return None
        student = min(running, key=running.get)
        return student, time.monotonic() - running[student]

    def stop(self) -> None:
        for _ in self.threads:
            self.tasks.put(None)
        for t in self.threads:
            t.join()


def _api(root: Path, overrides: dict | None = None):
    from nbgrader.apps.api import NbGraderAPI

    return NbGraderAPI(config=load_config(overrides, root))


def _assignment_signature(db: Path, chapter: str):
    from nbgrader.api import Gradebook, MissingEntry

    if not db.exists():
        return None
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            assignment = gb.find_assignment(chapter)
        except MissingEntry:
            return None
        return sorted(
            (nb.name, c.name, c.checksum or "") for nb in assignment.notebooks for c in nb.source_cells
        ) + sorted((nb.name, c.name, float(c.max_score)) for nb in assignment.notebooks for c in nb.grade_cells)


def _generate(root: Path, chapter: str, release_dir: str) -> None:
    result = _api(root, {"CourseDirectory": {"release_directory": release_dir}}).generate_assignment(
        chapter, force=True, create=True
    )
    if not result.get("success"):
        raise RuntimeError(
            f"nbgrader generate_assignment {chapter} failed in {root}:\n"
            + (result.get("error") or result.get("log") or "")[-3000:]
        )


def _template_root(root: Path, chapter: str) -> Path:
    """A course root holding the chapter's source and a gradebook with only its assignment (nbgrader
    generate_assignment), kept in ``.autograde/`` while the source and the configuration stay the same."""
    import hashlib

    import nbgrader

    digest = hashlib.sha1(nbgrader.__version__.encode() + CONFIG.read_bytes())
    for path in sorted((SOLUTIONS / chapter).rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(SOLUTIONS)).encode() + path.read_bytes())
    template = root / ".autograde" / f"template-{chapter}-{digest.hexdigest()[:12]}"
    if (template / "gradebook.db").is_file() and (template / "course" / chapter / f"{chapter}.ipynb").is_file():
        return template
    for old in (root / ".autograde").glob(f"template-{chapter}-*"):
        shutil.rmtree(old, ignore_errors=True)
    building = template.with_name(template.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(
        SOLUTIONS / chapter,
        building / "solutions" / chapter,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    _generate(building, chapter, "course")
    building.rename(template)
    return template


def _event_note(event: dict) -> str | None:
    kind, detail, test = event.get("kind"), event.get("detail", ""), event.get("grade_id")
    if kind == "restored":
        return f"before {test} ran, the grader undid changes your code had made to: {detail}"
    if kind == "tampered":
        return f"while {test} ran, your code changed {detail}: that test scores zero"
    if kind == "guard-failed":
        return f"the grader could not check the kernel around {test} ({detail}): that test scores zero"
    if kind in ("timeout", "crash", "memory", "truncated"):
        return detail
    return None


@dataclass
class Round:
    """One grading round: what every step reads and what it leaves for the next."""

    chapter: str
    jobs: int
    overrides: dict
    config: object
    root: Path
    source: Path
    work: Path
    sandboxed: bool
    seed_fingerprint: str = ""
    public_seed: bool = False
    students: list[str] | None = None  # only these students (--student); None: every submission
    submitted_at: dict[str, str] = field(default_factory=dict)  # --submitted-at: student -> time (UTC)
    progress: bool | None = None  # a progress bar on stderr; None: when stderr is a terminal
    template: Path | None = None
    info: object = None
    rows: dict[str, Row] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    repaired: set[str] = field(default_factory=set)  # students whose test cells the intake put back
    pending: list[tuple[str, Path]] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.work / "grader.log"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"


def autograde(
    source: Path | str,
    chapter: str,
    jobs: int = 1,
    out: Path | str | None = None,
    overrides: dict | None = None,
    keep: bool = False,
    echo=print,
    sandbox: bool = True,
    students: list[str] | None = None,
    progress: bool | None = None,
    submitted_at: Path | str | dict[str, str] | None = None,
) -> tuple[int, list[Row]]:
    """Grade every submission in ``source`` (or only those of ``students``); returns (exit code, this
    round's rows). The CSV holds every student of the chapter in the gradebook, so regrading one
    student keeps the others' rows. ``submitted_at``: when each student submitted (a CSV file of
    ``student,timestamp`` or a dict), for layouts that do not say it; the chapter's due date and each
    student's extension come from the gradebook (``python -m grader deadline``), late penalties from
    nbgrader's ``LateSubmissionPlugin``. Raises ``SandboxUnavailable`` when ``sandbox`` is on and
    bubblewrap cannot start a sandbox here, ``ValueError`` for a bad ``submitted_at``."""
    start = time.time()
    times = read_submitted_at(submitted_at) if submitted_at is not None else {}
    rnd = _begin(source, chapter, jobs, out, overrides, sandbox)
    rnd.students, rnd.progress, rnd.submitted_at = (list(students) if students else None), progress, times
    workers = _start_workers(rnd)  # they load nbgrader while this process prepares the assignment
    try:
        _prepare_and_grade(rnd, workers, echo)
    finally:
        workers.stop()
    _totals(rnd)
    _feedback(rnd)
    csv_path = _write_csv(rnd)
    return _report(rnd, start, csv_path, echo, keep)


def _prepare_and_grade(rnd: Round, workers: _Workers, echo) -> None:
    if not rnd.sandboxed:
        echo(NO_SANDBOX_WARNING)
    seed = hidden.seed_in_use(rnd.config.GuardedExecute.get("hidden_seed"))
    rnd.seed_fingerprint = hidden.fingerprint(seed, rnd.config.CourseDirectory.get("course_id") or "aiecourse")
    rnd.public_seed = hidden.warning(seed) is not None
    if rnd.public_seed:
        echo(hidden.warning(seed))
    echo(f"hidden-test seed: fingerprint {rnd.seed_fingerprint} (the same seed gives the same fingerprint)")
    _template(rnd)
    _intake(rnd, echo)
    _run_and_record(rnd, workers, echo)


def read_submitted_at(source: Path | str | dict[str, str]) -> dict[str, str]:
    """Submission times by student (UTC, as nbgrader's ``timestamp.txt``) from a dict or a CSV file whose
    header has ``student`` and ``timestamp`` (or ``submitted_at``); a time without a zone is UTC.
    Raises ValueError naming the file and line of anything it cannot read."""
    from .intake import safe_student_id, utc_timestamp

    if isinstance(source, dict):
        return {safe_student_id(k): utc_timestamp(str(v)) for k, v in source.items()}
    path = Path(source)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [name.strip().lower() for name in reader.fieldnames or []]
            column = next((c for c in ("timestamp", "submitted_at", "submitted") if c in fields), None)
            if "student" not in fields or column is None:
                raise ValueError(
                    f"{path}: the first line must name the columns student and timestamp (found: {', '.join(fields) or 'nothing'})"
                )
            times = {}
            for line, row in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                if not row.get("student"):
                    continue
                try:
                    times[safe_student_id(row["student"])] = utc_timestamp(row[column])
                except ValueError as e:
                    raise ValueError(f"{path}, line {line} ({row['student']}): {e}") from None
            return times
    except OSError as e:
        raise ValueError(f"--submitted-at {path}: {e.strerror or e}") from None


def _begin(source, chapter: str, jobs: int, out, overrides: dict | None, sandbox: bool) -> Round:
    """The round's settings and a fresh scratch folder; refuses to start without a sandbox unless asked."""
    warnings.filterwarnings("ignore", module="nbgrader")  # nbgrader's SQLAlchemy 2 warnings: noise, grades are right
    warnings.filterwarnings("ignore", message=".*not in session.*")
    put_interpreter_on_path()
    if chapter not in chapters():
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are: {', '.join(chapters())}")
    if sandbox:
        from .execution import bubblewrap

        problem = bubblewrap.problem()
        if problem is not None:
            raise SandboxUnavailable(
                f"the grading sandbox cannot start: {problem}.\n"
                "Every submission's code runs in a bubblewrap sandbox (docs/sandbox.md); set it up with "
                f"`{bubblewrap.INSTALL}` (or `make hub-setup`), or grade without it with --no-sandbox "
                "(submitted code then runs with your rights: only for code you trust)."
            )
    jobs = max(1, int(jobs))
    overrides = json.loads(json.dumps(overrides or {}))
    guarded = overrides.setdefault("GuardedExecute", {})
    guarded.setdefault("threads", max(1, (os.cpu_count() or 1) // jobs))
    guarded["sandbox"] = bool(sandbox)
    guarded.setdefault("fork_kernels", bool(sandbox))  # grader.execution.zygote: ~3 s less per submission
    config = load_config(overrides)
    root = Path(out or config.CourseDirectory.root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    work = root / ".autograde" / chapter
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return Round(chapter, jobs, overrides, config, root, Path(source).resolve(), work, bool(sandbox))


def _template(rnd: Round) -> None:
    """The assignment: a template course root (solutions + gradebook) copied for every submission,
    and the course's own gradebook brought up to date with the chapter's source."""
    import nbformat

    chapter, root = rnd.chapter, rnd.root
    rnd.template = template = _template_root(root, chapter)
    if (root / "solutions" / chapter).resolve() != (SOLUTIONS / chapter).resolve():
        if (root / "solutions" / chapter).exists():
            shutil.rmtree(root / "solutions" / chapter)
        shutil.copytree(template / "solutions" / chapter, root / "solutions" / chapter)
    if not (root / "gradebook.db").exists():  # a new course root: the template's gradebook is the same assignment
        shutil.copy(template / "gradebook.db", root / "gradebook.db")
    if _assignment_signature(root / "gradebook.db", chapter) != _assignment_signature(
        template / "gradebook.db", chapter
    ):
        _generate(root, chapter, f".autograde/{chapter}/release")
    rnd.info = intake.ChapterInfo(
        chapter,
        nbformat.read(SOLUTIONS / chapter / f"{chapter}.ipynb", as_version=4),
        nbformat.read(template / "course" / chapter / f"{chapter}.ipynb", as_version=4),
    )


def _intake(rnd: Round, echo) -> None:
    """Every submission checked and repaired; an invalid one gets its row at once, the others a
    scratch course root of their own (``.autograde/<chapter>/jobs/<student>``)."""
    import nbformat

    chapter, root, template, info = rnd.chapter, rnd.root, rnd.template, rnd.info
    submissions, remarks, layout = intake.find_submissions(rnd.source, chapter, rnd.config, workdir=rnd.work)
    if rnd.students is not None:
        found = {s.student for s in submissions}
        missing = [s for s in rnd.students if s not in found]
        if missing:
            raise ValueError(
                f"--student {', '.join(missing)}: no submission of {chapter} in {rnd.source}; "
                f"it has: {', '.join(sorted(found)) or 'none'}"
            )
        submissions = [s for s in submissions if s.student in rnd.students]
    echo(f"{len(submissions)} submission(s) of {chapter} ({layout}) from {rnd.source}")
    for remark in remarks:
        echo(f"  note: {remark}")
    due, extensions, stored = _deadlines(rnd)
    _submission_times(rnd, submissions, stored, due, echo)
    known = intake.known_chapter_ids()
    max_bytes = intake.SubmissionIntake(config=rnd.config).max_notebook_bytes
    received = rnd.source / "submitted" if (rnd.source / "submitted").is_dir() else rnd.source
    in_place = received.resolve() == (root / "submitted").resolve()  # the course's own submitted/ (nbgrader collect)
    for sub in submissions:
        nb = None if sub.problem else intake.check_notebook(sub, info, known, max_bytes)
        rnd.notes[sub.student] = list(sub.notes)
        if nb is None:
            rnd.rows[sub.student] = Row(sub.student, "invalid", sub.problem or "no notebook")
            continue
        nb, repaired = intake.prepare(nb, info)
        rnd.notes[sub.student] += repaired
        if repaired:
            rnd.repaired.add(sub.student)
        rnd.rows[sub.student] = Row(sub.student, "graded", flags=intake.scan_source(nb, info))
        task_root = rnd.work / "jobs" / sub.student
        target = task_root / "submitted" / sub.student / chapter
        target.mkdir(parents=True)
        shutil.copy(template / "gradebook.db", task_root / "gradebook.db")
        if due is not None or sub.student in extensions:
            _copy_deadline(task_root / "gradebook.db", chapter, sub.student, due, extensions.get(sub.student))
        shutil.copytree(template / "solutions", task_root / "solutions")
        nbformat.write(nb, target / f"{chapter}.ipynb")
        if sub.timestamp:
            (target / "timestamp.txt").write_text(sub.timestamp)
        if sub.secret:
            (target / "submission_secret.txt").write_text(sub.secret)
        if not in_place:
            dest = root / "submitted" / sub.student / chapter
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(target, dest)
        rnd.pending.append((sub.student, task_root))


def _deadlines(rnd: Round):
    """From the course's gradebook: the chapter's due date, each student's extension, and the submission
    time recorded for each student by an earlier round (nbgrader keeps it when a rerun has none)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(rnd.db_url, rnd.config.CourseDirectory.course_id) as gb:
        try:
            assignment = gb.find_assignment(rnd.chapter)
        except MissingEntry:
            return None, {}, {}
        extensions = {s.student.id: s.extension for s in assignment.submissions if s.extension}
        stored = {s.student.id: s.timestamp for s in assignment.submissions if s.timestamp}
        return assignment.duedate, extensions, stored


def _submission_times(rnd: Round, submissions, stored: dict, due, echo) -> None:
    """Each submission's time: ``--submitted-at`` first, then what its layout says, then the gradebook's."""
    unknown = sorted(set(rnd.submitted_at) - {s.student for s in submissions})
    if unknown and rnd.students is None:
        echo(
            f"  note: --submitted-at names {len(unknown)} student(s) with no submission here: {', '.join(unknown[:10])}"
        )
    for sub in submissions:
        if sub.student in rnd.submitted_at:
            sub.timestamp, sub.timestamp_from = rnd.submitted_at[sub.student], "--submitted-at"
        elif not sub.timestamp and sub.student in stored:
            sub.timestamp = stored[sub.student].strftime(intake.TIMESTAMP)
            sub.timestamp_from = "the gradebook (an earlier round)"
    if due is not None:
        untimed = [s.student for s in submissions if not s.timestamp and not s.problem]
        echo(f"  due date: {intake.shown_utc(due)}; submission times from: " + _time_sources(submissions))
        if untimed:
            echo(
                f"  note: no submission time for {len(untimed)} student(s) ({', '.join(untimed[:10])}): "
                "not late as far as the grader knows (give --submitted-at)"
            )


def _time_sources(submissions) -> str:
    counts: dict[str, int] = {}
    for sub in submissions:
        counts[sub.timestamp_from or "nowhere"] = counts.get(sub.timestamp_from or "nowhere", 0) + 1
    return ", ".join(f"{source} ({n})" for source, n in sorted(counts.items()))


def _copy_deadline(db: Path, chapter: str, student: str, due, extension) -> None:
    """The due date and the student's extension into a scratch gradebook, where nbgrader's late penalty
    is computed as in the course's own (``SubmittedAssignment.total_seconds_late``)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_assignment(chapter, duedate=due)
        if extension:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(chapter, student, extension=extension)


def _start_workers(rnd: Round) -> _Workers:
    """``--jobs`` grading processes (fewer when ``--student`` names fewer), started now."""
    limit = float(rnd.config.GuardedExecute.get("submission_timeout", 900)) + 180
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in [str(REPO_ROOT), str(REPO_ROOT / "course"), os.environ.get("PYTHONPATH", "")] if p
        ),
    }
    wanted = min(rnd.jobs, len(rnd.students)) if rnd.students else rnd.jobs
    workers = _Workers(max(1, wanted), rnd.chapter, rnd.overrides, env, limit, rnd.log)
    workers.start()
    return workers


def _run_and_record(rnd: Round, workers: _Workers, echo) -> None:
    """The workers run nbgrader on each submission (its kernel in the sandbox); this thread alone
    writes the course's gradebook and ``autograded/``, from what each worker reported."""
    if not rnd.pending:
        return
    for task in rnd.pending:
        workers.tasks.put(task)
    bar = _progress_bar(len(rnd.pending), rnd.progress)
    try:
        for n in range(len(rnd.pending)):
            while True:
                try:
                    student, task_root, problem = workers.done.get(timeout=1.0)
                    break
                except queue.Empty:
                    _show_longest(bar, workers)
            row = rnd.rows[student]
            result = _read_result(task_root) if problem is None else {}
            _judge_row(rnd, row, result, problem)
            rnd.results[student] = result
            _record(rnd, student, row, result, task_root)
            line = f"  [{n + 1}/{len(rnd.pending)}] {student}: {row.status}" + (
                f" ({row.reason})" if row.reason else ""
            )
            if bar is not None:
                with bar.external_write_mode():
                    echo(line)
                bar.update(1)
                _show_longest(bar, workers)
            else:
                echo(line)
    finally:
        if bar is not None:
            bar.close()


def _progress_bar(total: int, enabled: bool | None):
    """tqdm over the class on stderr (done/total, rate, time left), or None when it is off."""
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    return tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True, desc="grading")


def _show_longest(bar, workers: _Workers) -> None:
    if bar is None:
        return
    longest = workers.longest_running()
    bar.set_postfix_str(f"longest now: {longest[0]} {longest[1]:.0f} s" if longest else "", refresh=True)


def _read_result(task_root: Path) -> dict:
    path = task_root / "result.json"  # written by the worker (the grader's code), never by a kernel
    return json.loads(path.read_text()) if path.exists() else {}


def _judge_row(rnd: Round, row: Row, result: dict, problem) -> None:
    """The row's status, reason and review flags from a worker's result."""
    if problem is not None:
        row.status, row.reason = problem
        row.grader_error = problem[0] == "crashed"
    elif not result.get("ok"):
        row.status, row.grader_error = "crashed", True
        last = [line for line in (result.get("error") or "unknown error").splitlines() if line.strip()]
        row.reason = f"the grader could not grade this notebook: {last[-1][:300] if last else 'unknown error'}"
    else:
        grading = result.get("grading", {})
        row.status = grading.get("status", "graded")
        row.reason = grading.get("reason", "")
        events = grading.get("events", [])
        rnd.notes[row.student] += [n for n in (_event_note(e) for e in events) if n]
        row.flags += [
            f"grader: {_event_note(e)}" for e in events if e.get("kind") in ("restored", "tampered", "guard-failed")
        ]
        if row.status == "graded" and not row.reason:
            memory = [e["detail"] for e in events if e.get("kind") == "memory"]
            row.reason = memory[0] if memory else ""


def _record(rnd: Round, student: str, row: Row, result: dict, task_root: Path) -> None:
    """One student's grades into the course's gradebook (one short transaction) and ``autograded/``."""
    from nbgrader.api import Gradebook

    chapter = rnd.chapter
    with Gradebook(rnd.db_url, rnd.config.CourseDirectory.course_id) as gb:
        gb.update_or_create_student(student)
        if result.get("ok"):
            kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
            gb.update_or_create_submission(chapter, student, **kwargs)
            events = result.get("grading", {}).get("events", [])
            timed_out = {e.get("grade_id") for e in events if e.get("kind") == "timeout"}
            review = row.status != "graded" or student in rnd.repaired or bool(row.flags)
            for nb_name, data in result["grades"].items():
                snb = gb.find_submission_notebook(nb_name, chapter, student)
                for name, g in data["grades"].items():
                    grade = gb.find_grade(name, nb_name, chapter, student)
                    grade.auto_score = g["auto_score"]
                    # nbgrader's rule (SaveAutoGrades): a manual score or no autograde score needs a person;
                    # so does a test stopped by the time limit (the formgrader then lists it for review)
                    grade.needs_manual_grade = (
                        grade.manual_score is not None or grade.auto_score is None or name in timed_out
                    )
                for name, text in data["comments"].items():
                    gb.find_comment(name, nb_name, chapter, student).auto_comment = text
                # flagged for review: timed out, crashed, test cells put back, or the guard saw tampering
                snb.flagged = bool(data["flagged"] or review)
            gb.db.commit()
            _late_penalties(rnd, gb, chapter, student)
        else:
            _zero(gb, chapter, student)
        gb.db.commit()
    autograded = task_root / "autograded" / student / chapter
    dest = rnd.root / "autograded" / student / chapter
    if dest.exists():
        shutil.rmtree(dest)
    if result.get("ok") and autograded.exists():
        shutil.copytree(autograded, dest)


def _late_penalties(rnd: Round, gb, chapter: str, student: str) -> None:
    """nbgrader's ``AssignLatePenalties``, in the course's gradebook: the configured plugin's penalty for
    each notebook of a late submission, from its score there (manual grades included), clamped to
    [0, score] as nbgrader does; None when it is not late."""
    from nbgrader.preprocessors import AssignLatePenalties

    sub = gb.find_submission(chapter, student)
    late = sub.total_seconds_late
    assigner = AssignLatePenalties(config=rnd.config)
    assigner.init_plugin()
    for snb in sub.notebooks:
        gb.db.refresh(snb)  # its score is a SQL expression over the grades just written
        snb.late_submission_penalty = None
        if late > 0:
            penalty = assigner.plugin_inst.late_submission_penalty(student, snb.score, late)
            if penalty is not None:
                snb.late_submission_penalty = min(max(0.0, float(penalty)), float(snb.score))


def _totals(rnd: Round) -> None:
    """Zero for every invalid submission, then each row's points as the gradebook now has them."""
    from nbgrader.api import Gradebook, MissingEntry

    chapter = rnd.chapter
    graded_ids, max_points = rnd.info.graded_ids, rnd.info.points()
    with Gradebook(rnd.db_url, rnd.config.CourseDirectory.course_id) as gb:
        for student, row in rnd.rows.items():
            if row.status == "invalid":
                gb.update_or_create_student(student)
                _zero(gb, chapter, student)
                shutil.rmtree(rnd.root / "autograded" / student / chapter, ignore_errors=True)
        gb.db.commit()
        for student, row in rnd.rows.items():
            try:
                sub = gb.find_submission(chapter, student)
            except MissingEntry:
                continue
            standing = _standing(sub)
            row.points = {gid: standing["points"].get(gid, 0.0) for gid in graded_ids}
            row.raw = sum(row.points.values())
            row.penalty = standing["penalty"]
            row.total = max(0.0, row.raw - row.penalty)
            row.max = sum(max_points.values())
            row.submitted, row.due, row.seconds_late = standing["submitted"], standing["due"], standing["seconds_late"]


def _scores(sub) -> dict[str, float]:
    """A gradebook submission's score per graded test (manual grades and extra credit included)."""
    return {g.name: float(g.score or 0) for snb in sub.notebooks for g in snb.grades}


def _standing(sub) -> dict:
    """What the gradebook holds for one submission: points per test, late penalty, times."""
    return {
        "points": _scores(sub),
        "penalty": float(sub.late_submission_penalty or 0.0),
        "submitted": intake.shown_utc(sub.timestamp),
        "due": intake.shown_utc(sub.duedate),
        "seconds_late": float(sub.total_seconds_late),
        "graded": any(
            g.auto_score is not None or g.manual_score is not None for snb in sub.notebooks for g in snb.grades
        ),
    }


def late_note(row: Row) -> str:
    """One sentence on a submission's time against its due date, for the feedback page ('' if none)."""
    if not row.due or not row.submitted:
        return ""
    if row.seconds_late <= 0:
        return f"Submitted {row.submitted}, before the due date ({row.due})."
    note = f"Submitted {row.submitted}, {_duration(row.seconds_late)} after the due date ({row.due})"
    if row.penalty:
        return note + f": late penalty {row.penalty:g} point(s), {row.raw:g} before it."
    return note + " (no late penalty)."


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes and not days else "",
    ]
    return " ".join(p for p in parts if p) or f"{int(seconds)} s"


def _feedback(rnd: Round) -> None:
    """Each student's feedback page: the summary on top of nbgrader's page (hidden tests cut out)."""
    from . import feedback

    chapter, root = rnd.chapter, rnd.root
    graded_ids, max_points = rnd.info.graded_ids, rnd.info.points()
    for student, row in rnd.rows.items():
        result = rnd.results.get(student, {})
        valid = row.status != "invalid"
        table = [
            {
                "test": gid,
                "result": result.get("results", {}).get(gid, "not run") if valid else "not run",
                "points": row.points.get(gid, 0.0),
                "max": max_points[gid],
                "message": result.get("messages", {}).get(gid, "") if valid else "",
            }
            for gid in graded_ids
        ]
        summary = feedback.summary_html(
            student,
            chapter,
            row.status,
            row.reason,
            row.total,
            row.max,
            table,
            rnd.notes.get(student, []),
            row.flags,
            late=late_note(row),
        )
        html_path = rnd.work / "jobs" / student / "feedback" / student / chapter / f"{chapter}.html"
        page = html_path.read_text(encoding="utf-8") if html_path.exists() and valid else None
        dest = root / "feedback" / student / chapter
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        (dest / f"{chapter}.html").write_text(
            feedback.page_with_summary(page, summary, f"{chapter}: {student}"), encoding="utf-8"
        )
        # nbgrader's release_feedback names each page after the submission's secret and reads its timestamp
        # from these two files beside the page (nbgrader's generate_feedback copies them the same way).
        for name in ("timestamp.txt", "submission_secret.txt"):
            for folder in (html_path.parent, root / "autograded" / student / chapter):
                if (folder / name).exists():
                    shutil.copy(folder / name, dest / name)
                    break


def _write_csv(rnd: Round) -> Path:
    """``grades/<chapter>.csv`` for the whole class: per student the points of each test, their sum (raw),
    the late penalty, the total (raw - penalty, never below 0), the maximum, a status, the reason, the
    review flags, the submission time, the due date, the hours late, the sandbox and the seed's fingerprint.

    This round's students get this round's rows; every other student of the chapter in the gradebook
    keeps the status, reason and flags of the CSV's last row for them, with points read afresh from the
    gradebook (manual grades included)."""
    graded_ids = rnd.info.graded_ids
    csv_path = rnd.root / "grades" / f"{rnd.chapter}.csv"
    csv_path.parent.mkdir(exist_ok=True)
    sandbox = "bubblewrap" if rnd.sandboxed else "NONE (--no-sandbox)"
    lines = {
        student: [
            *(f"{row.points.get(g, 0.0):g}" for g in graded_ids),
            f"{row.raw:g}",
            f"{row.penalty:g}",
            f"{row.total:g}",
            f"{row.max:g}",
            row.status,
            row.reason,
            "; ".join(row.flags)[:1000],
            row.submitted,
            row.due,
            f"{row.seconds_late / 3600:.2f}" if row.seconds_late else "0",
            sandbox,
            rnd.seed_fingerprint,
        ]
        for student, row in rnd.rows.items()
    }
    earlier = _read_csv(csv_path)
    for student, standing in _gradebook_standings(rnd).items():
        if student in lines:
            continue
        before = earlier.get(student, {})
        points = standing["points"]
        raw = sum(points.get(g, 0.0) for g in graded_ids)
        if not standing["graded"]:  # a row made for an extension only (python -m grader deadline)
            status, reason = "not graded", "no graded submission yet"
        else:
            status = before.get("status", "graded")
            reason = before.get("reason", "" if before else "graded before this CSV was kept (plain nbgrader?)")
        lines[student] = [
            *(f"{points.get(g, 0.0):g}" for g in graded_ids),
            f"{raw:g}",
            f"{standing['penalty']:g}",
            f"{max(0.0, raw - standing['penalty']):g}",
            f"{sum(rnd.info.points().values()):g}",
            status,
            reason,
            before.get("flags", ""),
            standing["submitted"],
            standing["due"],
            f"{standing['seconds_late'] / 3600:.2f}" if standing["seconds_late"] else "0",
            before.get("sandbox", ""),
            before.get("seed", ""),
        ]
    header = [
        "student",
        *graded_ids,
        "raw",
        "penalty",
        "total",
        "max",
        "status",
        "reason",
        "flags",
        "submitted",
        "due",
        "hours_late",
        "sandbox",
        "seed",
    ]
    tmp = csv_path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for student in sorted(lines):
            writer.writerow([student, *lines[student]])
    tmp.replace(csv_path)  # a round stopped half-way never leaves half a CSV
    return csv_path


def _read_csv(path: Path) -> dict[str, dict]:
    """The rows of an earlier ``grades/<chapter>.csv`` by student; empty if there is none or it is unreadable."""
    try:
        with open(path, newline="") as f:
            return {row["student"]: row for row in csv.DictReader(f) if row.get("student")}
    except (OSError, KeyError, csv.Error):
        return {}


def _gradebook_standings(rnd: Round) -> dict[str, dict]:
    """Every student with a submission of the chapter in the gradebook: what ``_standing`` says of it."""
    from nbgrader.api import Gradebook, MissingEntry

    points = {}
    with Gradebook(rnd.db_url, rnd.config.CourseDirectory.course_id) as gb:
        try:
            submissions = gb.assignment_submissions(rnd.chapter)
        except MissingEntry:
            return {}
        for sub in submissions:
            points[sub.student.id] = _standing(sub)
    return points


def _report(rnd: Round, start: float, csv_path: Path, echo, keep: bool) -> tuple[int, list[Row]]:
    """The round's summary; the scratch folder goes unless ``keep``."""
    seconds = time.time() - start
    rows = rnd.rows
    counts = {s: sum(r.status == s for r in rows.values()) for s in STATUSES}
    if not rnd.sandboxed:
        echo(NO_SANDBOX_WARNING)
    echo(
        f"graded {len(rows)} submission(s) of {rnd.chapter} in {seconds:.0f} s with {rnd.jobs} job(s) "
        f"({seconds / max(1, len(rows)):.1f} s each): " + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    )
    late = [r for r in rows.values() if r.seconds_late > 0]
    if late:
        echo(
            f"late: {len(late)} submission(s), {sum(r.penalty for r in late):g} point(s) of late penalties "
            "(LateSubmissionPlugin; the CSV has each one)"
        )
    echo(
        f"hidden-test seed: fingerprint {rnd.seed_fingerprint}"
        + (" (the PUBLIC default: set AIECOURSE_HIDDEN_SEED)" if rnd.public_seed else "")
    )
    echo(
        f"grades: {csv_path} (every student of the chapter)\nfeedback: {rnd.root / 'feedback'}/<student>/{rnd.chapter}/{rnd.chapter}.html\n"
        f"gradebook: {rnd.root / 'gradebook.db'} (the formgrader and `nbgrader export` read it)"
    )
    failed = [r.student for r in rows.values() if r.grader_error]
    if failed:
        echo(f"the grader itself failed on: {', '.join(failed)} (see {rnd.log})")
    if not keep:
        shutil.rmtree(rnd.work, ignore_errors=True)
    return (1 if failed else 0), [rows[s] for s in sorted(rows)]  # this round's rows


def _zero(gb, chapter: str, student: str) -> None:
    """Zero points for a submission that could not be graded, flagged for review (nbgrader's own rule for a missing notebook)."""
    sub = gb.update_or_create_submission(chapter, student)
    for snb in sub.notebooks:
        for grade in snb.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = grade.manual_score is not None
        snb.flagged = True
