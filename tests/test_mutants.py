"""Each exercise's graded cells reject its wrong implementations and accept its correct alternatives."""

from __future__ import annotations

import pytest

from grader.mutation import available_chapters, mutation_report, print_report
from grader.notebooks import chapters


def test_every_chapter_has_mutants():
    assert available_chapters() == chapters(), "every chapter needs tests/mutants/<chapter>.py"


@pytest.mark.slow
def test_mutants_caught_and_alternatives_accepted(chapter, capsys):
    report = mutation_report(chapter)
    print_report([report], verbose=True)
    out = capsys.readouterr().out
    print(out)
    assert report.solution_failure is None, report.solution_failure
    assert report.caught == len(report.mutants), "mutants survived:\n" + out
    assert report.accepted == len(report.alternatives), "correct alternatives rejected:\n" + out
    per_exercise = {}
    for name in report.mutants:
        per_exercise[name.split(":")[0]] = per_exercise.get(name.split(":")[0], 0) + 1
    few = {k: v for k, v in per_exercise.items() if v < 3}
    assert not few, f"exercises with fewer than 3 mutants: {few}"
