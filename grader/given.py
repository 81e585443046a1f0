"""Given code from one source: a later chapter's copy of an earlier chapter's solution is generated from it.

A chapter that builds on an earlier one gives the learner that chapter's solution (chapter 03 runs on
chapter 02's attention, chapter 05 on chapter 04's cache). Such a cell names its sources in its metadata::

    "aiecourse": {"given_from": {"chapter": "02_attention", "cells": ["causal_mask", "split_merge_heads"]}}

and holds, between two marker lines, the solution code of those cells (by ``grade_id``, in that order,
the ``### BEGIN/END SOLUTION`` lines left out)::

    # ---- given: chapter 02's solution (generated from solutions/02_attention; edit it there) ----
    def causal_mask(...): ...
    # ---- end of chapter 02's solution ----

Code before or after the markers is the cell's own and is kept. ``python -m grader release`` rewrites
the region in ``solutions/`` before it generates ``course/``; ``release --check`` (and so the test
suite) fails while any copy differs from its source.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .notebooks import chapters, nbgrader_meta, notebook_path

KEY = "aiecourse"
BEGIN = "# ---- given: chapter {n}'s solution (generated from solutions/{chapter}; edit it there) ----"
END = "# ---- end of chapter {n}'s solution ----"
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def given_from(cell) -> dict | None:
    """The cell's ``{"chapter": ..., "cells": [...]}`` sources, or None for an ordinary cell."""
    return cell.get("metadata", {}).get(KEY, {}).get("given_from")


def solution_code(source: str) -> str:
    """A solution cell's code as the solution runs it: the BEGIN/END SOLUTION marker lines removed."""
    return "\n".join(line for line in source.splitlines() if not SOLUTION_MARKER.match(line)).strip("\n")


def _number(chapter: str) -> str:
    return chapter.split("_", 1)[0]


def copied_code(spec: dict, read=lambda ch: nbformat.read(notebook_path(ch), as_version=4)) -> str:
    """The marked region the spec asks for: the source chapter's solution cells, in the spec's order."""
    chapter, wanted = spec.get("chapter"), spec.get("cells") or []
    if chapter not in chapters():
        raise ValueError(f"given_from names chapter {chapter!r}; the chapters are: {', '.join(chapters())}")
    cells = {nbgrader_meta(c).get("grade_id"): c for c in read(chapter).cells if nbgrader_meta(c).get("solution")}
    missing = [w for w in wanted if w not in cells]
    if not wanted or missing:
        raise ValueError(
            f"given_from {chapter}: no solution cell {missing or '(none listed)'}; it has {', '.join(cells) or 'none'}"
        )
    body = "\n\n\n".join(solution_code(cells[w].source) for w in wanted)
    n = _number(chapter)
    return f"{BEGIN.format(n=n, chapter=chapter)}\n{body}\n\n\n{END.format(n=n)}"  # two blank lines, as ruff formats


def regenerate(source: str, spec: dict, **kwargs) -> str:
    """``source`` with its marked region replaced by the current copy (or the copy appended, if unmarked)."""
    region = copied_code(spec, **kwargs)
    n, chapter = _number(spec["chapter"]), spec["chapter"]
    begin, end = BEGIN.format(n=n, chapter=chapter), END.format(n=n)
    if begin in source and end in source:
        head, rest = source.split(begin, 1)
        tail = rest.split(end, 1)[1]
        return head + region + tail
    return (source.rstrip("\n") + "\n\n" + region) if source.strip() else region


def sync(chapter: str, write: bool) -> list[str]:
    """Bring the given cells of ``chapter``'s solution notebook up to date; the grade ids that were stale.

    With ``write`` the notebook in ``solutions/`` is rewritten; without, nothing changes."""
    path: Path = notebook_path(chapter)
    nb = nbformat.read(path, as_version=4)
    stale = []
    for cell in nb.cells:
        spec = given_from(cell)
        if cell.cell_type != "code" or not spec:
            continue
        fresh = regenerate(cell.source, spec)
        if fresh != cell.source:
            stale.append(nbgrader_meta(cell).get("grade_id") or f"cell {nb.cells.index(cell)}")
            cell.source = fresh
    if stale and write:
        nbformat.write(nb, path)
    return stale
