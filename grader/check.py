"""``python -m grader check NOTEBOOK``: run a notebook in a fresh kernel and report each graded cell."""

from __future__ import annotations

import time
from pathlib import Path

from .notebooks import execute, graded_results


def check(path: str | Path, timeout: int = 120) -> int:
    path = Path(path)
    if not path.exists():
        print(f"no such notebook: {path}")
        return 2
    start = time.time()
    nb = execute(path, timeout=timeout)
    results = graded_results(nb)
    if not results:
        print(f"{path}: no graded cells (is this a course notebook?)")
        return 2
    width = max(len(r.grade_id) for r in results)
    for r in results:
        status = "passed" if r.passed else "FAILED"
        line = f"{r.grade_id:<{width}}  {status}  {r.points if r.passed else 0:g}/{r.points:g}"
        if not r.passed:
            line += f"  {r.message.splitlines()[0] if r.message else ''}"
        print(line)
    earned = sum(r.points for r in results if r.passed)
    total = sum(r.points for r in results)
    n_passed = sum(r.passed for r in results)
    print(f"\n{n_passed}/{len(results)} tests passed, {earned:g}/{total:g} points ({time.time() - start:.0f} s)")
    return 0 if n_passed == len(results) else 1
