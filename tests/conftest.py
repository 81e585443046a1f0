"""Shared fixtures: each chapter's notebooks are executed once per test session and reused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# One math thread for this process and every kernel it starts: the course's models are so small that a
# second thread mostly waits for the first, and on a loaded 2-core machine two threads per kernel made
# chapters run 5-10x slower (README, chapter run times). Set before torch is imported anywhere.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from grader.environment import put_interpreter_on_path  # noqa: E402 (after the thread settings)
from grader.notebooks import chapters, execute, notebook_path  # noqa: E402

put_interpreter_on_path()  # nbgrader creates a gradebook by running the `alembic` beside this Python

REPORT_DIR = Path(__file__).resolve().parents[1] / "artifacts"
# Headless Chromium on a machine with a closed network, as root (docs: ecosystem notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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


def pytest_addoption(parser):
    parser.addoption(
        "--chapter",
        action="append",
        default=[],
        help="run the per-chapter tests for this chapter only (repeatable), e.g. --chapter 02_attention",
    )


def selected_chapters(config) -> list[str]:
    """The chapters this run covers: all of them, or those given with --chapter (each must exist)."""
    wanted = config.getoption("--chapter")
    unknown = [c for c in wanted if c not in chapters()]
    if unknown:
        raise pytest.UsageError(f"unknown chapter(s) {unknown}; the chapters are: {', '.join(chapters())}")
    return wanted or chapters()


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        metafunc.parametrize("chapter", selected_chapters(metafunc.config))


@pytest.fixture(scope="module")
def one_torch_thread():
    """PyTorch on one thread for a module's tests (thousands of draws from tiny tensors: a second thread
    only adds synchronisation), whatever OMP_NUM_THREADS says; the count is put back afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
