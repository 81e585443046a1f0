"""Benchmark of ``python -m grader autograde`` on a generated class of chapter 02 (not a test).

    python tools/bench_autograde.py [--n 50] [--jobs 2] [--no-sandbox] [--nbgrader-forked] [--out DIR]  # vs nbgrader
    python tools/bench_autograde.py --profile K [--n K]                                 # where the time goes
    python tools/bench_autograde.py --jobs-sweep [--n 50] [--jobs 1 2] [--baseline 10]  # the older mode
    python tools/bench_autograde.py --sandbox-ab [--n 50] [--jobs 2] [--repeat 3]

Generates ``--n`` submissions (a mix of correct notebooks, notebooks with one or two wrong
implementations taken from tests/mutants/02_attention.py, and untouched blank ones).

**Default: side by side with plain nbgrader.** The class is laid out as nbgrader's
``submitted/<student>/02_attention/02_attention.ipynb`` in a fresh course root (the assignment put in
its gradebook by ``nbgrader generate_assignment``, not timed), graded there by plain, sequential
``nbgrader autograde 02_attention --CourseDirectory.root=...`` run from the repository root, as an
instructor runs it (so it reads the repository's ``nbgrader_config.py`` and grades with the course's
``GuardedExecute``, the sandbox set to the same as ours with ``--GuardedExecute.sandbox``; its kernels
use the libraries' default thread count), then ``nbgrader generate_feedback`` (timed apart: our round
writes feedback pages too); then the same notebooks by ``python -m grader autograde --jobs N`` (the
last ``--jobs`` value, default 2) into another course root. Prints seconds per submission,
submissions per minute, the ratio of the rates (ours / nbgrader's, with and without nbgrader's
feedback), the time projected for 200 submissions, and whether both gradebooks (read with nbgrader's
Gradebook API) give every student the same total. Our round forks its kernels from a zygote
(``grader.execution.zygote``); nbgrader's kernels start fresh, as the course's config has it;
``--nbgrader-forked`` also grades the class with plain nbgrader and forked kernels
(``--GuardedExecute.fork_kernels=True``). Writes ``artifacts/bench_autograde.json``
(``"mode": "vs-nbgrader"``; the older mode's keys are written by ``--jobs-sweep``).

``--profile K``: K submissions graded in this process as a worker grades them
(``grader.execution.worker.grade``), timed around the kernel's start, every cell, the guard's requests,
the kernel's shutdown and nbgrader's autograde and generate_feedback; then fresh sandboxed kernels,
timed from start to ready and for ``import torch``, the course library and matplotlib alone.
Writes ``artifacts/bench_autograde_profile.json`` (mean seconds per submission).

``--jobs-sweep`` (before: the default): grades the class once per ``--jobs`` value into separate
course roots, and executes ``--baseline`` of the same notebooks once each with plain nbclient (no
nbgrader, no limits, no guard). Prints seconds per submission, the speed-up of each job count over
the first, the grader's overhead over plain execution (seconds per submission x jobs, divided by
plain nbclient's seconds per notebook: 1.0 would mean that grading a notebook costs no more than
running it), and checks that every job count gave the same grades. Writes the figures to
``artifacts/bench_autograde.json``.

``--sandbox-ab``: the same class graded with and without the sandbox, the two variants interleaved
``--repeat`` times each (the machine may be shared: the medians are the figures), plus the start-up
cost of one kernel (start to first answer) with and without the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "course"), str(ROOT / "tests")]

import hostile  # noqa: E402
import nbformat  # noqa: E402

from grader.autograde import autograde  # noqa: E402
from grader.mutation import load_spec  # noqa: E402
from grader.notebooks import execute  # noqa: E402

CHAPTER = hostile.CHAPTER


def make_class(folder: Path, n: int, seed: int = 0) -> dict[str, str]:
    """``n`` notebooks ``<student>.ipynb``: about 40% correct, 40% partly wrong, 20% blank."""
    rng = random.Random(seed)
    spec = load_spec(CHAPTER)
    kinds = {}
    for i in range(n):
        student = f"s{i:03d}"
        roll = i % 5
        if roll in (0, 1):
            nb, kind = hostile.solution(), "correct"
        elif roll in (2, 3):
            nb, kind = hostile.solution(), "partly wrong"
            for exercise in rng.sample(sorted(spec), rng.choice([1, 2])):
                name = rng.choice(sorted(spec[exercise]["mutants"]))
                hostile.append_to(nb, exercise, spec[exercise]["mutants"][name])
        else:
            nb, kind = hostile.release(), "blank"
        nbformat.write(nb, folder / f"{student}.ipynb")
        kinds[student] = kind
    return kinds


async def _start_and_stop(sandbox: bool) -> float:
    from grader.execution.limits import Limits
    from grader.execution.manager import SandboxKernelManager

    km = SandboxKernelManager(kernel_name="python3")
    km.sandboxed, km.limits = sandbox, Limits(4 * 1024**3, 1024**3, 512 if sandbox else 0)
    start = time.time()
    await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    seconds = time.time() - start
    kc.stop_channels()
    await km.shutdown_kernel(now=True)
    return seconds


def kernel_startup(sandbox: bool, n: int = 5) -> float:
    """Median seconds from starting a grading kernel (launcher and ipykernel, no guard) to its first answer."""
    import asyncio
    import statistics

    return statistics.median(asyncio.run(_start_and_stop(sandbox)) for _ in range(n))


def sandbox_ab(args, work: Path) -> int:
    """Interleaved rounds with and without the sandbox; medians."""
    import statistics

    seconds: dict[str, list[float]] = {"sandbox": [], "no sandbox": []}
    grades = {}
    for i in range(args.repeat):
        for variant in ("sandbox", "no sandbox") if i % 2 == 0 else ("no sandbox", "sandbox"):
            start = time.time()
            code, rows = autograde(
                work / "class",
                CHAPTER,
                jobs=args.jobs[0],
                out=work / f"course-{variant.replace(' ', '-')}",
                sandbox=variant == "sandbox",
                echo=lambda *a: None,
            )
            seconds[variant].append(time.time() - start)
            grades.setdefault(variant, {r.student: (r.status, r.total) for r in rows})
            print(f"round {i + 1}, {variant}: {seconds[variant][-1]:.0f} s (exit {code})", flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    report = {
        "submissions": args.n,
        "jobs": args.jobs[0],
        "cpus": os.cpu_count(),
        "rounds_seconds": {k: [round(x, 1) for x in v] for k, v in seconds.items()},
        "median_seconds": {k: round(v, 1) for k, v in med.items()},
        "sandbox_slowdown": round(med["sandbox"] / med["no sandbox"] - 1, 3),
        "kernel_startup_median_seconds": {
            "sandbox": round(kernel_startup(True), 2),
            "no sandbox": round(kernel_startup(False), 2),
        },
        "same_grades": grades["sandbox"] == grades["no sandbox"],
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(report, indent=1))
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_sandbox.json").write_text(json.dumps(report, indent=1))
    return 0 if report["same_grades"] else 1


def _nbgrader(args: list[str], root: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Plain ``nbgrader ARGS`` (the CLI an instructor runs) on the course root ``root``, from the
    repository root so that nbgrader reads the repository's ``nbgrader_config.py``; seconds and the result."""
    nbgrader = Path(sys.executable).with_name("nbgrader")
    cmd = [str(nbgrader) if nbgrader.exists() else "nbgrader", *args, f"--CourseDirectory.root={root}"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "course"), os.environ.get("PYTHONPATH", "")]),
    }
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc


