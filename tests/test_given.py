"""Given code from one source (grader.given): a later chapter's copy of an earlier solution is generated."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.given import BEGIN, END, copied_code, given_from, regenerate, solution_code, sync
from grader.notebooks import chapters, notebook_path


def _source_notebook():
    def solution(grade_id, code):
        return new_code_cell(code, metadata={"nbgrader": {"grade_id": grade_id, "solution": True, "grade": False}})

    return new_notebook(
        cells=[
            solution("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
            new_code_cell("assert double(2) == 4", metadata={"nbgrader": {"grade_id": "test_double", "grade": True}}),
            solution("half", "def half(x):\n    ### BEGIN SOLUTION\n    return x / 2\n    ### END SOLUTION"),
        ]
    )


def read(_chapter):
    return _source_notebook()


SPEC = {"chapter": chapters()[0], "cells": ["half", "double"]}


def test_the_copy_is_the_solution_code_in_the_order_asked():
    region = copied_code(SPEC, read=read)
    lines = region.splitlines()
    assert lines[0] == BEGIN.format(n=SPEC["chapter"][:2], chapter=SPEC["chapter"]) and lines[-1].startswith(
        "# ---- end"
    )
    assert "def half(x):\n    return x / 2\n\n\ndef double(x):\n    return 2 * x" in region
    assert "SOLUTION" not in region.replace(BEGIN.format(n=SPEC["chapter"][:2], chapter=SPEC["chapter"]), "")


def test_regenerate_keeps_the_cells_own_code_and_replaces_a_drifted_copy():
    fresh = regenerate("import torch", SPEC, read=read)
    assert fresh.startswith("import torch\n\n# ---- given")
    drifted = fresh.replace("return x / 2", "return x // 2") + "\n\nprint(half(4))"
    again = regenerate(drifted, SPEC, read=read)
    assert again == fresh + "\n\nprint(half(4))"  # the region is back; the code after it stays
    assert regenerate(again, SPEC, read=read) == again  # idempotent


def test_bad_specs_say_what_is_missing():
    with pytest.raises(ValueError, match="no solution cell \\['triple'\\]"):
        copied_code({"chapter": SPEC["chapter"], "cells": ["triple"]}, read=read)
    with pytest.raises(ValueError, match="names chapter '99_nothing'"):
        copied_code({"chapter": "99_nothing", "cells": ["half"]}, read=read)


def test_solution_code_drops_only_the_marker_lines():
    assert (
        solution_code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
        == "def f():\n    return 1"
    )


def test_every_given_copy_in_the_course_equals_its_source(chapter):
    assert sync(chapter, write=False) == [], f"run: python -m grader release ({chapter}'s given cells are stale)"
    nb = nbformat.read(notebook_path(chapter), as_version=4)
    for cell in nb.cells:
        spec = given_from(cell)
        if spec:
            assert spec["chapter"] < chapter, f"{chapter} copies {spec['chapter']}, which is not an earlier chapter"
            assert END.format(n=spec["chapter"][:2]) in cell.source
