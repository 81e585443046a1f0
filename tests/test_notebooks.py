"""Every chapter: the solutions pass every graded cell, the released stubs fail every one, course/ is current."""

from __future__ import annotations

import nbformat
import pytest
from conftest import executed_notebook

from grader.notebooks import graded_results, is_graded, is_solution, nbgrader_meta, notebook_path
from grader.release import release


@pytest.mark.slow
def test_solution_passes_every_graded_cell(chapter):
    results = graded_results(executed_notebook(chapter, released=False))
    assert results, f"{chapter} has no graded cells"
    failed = [f"{r.grade_id}: {r.message}" for r in results if not r.passed]
    assert not failed, f"{chapter}: graded cells failed with the solutions:\n" + "\n".join(failed)


@pytest.mark.slow
def test_stub_fails_every_graded_cell(chapter):
    results = graded_results(executed_notebook(chapter, released=True))
    passed = [r.grade_id for r in results if r.passed]
    assert not passed, f"{chapter}: graded cells pass on the untouched stubs: {passed}"


@pytest.mark.slow
def test_every_cell_runs_without_error_in_the_solution(chapter):
    nb = executed_notebook(chapter, released=False)
    errors = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{chapter}: cells raised with the solutions:\n" + "\n".join(errors)


def test_course_is_in_sync_with_solutions(capsys):
    assert release(check=True) == 0, capsys.readouterr().out


def test_source_notebooks_are_clean(chapter):
    """solutions/ holds no outputs; grade ids are unique; every exercise has a graded test."""
    nb = nbformat.read(notebook_path(chapter), as_version=4)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{chapter}: cells {with_outputs} have stored outputs; clear them"
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{chapter}: duplicate grade ids"
    assert any(is_solution(c) for c in nb.cells) and any(is_graded(c) for c in nb.cells)
    for c in nb.cells:
        if is_solution(c):
            assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source, nbgrader_meta(c)["grade_id"]


@pytest.mark.slow
def test_solution_shows_a_figure_inline(chapter):
    """Every chapter draws at least one figure (a heatmap, a curve) as an inline image, as Jupyter and Colab show it."""
    nb = executed_notebook(chapter, released=False)
    images = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert images, (
        f"{chapter}: no cell shows a figure; plot what a learner would rather see than read "
        "(matplotlib figures appear inline when a cell ends with one or calls plt.show())"
    )