def _gradebook_totals(root: Path) -> dict[str, float]:
    """Each student's total for the chapter, read from the course root's gradebook (nbgrader's API)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {sub.student.id: round(float(sub.score), 3) for sub in gb.assignment_submissions(CHAPTER)}


def vs_nbgrader(args, work: Path, kinds: dict[str, str]) -> int:
    """Plain sequential ``nbgrader autograde`` (then ``nbgrader generate_feedback``) against
    ``python -m grader autograde --jobs N`` on the same notebooks; same sandbox setting for both."""
    import statistics

    jobs = args.jobs[-1]
    nbroot = work / "course-nbgrader"
    (nbroot / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / CHAPTER, nbroot / "solutions" / CHAPTER)
    for student in kinds:
        folder = nbroot / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        shutil.copy(work / "class" / f"{student}.ipynb", folder / f"{CHAPTER}.ipynb")
    sandbox = f"--GuardedExecute.sandbox={not args.no_sandbox}"
    # the assignment in the fresh root's gradebook (not timed): what `nbgrader generate_assignment` does
    _nbgrader(["generate_assignment", CHAPTER, "--force", "--CourseDirectory.release_directory=release"], nbroot)
    print(f"plain nbgrader, sequential, sandbox {'OFF' if args.no_sandbox else 'ON'} ({sandbox}) ...", flush=True)
    load = {"before": os.getloadavg()}
    nb_auto, _ = _nbgrader(["autograde", CHAPTER, "--force", sandbox], nbroot)
    nb_feedback, _ = _nbgrader(["generate_feedback", CHAPTER, "--force"], nbroot)
    load["after nbgrader"] = os.getloadavg()
    print(f"  autograde {nb_auto:.0f} s, generate_feedback {nb_feedback:.0f} s", flush=True)
    nb_forked = None
    if args.nbgrader_forked and not args.no_sandbox:
        print("plain nbgrader, sequential, forked kernels (--GuardedExecute.fork_kernels=True) ...", flush=True)
        nb_forked, _ = _nbgrader(
            ["autograde", CHAPTER, "--force", sandbox, "--GuardedExecute.fork_kernels=True"], nbroot
        )
        print(f"  autograde {nb_forked:.0f} s", flush=True)

    ours_root = work / "course-ours"
    cmd = [sys.executable, "-m", "grader", "autograde", str(work / "class"), "--chapter", CHAPTER]
    cmd += ["--jobs", str(jobs), "--out", str(ours_root), "--keep"] + (["--no-sandbox"] if args.no_sandbox else [])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "course"), os.environ.get("PYTHONPATH", "")]),
    }
    print(f"python -m grader autograde --jobs {jobs} ...", flush=True)
    start = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    ours = time.time() - start
    load["after ours"] = os.getloadavg()
    print(f"  {ours:.0f} s (exit {proc.returncode})", flush=True)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
    per_student = _worker_seconds(ours_root)

    n = len(kinds)
    totals = {"nbgrader": _gradebook_totals(nbroot), "ours": _gradebook_totals(ours_root)}
    differ = {
        s: (totals["nbgrader"].get(s), totals["ours"].get(s))
        for s in kinds
        if totals["nbgrader"].get(s) != totals["ours"].get(s)
    }

    def rates(seconds: float) -> dict:
        return {
            "seconds": round(seconds, 1),
            "seconds_per_submission": round(seconds / n, 2),
            "submissions_per_minute": round(60 * n / seconds, 2),
            "projected_200_minutes": round(200 * seconds / n / 60, 1),
        }

    report = {
        "mode": "vs-nbgrader",
        "submissions": n,
        "mix": {kind: sum(k == kind for k in kinds.values()) for kind in set(kinds.values())},
        "cpus": os.cpu_count(),
        "sandbox": not args.no_sandbox,
        "load_average": load,
        "nbgrader_autograde": {
            **rates(nb_auto),
            "command": f"nbgrader autograde {CHAPTER} --force {sandbox}",
            "threads_per_kernel": "library default",
        },
        "nbgrader_autograde_and_feedback": rates(nb_auto + nb_feedback),
        "nbgrader_autograde_forked_kernels": rates(nb_forked) if nb_forked else None,
        "ours": {
            **rates(ours),
            "command": f"python -m grader autograde --jobs {jobs} (feedback included)",
            "jobs": jobs,
            "exit_code": proc.returncode,
        },
        "ratio_ours_over_nbgrader_autograde": round(nb_auto / ours, 2),
        "ratio_ours_over_nbgrader_autograde_and_feedback": round((nb_auto + nb_feedback) / ours, 2),
        "ratio_ours_over_nbgrader_forked_and_feedback": round((nb_forked + nb_feedback) / ours, 2)
        if nb_forked
        else None,
        "worker_seconds_per_submission_median": round(statistics.median(per_student), 2) if per_student else None,
        "same_totals": not differ and len(totals["ours"]) == len(totals["nbgrader"]) == n,
        "different_totals": differ,
    }
    print(json.dumps(report, indent=1))
    print(
        f"\nnbgrader autograde: {report['nbgrader_autograde']['submissions_per_minute']} submissions/min "
        f"(+ generate_feedback: {report['nbgrader_autograde_and_feedback']['submissions_per_minute']}); "
        f"ours --jobs {jobs}: {report['ours']['submissions_per_minute']} submissions/min; ratio "
        f"{report['ratio_ours_over_nbgrader_autograde']}x ({report['ratio_ours_over_nbgrader_autograde_and_feedback']}x "
        f"with feedback on both sides); 200 submissions: {report['ours']['projected_200_minutes']} min ours, "
        f"{report['nbgrader_autograde_and_feedback']['projected_200_minutes']} min nbgrader with feedback; "
        f"same totals: {report['same_totals']}"
    )
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_autograde.json").write_text(json.dumps(report, indent=1))
    return 0 if report["same_totals"] and proc.returncode == 0 else 1


def _worker_seconds(root: Path) -> list[float]:
    """Seconds each worker spent on one submission (``result.json`` of the kept scratch folder)."""
    out = []
    for path in sorted((root / ".autograde" / CHAPTER / "jobs").glob("*/result.json")):
        out.append(json.loads(path.read_text()).get("seconds", 0.0))
    return out


def _wrap(function, spans: dict, key: str):
    """``function`` (sync or async), its seconds appended to ``spans[key]`` at every call."""
    import asyncio
    import functools

    if asyncio.iscoroutinefunction(function):

        @functools.wraps(function)
        async def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return await function(*a, **kw)
            finally:
                spans.setdefault(key, []).append(time.perf_counter() - start)
    else:

        @functools.wraps(function)
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                spans.setdefault(key, []).append(time.perf_counter() - start)

    return wrapper


async def _kernel_imports_once(sandbox: bool) -> dict[str, float]:
    from grader.execution.bubblewrap import python_path
    from grader.execution.limits import Limits
    from grader.execution.manager import SandboxKernelManager

    km = SandboxKernelManager(kernel_name="python3")
    km.sandboxed, km.limits = sandbox, Limits(4 * 1024**3, 1024**3, 512 if sandbox else 0)
    env = {"PATH": os.environ["PATH"], "HOME": "/tmp", "PYTHONPATH": python_path(), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    out = {"kernel start to ready": time.perf_counter() - start}
    for name, code in [
        ("import torch", "import torch"),
        ("import aiecourse (+ checks)", "import aiecourse\nfrom aiecourse.checks import check"),
        ("import matplotlib.pyplot", "import matplotlib.pyplot"),
    ]:
        start = time.perf_counter()
        await kc.execute_interactive(code, timeout=120)
        out[name] = time.perf_counter() - start
    kc.stop_channels()
    await km.shutdown_kernel(now=True)
    return out


def profile(args, work: Path, kinds: dict[str, str]) -> int:
    """Where one worker's time goes per submission: ``grader.execution.worker.grade`` (nbgrader's
    autograde and generate_feedback, as a worker runs them) in this process, timed around the kernel's
    start, each cell, the guard's requests and nbgrader's steps; then fresh sandboxed kernels, timed
    from start to ready and for the imports of the notebook's first cells alone."""
    import asyncio
    import statistics

    from nbgrader.apps.api import NbGraderAPI

    from grader import autograde as ag
    from grader import config as cfg
    from grader.execution import execute as ex
    from grader.execution import worker

    root = work / "course-profile"
    template = ag._template_root(root, CHAPTER)
    spans: dict[str, list[float]] = {}
    G = ex.GuardedExecute
    G.start_new_kernel = _wrap(G.start_new_kernel, spans, "kernel: start the process (sandbox, launcher)")
    G.start_new_kernel_client = _wrap(
        G.start_new_kernel_client,
        spans,
        "kernel: wait until ready (ipykernel, the guard's snapshot; a fresh kernel also imports torch, matplotlib...)",
    )
    G._cleanup_kernel = _wrap(G._cleanup_kernel, spans, "kernel: shut down")
    G._request = _wrap(G._request, spans, "guard requests (before/after/mark)")
    timed_preprocess = _wrap(G.preprocess, spans, "GuardedExecute.preprocess (kernel + cells)")

    def preprocess(self, *a, **kw):
        self._code_cells = 0
        return timed_preprocess(self, *a, **kw)

    G.preprocess = preprocess
    original_cell = G.preprocess_cell

    def cell(self, cell, resources, index):
        start = time.perf_counter()
        try:
            return original_cell(self, cell, resources, index)
        finally:
            if cell.cell_type == "code":
                self._code_cells = seen = getattr(self, "_code_cells", 0) + 1
                kind = {1: "setup cell (Colab)", 2: "imports cell (torch, aiecourse)"}.get(seen, "the other cells")
                spans.setdefault(f"cells: {kind}, guard included", []).append(time.perf_counter() - start)

    G.preprocess_cell = cell
    NbGraderAPI.autograde = _wrap(NbGraderAPI.autograde, spans, "nbgrader autograde (total)")
    NbGraderAPI.generate_feedback = _wrap(NbGraderAPI.generate_feedback, spans, "nbgrader generate_feedback")
    NbGraderAPI.__init__ = _wrap(NbGraderAPI.__init__, spans, "NbGraderAPI(config)")
    cfg.load_config = _wrap(cfg.load_config, spans, "load_config")
    per_submission = []
    overrides = {"GuardedExecute": {"threads": 1, "sandbox": not args.no_sandbox, "fork_kernels": not args.no_sandbox}}
    once = {}
    if not args.no_sandbox:  # as a round's worker: its zygote starts before the first submission
        from grader.execution import zygote_client as zygote

        start = time.perf_counter()
        zygote.shared(ex.GuardedExecute(config=cfg.load_config(overrides)).kernel_env())
        once["zygote: start, imports and probe (once per worker)"] = round(time.perf_counter() - start, 3)
        spans.clear()
    students = sorted(kinds)[: args.profile]
    for student in students:
        task = root / "jobs" / student
        target = task / "submitted" / student / CHAPTER
        target.mkdir(parents=True)
        shutil.copy(template / "gradebook.db", task / "gradebook.db")
        shutil.copytree(template / "solutions", task / "solutions")
        shutil.copy(work / "class" / f"{student}.ipynb", target / f"{CHAPTER}.ipynb")
        start = time.perf_counter()
        worker.grade(task, CHAPTER, student, overrides)
        per_submission.append(time.perf_counter() - start)
        print(f"{student} ({kinds[student]}): {per_submission[-1]:.1f} s", flush=True)
    n = len(students)
    table = {k: round(sum(v) / n, 3) for k, v in spans.items()}
    table["per submission (worker.grade)"] = round(statistics.mean(per_submission), 3)
    fresh = [asyncio.run(_kernel_imports_once(not args.no_sandbox)) for _ in range(3)]
    for key in fresh[0]:
        table[f"fresh kernel without the guard: {key}"] = round(statistics.median(f[key] for f in fresh), 3)
    report = {
        "submissions": n,
        "mix": [kinds[s] for s in students],
        "load_average": os.getloadavg(),
        "seconds_per_submission": table,
        "seconds_once": once,
    }
    print(json.dumps(report, indent=1))
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_autograde_profile.json").write_text(json.dumps(report, indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline", type=int, default=10, help="notebooks executed with plain nbclient")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--sandbox-ab", action="store_true", help="with and without the sandbox, interleaved")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per variant with --sandbox-ab")
    parser.add_argument(
        "--jobs-sweep", action="store_true", help="the older mode: every --jobs value and plain nbclient, no nbgrader"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="K", help="where the time goes, over K submissions in this process"
    )
    parser.add_argument("--no-sandbox", action="store_true", help="side by side: both sides without the sandbox")
    parser.add_argument(
        "--nbgrader-forked",
        action="store_true",
        help="side by side: also plain nbgrader with forked kernels (--GuardedExecute.fork_kernels=True)",
    )
    args = parser.parse_args()

    work = Path(args.out or tempfile.mkdtemp(prefix="bench-autograde-"))
    if work.exists():
        shutil.rmtree(work)
    (work / "class").mkdir(parents=True)
    kinds = make_class(work / "class", args.n)
    print(
        f"{args.n} submissions of {CHAPTER}: "
        + ", ".join(f"{sum(k == kind for k in kinds.values())} {kind}" for kind in ("correct", "partly wrong", "blank"))
    )
    load_before = os.getloadavg()
    if args.sandbox_ab:
        code = sandbox_ab(args, work)
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
        return code
    if args.profile:
        return profile(args, work, kinds)
    if not args.jobs_sweep:
        code = vs_nbgrader(args, work, kinds)
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
        return code

    runs = {}
    for jobs in args.jobs:
        start = time.time()
        code, rows = autograde(
            work / "class", CHAPTER, jobs=jobs, out=work / f"course-jobs{jobs}", echo=lambda *a: None
        )
        seconds = time.time() - start
        runs[jobs] = {
            "seconds": seconds,
            "per_submission": seconds / args.n,
            "exit_code": code,
            "grades": {r.student: (r.status, r.total) for r in rows},
        }
        print(f"--jobs {jobs}: {seconds:.0f} s, {seconds / args.n:.1f} s per submission")

    sample = sorted(kinds)[: args.baseline]
    start = time.time()
    for student in sample:
        execute(work / "class" / f"{student}.ipynb", timeout=300)
    plain = (time.time() - start) / max(1, len(sample))
    print(f"plain nbclient execution: {plain:.1f} s per notebook ({len(sample)} of them, one after another)")

    first = args.jobs[0]
    same = all(runs[j]["grades"] == runs[first]["grades"] for j in args.jobs)
    report = {
        "submissions": args.n,
        "mix": {kind: sum(k == kind for k in kinds.values()) for kind in set(kinds.values())},
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "plain_nbclient_seconds_per_notebook": round(plain, 2),
        "runs": {
            str(j): {
                "seconds": round(r["seconds"], 1),
                "seconds_per_submission": round(r["per_submission"], 2),
                f"speedup_over_jobs_{first}": round(runs[first]["seconds"] / r["seconds"], 2),
                "overhead_vs_plain_nbclient": round(r["per_submission"] * j / plain, 2) if plain else None,
                "exit_code": r["exit_code"],
            }
            for j, r in runs.items()
        },
        "same_grades_for_every_job_count": same,
    }
    print(json.dumps(report, indent=1))
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "bench_autograde.json").write_text(json.dumps(report, indent=1))
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if same and all(r["exit_code"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
