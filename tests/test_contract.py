"""The exercise contract (docs/exercises.md) and the notebooks agree: every solution notebook defines exactly
the functions and classes its section lists, with those parameters, in the cells it names; every released
stub keeps the same signatures, so that a learner's answer plugs into the tests."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grader.notebooks import REPO_ROOT, chapters, is_solution, nbgrader_meta, notebook_path

CONTRACT = REPO_ROOT / "docs" / "exercises.md"


@dataclass
class Entry:
    """One graded name: its parameters (and, for a class, its methods' parameters) and its cell."""

    name: str
    params: tuple
    grade_id: str
    line: int
    methods: dict[str, tuple] | None  # a class's __init__ and public methods; None for a function


def _params(args: ast.arguments) -> tuple:
    """(name, kind, default source) for every parameter, `self` left out: annotations are documentation."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
    out = [(a.arg, "positional", d) for a, d in zip(positional, defaults)]
    if args.vararg:
        out.append((args.vararg.arg, "*args", None))
    out += [
        (a.arg, "keyword-only", None if d is None else ast.unparse(d))
        for a, d in zip(args.kwonlyargs, args.kw_defaults)
    ]
    if args.kwarg:
        out.append((args.kwarg.arg, "**kwargs", None))
    return tuple(p for p in out if p[0] != "self")


def _signature(source: str, where: str) -> ast.FunctionDef:
    try:
        return ast.parse(f"def {source}: pass").body[0]
    except SyntaxError as e:
        raise AssertionError(f"{where}: the signature `{source}` does not parse: {e.msg}") from None


def read_contract(path: Path = CONTRACT) -> dict[str, dict[str, Entry]]:
    """The contract's entries: chapter -> name -> Entry."""
    contract: dict[str, dict[str, Entry]] = {}
    chapter = None
    bullets: list[tuple[int, str, str]] = []  # (line number, chapter, the bullet with its continuation lines)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        heading = re.match(r"## (\S+)", line)
        if heading:
            chapter = heading.group(1)
            contract[chapter] = {}
        elif line.startswith(("- ", "  - ")) and chapter:
            bullets.append((number, chapter, line))
        elif line.startswith("  ") and line.strip() and bullets and bullets[-1][1] == chapter:
            bullets[-1] = (bullets[-1][0], chapter, bullets[-1][2] + " " + line.strip())
    current: Entry | None = None
    for number, chapter, text in bullets:
        where = f"{path.name}:{number}"
        span = re.search(r"`([^`]+)`", text)
        if text.startswith("  - "):  # a method of the class above
            assert current and current.methods is not None and span and span.group(1).startswith("."), (
                f"{where}: a method bullet needs a class above it"
            )
            method = _signature(span.group(1)[1:], where)
            current.methods[method.name] = _params(method.args)
            continue
        if not span or not re.match(r"(class )?\w+\(", span.group(1)):
            continue  # a bullet of the conventions, not an entry
        grade_id = re.search(r"`\s*\[([\w-]+)\]", text)
        assert grade_id, f"{where}: an entry names its cell's grade_id in brackets after the signature"
        sig = span.group(1)
        is_class = sig.startswith("class ")
        node = _signature(sig.removeprefix("class "), where)
        params = _params(node.args)
        current = Entry(node.name, params, grade_id.group(1), number, {"__init__": params} if is_class else None)
        assert node.name not in contract[chapter], f"{where}: {node.name} is listed twice"
        contract[chapter][node.name] = current
    return contract


def notebook_definitions(chapter: str, released: bool) -> dict[str, tuple[str, tuple, dict | None]]:
    """name -> (grade_id, parameters, methods or None) for each top-level def and class of the exercise cells."""
    nb = nbformat.read(notebook_path(chapter, released=released), as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        grade_id = nbgrader_meta(cell)["grade_id"]
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = (grade_id, _params(node.args), None)
            elif isinstance(node, ast.ClassDef):
                methods = {
                    n.name: _params(n.args)
                    for n in node.body
                    if isinstance(n, ast.FunctionDef) and (n.name == "__init__" or not n.name.startswith("_"))
                }
                found[node.name] = (grade_id, methods.get("__init__", ()), methods)
    return found


def test_the_contract_covers_every_chapter():
    assert sorted(read_contract()) == chapters(), f"{CONTRACT.name} needs one section per chapter, named by its folder"


@pytest.mark.parametrize("released", [False, True], ids=["solution", "release"])
def test_notebook_defines_exactly_the_contract(chapter, released):
    listed = read_contract()[chapter]
    defined = notebook_definitions(chapter, released)
    where = f"{'course' if released else 'solutions'}/{chapter}"
    assert set(defined) == set(listed), (
        f"{where}: defined but not in {CONTRACT.name}: {sorted(set(defined) - set(listed))}; "
        f"listed but not defined: {sorted(set(listed) - set(defined))}"
    )
    for name, entry in listed.items():
        grade_id, params, methods = defined[name]
        line = f"{CONTRACT.name}:{entry.line}"
        assert grade_id == entry.grade_id, f"{where}: {name} is in cell {grade_id!r}, {line} says {entry.grade_id!r}"
        assert params == entry.params, f"{where}: {name}'s parameters are {params}, {line} says {entry.params}"
        if entry.methods is None:
            assert methods is None, f"{where}: {name} is a class, {line} lists a function"
        else:
            assert methods == entry.methods, f"{where}: {name}'s methods are {methods}, {line} says {entry.methods}"
