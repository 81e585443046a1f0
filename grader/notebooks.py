"""Reading course notebooks and running them in a fresh kernel, the way nbgrader judges graded cells."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO_ROOT / "solutions"
COURSE = REPO_ROOT / "course"


def chapters() -> list[str]:
    """Chapter names (``02_attention``, ...) that have a source notebook in ``solutions/``."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def notebook_path(chapter: str, released: bool = False) -> Path:
    if chapter not in chapters():
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are: {', '.join(chapters())}")
    return (COURSE if released else SOLUTIONS) / chapter / f"{chapter}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_graded(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("grade"))


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


@dataclass
class CellResult:
    grade_id: str
    points: float
    passed: bool
    message: str  # the first failure, or "" when passed


def judge_cell(cell) -> tuple[bool, str]:
    """(passed, message) of a graded cell: ``grader.execution.judge``'s rule, nbgrader's."""
    from .execution.judge import judge

    verdict = judge(cell)
    return verdict.passed, verdict.message


def graded_results(nb) -> list[CellResult]:
    results = []
    for cell in nb.cells:
        if is_graded(cell):
            meta = nbgrader_meta(cell)
            passed, message = judge_cell(cell)
            results.append(CellResult(meta["grade_id"], float(meta.get("points", 0)), passed, message))
    return results


def execute(
    path: Path | str,
    timeout: int = 120,
    env: dict[str, str] | None = None,
    kernel_name: str = "python3",
    cwd: Path | str | None = None,
):
    """Run a notebook top to bottom in a fresh kernel, errors allowed; returns the executed notebook.

    Every cell runs even after an error, as nbgrader's autograde does. A dead kernel leaves the
    remaining cells unexecuted (``judge_cell`` reports them). The kernel talks to this process over
    Unix sockets in a private temporary folder, not over TCP on localhost (where any local user could
    connect, and ipykernel warns about it on every start).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # graded cells must be judged on this run's outputs only
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    kernel_env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    # The kernel draws figures as Jupyter and Colab do (inline PNG outputs), whatever backend this
    # process uses (the tests set Agg for themselves).
    kernel_env.pop("MPLBACKEND", None)
    kernel_env.update(env or {})
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        raise_on_iopub_timeout=False,
        interrupt_on_timeout=True,  # a cell that runs too long is stopped; the rest still runs
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    with tempfile.TemporaryDirectory(prefix="aiecourse-kernel-") as runtime:
        km = client.create_kernel_manager()
        km.transport = "ipc"
        km.connection_file = os.path.join(runtime, "kernel.json")
        km.ip = os.path.join(runtime, "ipc")
        try:
            client.execute(env=kernel_env)
        except DeadKernelError:
            pass
    return nb


def with_solutions(chapter: str):
    """The released notebook as a learner who solved every exercise has it: each solution cell of
    ``course/`` holds the source of the same cell (by grade id) in ``solutions/``; nothing else changes
    (the Colab cells stay, hidden tests stay out)."""
    released = nbformat.read(notebook_path(chapter, released=True), as_version=4)
    source = nbformat.read(notebook_path(chapter), as_version=4)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if is_solution(c)}
    for cell in released.cells:
        if is_solution(cell):
            grade_id = nbgrader_meta(cell)["grade_id"]
            if grade_id not in answers:
                raise ValueError(f"{chapter}: solution cell {grade_id!r} of course/ is not in solutions/")
            cell.source = answers[grade_id]
    return released
