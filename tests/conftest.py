"""Shared fixtures: each chapter's notebooks are executed once per test session and reused."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# nbgrader creates a new gradebook by running `alembic` from PATH: the one installed beside this Python.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

from grader.notebooks import chapters, execute, notebook_path  # noqa: E402

REPORT_DIR = Path(__file__).resolve().parents[1] / "artifacts"
_executed: dict[tuple[str, bool], object] = {}


def executed_notebook(chapter: str, released: bool):
    """The chapter's solution (or released stub) notebook after one run in a fresh kernel, cached."""
    key = (chapter, released)
    if key not in _executed:
        start = time.time()
        _executed[key] = execute(notebook_path(chapter, released=released), timeout=300)
        seconds = time.time() - start
        REPORT_DIR.mkdir(exist_ok=True)
        times = REPORT_DIR / "notebook_times.json"
        data = json.loads(times.read_text()) if times.exists() else {}
        data[f"{'course' if released else 'solutions'}/{chapter}"] = round(seconds, 1)
        times.write_text(json.dumps(data, indent=1, sort_keys=True))
    return _executed[key]


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        metafunc.parametrize("chapter", chapters())
