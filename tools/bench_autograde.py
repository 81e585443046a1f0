"""Benchmark of ``python -m grader autograde`` on a generated class of chapter 02 (not a test).

    python tools/bench_autograde.py [--n 50] [--jobs 1 2] [--baseline 10] [--out DIR]
    python tools/bench_autograde.py --sandbox-ab [--n 50] [--jobs 2] [--repeat 3]

``--sandbox-ab``: the same class graded with and without the sandbox, the two variants interleaved
``--repeat`` times each (the machine may be shared: the medians are the figures), plus the start-up
cost of one kernel (start to first answer) with and without the sandbox.

Generates ``--n`` submissions (a mix of correct notebooks, notebooks with one or two wrong
implementations taken from tests/mutants/02_attention.py, and untouched blank ones), grades the
class once per ``--jobs`` value into separate course roots, and executes ``--baseline`` of the same
notebooks once each with plain nbclient (no nbgrader, no limits, no guard). Prints seconds per
submission, the speed-up of each job count over the first, the grader's overhead over plain
execution (seconds per submission x jobs, divided by plain nbclient's seconds per notebook: 1.0 would
mean that grading a notebook costs no more than running it), and checks that every job count gave
the same grades. Writes the figures to
``artifacts/bench_autograde.json``.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline", type=int, default=10, help="notebooks executed with plain nbclient")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--sandbox-ab", action="store_true", help="with and without the sandbox, interleaved")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per variant with --sandbox-ab")
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
