"""Mutation testing of a chapter's graded cells: wrong implementations must fail them, right ones pass.

A chapter's mutants live in ``tests/mutants/<chapter>.py`` as a dict ``EXERCISES``::

    EXERCISES = {
        "causal_mask": {                        # an exercise
            "tests": ["test_causal_mask"],      # the graded cells (grade_id) that must judge it
            "mutants": {"upper triangle": "def causal_mask(q_len, k_len=None, device=None): ..."},
            "alternatives": {"tril": "def causal_mask(q_len, k_len=None, device=None): ..."},
        },
    }

The solution notebook runs once, in this process, without its graded cells and without the cells
tagged ``slow`` or ``colab-setup`` (the released notebooks' install cell, see grader/colab.py). Then, for each mutant or
alternative, its source is executed into that same namespace (so that every function of the notebook
that calls the exercise now calls the mutant), the exercise's graded cells run, and the namespace is
put back as it was. A graded cell fails as nbgrader would judge it: it raises, or writes to stderr.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebooks import REPO_ROOT, is_graded, nbgrader_meta, notebook_path

MUTANTS_DIR = REPO_ROOT / "tests" / "mutants"


def is_skipped(cell) -> bool:
    """Cells the runner does not execute: ``slow`` ones, and the Colab setup cell (it may install packages)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return "slow" in tags or "colab-setup" in tags


def load_spec(chapter: str) -> dict:
    path = MUTANTS_DIR / f"{chapter}.py"
    if not path.exists():
        raise FileNotFoundError(f"no mutants for {chapter}: expected {path}")
    spec = importlib.util.spec_from_file_location(f"mutants_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXERCISES


class ChapterSession:
    """The solution notebook of a chapter, executed once in-process, ready to run graded cells."""

    def __init__(self, chapter: str):
        self.chapter = chapter
        nb = nbformat.read(notebook_path(chapter), as_version=4)
        self.graded = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if is_graded(c)}
        self.ns: dict = {"__name__": "__main__"}
        os.environ.setdefault("MPLBACKEND", "Agg")
        cwd = os.getcwd()
        os.chdir(notebook_path(chapter).parent)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and not is_graded(cell) and not is_skipped(cell):
                        exec(compile(cell.source, f"<{chapter} cell {i}>", "exec"), self.ns)
        finally:
            os.chdir(cwd)
        import matplotlib.pyplot as plt

        plt.close("all")

    def run_tests(self, source: str | None, tests: list[str]) -> str | None:
        """Define ``source`` (if any), run the graded cells ``tests``; the first failure, or None if all pass."""
        snapshot = dict(self.ns)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                if source is not None:
                    exec(compile(source, "<implementation>", "exec"), self.ns)
                for grade_id in tests:
                    if grade_id not in self.graded:
                        raise KeyError(f"{self.chapter} has no graded cell {grade_id!r}")
                    try:
                        exec(compile(self.graded[grade_id], f"<{grade_id}>", "exec"), self.ns)
                    except KeyError:
                        raise
                    except BaseException as e:  # noqa: BLE001 - SystemExit and friends are failures too
                        return f"{grade_id}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                    if err.getvalue().strip():
                        return f"{grade_id}: wrote to stderr: {err.getvalue().strip()[:200]}"
            return None
        finally:
            self.ns.clear()
            self.ns.update(snapshot)


@dataclass
class ChapterReport:
    chapter: str
    mutants: dict[str, str | None] = field(default_factory=dict)  # "exercise: name" -> failure (None = survived)
    alternatives: dict[str, str | None] = field(default_factory=dict)  # "exercise: name" -> failure (None = accepted)
    solution_failure: str | None = None

    @property
    def caught(self) -> int:
        return sum(v is not None for v in self.mutants.values())

    @property
    def accepted(self) -> int:
        return sum(v is None for v in self.alternatives.values())

    @property
    def ok(self) -> bool:
        return (
            self.solution_failure is None
            and self.caught == len(self.mutants)
            and self.accepted == len(self.alternatives)
        )


def mutation_report(chapter: str) -> ChapterReport:
    spec = load_spec(chapter)
    session = ChapterSession(chapter)
    report = ChapterReport(chapter)
    report.solution_failure = session.run_tests(None, list(session.graded))
    for exercise, entry in spec.items():
        for name, source in entry.get("mutants", {}).items():
            report.mutants[f"{exercise}: {name}"] = session.run_tests(source, entry["tests"])
        for name, source in entry.get("alternatives", {}).items():
            report.alternatives[f"{exercise}: {name}"] = session.run_tests(source, entry["tests"])
    return report


def print_report(reports: list[ChapterReport], verbose: bool = False) -> None:
    for r in reports:
        print(
            f"{r.chapter}: mutants caught {r.caught}/{len(r.mutants)}, "
            f"alternatives accepted {r.accepted}/{len(r.alternatives)}"
            + ("" if r.solution_failure is None else f"; THE SOLUTION FAILS: {r.solution_failure}")
        )
        for name, failure in r.mutants.items():
            if failure is None:
                print(f"  SURVIVED  {name}")
            elif verbose:
                print(f"  caught    {name}  <- {failure}")
        for name, failure in r.alternatives.items():
            if failure is not None:
                print(f"  REJECTED  {name}  <- {failure}")
            elif verbose:
                print(f"  accepted  {name}")


def available_chapters() -> list[str]:
    return sorted(p.stem for p in Path(MUTANTS_DIR).glob("[0-9]*.py"))
