"""Benchmark of ``python -m grader autograde`` on a generated class of chapter 02 (not a test).

    python tools/bench_autograde.py [--n 50] [--jobs 1 2] [--baseline 10] [--out DIR]

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline", type=int, default=10, help="notebooks executed with plain nbclient")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
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
