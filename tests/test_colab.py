"""Colab: every released notebook opens with the badge and setup cells, and the setup cell really installs
the course into a runtime that has never seen it.

The simulation (``test_fresh_runtime_installs_the_course_and_runs_the_chapter``) meets a notebook the
way Colab does: a fresh virtual environment (``python -m venv``, no system site-packages) holding only
Jupyter's kernel and notebook runner (``ipykernel``, ``nbclient``, from the package index) and the
notebook file, in an empty folder, with no ``PYTHONPATH``, no user site-packages and no Jupyter
configuration of this machine. ``AIECOURSE_INSTALL_SPEC`` points the setup cell at a wheel built from
this checkout (the stand-in for the repository URL, which a machine without network cannot reach). The
setup cell must install the course *and its dependencies* (PyTorch, NumPy, matplotlib, ...) with pip
into the kernel's own interpreter; then the whole notebook, with the solutions filled in, runs with
every visible test passing and its figures drawn inline. Only the torch version is pinned (a pip
constraint, to the version this checkout is tested with), so that the index cannot hand over some other
build. Its time is mostly pip installing PyTorch (about a minute on an idle machine).

It runs for 02_attention; ``AIECOURSE_COLAB_CHAPTERS=all`` (or a comma-separated list) runs it for
other chapters too, each in the same environment after ``pip uninstall aiecourse``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import REPORT_DIR
from traitlets.config import Config

from grader.colab import (
    BADGE_TAG,
    INSTALL_ENV,
    SETUP_TAG,
    ColabSetup,
    colab_url,
    configured,
    install_spec,
    is_colab_cell,
    readme_colab_paths,
    sync_readme_links,
)
from grader.mutation import is_skipped
from grader.notebooks import REPO_ROOT, chapters, graded_results, is_graded, notebook_path, with_solutions

README = REPO_ROOT / "README.md"


def _colab_chapters() -> list[str]:
    wanted = os.environ.get("AIECOURSE_COLAB_CHAPTERS", "02_attention")
    if wanted == "all":
        return chapters()
    return [c.strip() for c in wanted.split(",") if c.strip()]


# --- every chapter: the released notebook and the README ------------------------------------------


def test_released_notebook_starts_with_colab_cells(chapter):
    nb = nbformat.read(notebook_path(chapter, released=True), as_version=4)
    repository, branch = configured()
    badge, setup = nb.cells[0], nb.cells[1]
    assert badge.cell_type == "markdown" and BADGE_TAG in badge.metadata.get("tags", []), (
        f"course/{chapter}: the first cell is not the Colab badge; run python -m grader release"
    )
    url = colab_url(repository, branch, f"course/{chapter}/{chapter}.ipynb")
    assert f'href="{url}"' in badge.source, f"course/{chapter}: the badge does not open {url}"
    assert setup.cell_type == "code" and SETUP_TAG in setup.metadata.get("tags", []), (
        f"course/{chapter}: the second cell is not the Colab setup cell"
    )
    assert f'"{install_spec(repository, branch)}"' in setup.source and INSTALL_ENV in setup.source
    assert "nbgrader" not in setup.metadata and "nbgrader" not in badge.metadata, (
        "the Colab cells must stay out of the gradebook"
    )
    compile(setup.source, "setup cell", "exec")  # plain Python (no %magics): any runner can execute it
    assert not any(is_colab_cell(c) for c in nb.cells[2:]), f"course/{chapter}: Colab cells appear twice"


def test_readme_opens_every_chapter_in_colab(chapter):
    text = README.read_text(encoding="utf-8")
    path = f"course/{chapter}/{chapter}.ipynb"
    assert path in readme_colab_paths(text), (
        f"README.md has no 'Open in Colab' link for {chapter}: add one to the chapter table (see 02's row)"
    )
    assert sync_readme_links(text, *configured()) == text, "README's Colab links are stale: python -m grader release"


# --- the mechanism -------------------------------------------------------------------------------


def _preprocess(nb, repository, branch="main", release_directory="course"):
    cfg = Config()
    cfg.CourseDirectory.release_directory = release_directory
    pp = ColabSetup(repository=repository, branch=branch, config=cfg)
    return pp.preprocess(nb, {"nbgrader": {"assignment": "07_x", "notebook": "07_x"}})[0]


def test_colab_setup_is_stamped_once_with_the_configured_repository():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 07"), nbformat.v4.new_code_cell("1")])
    nb.nbformat_minor = 4
    for c in nb.cells:
        c.pop("id", None)
    once = _preprocess(nb, "https://github.com/someone/fork", branch="dev")
    assert [c.cell_type for c in once.cells] == ["markdown", "code", "markdown", "code"]
    assert (
        "https://colab.research.google.com/github/someone/fork/blob/dev/course/07_x/07_x.ipynb" in once.cells[0].source
    )
    assert '"git+https://github.com/someone/fork@dev"' in once.cells[1].source
    assert "id" not in once.cells[0] and "id" not in once.cells[1]  # nbformat 4.4: no cell ids
    twice = _preprocess(nbformat.from_dict(once), "https://github.com/other/repo")
    assert len(twice.cells) == 4 and "github/other/repo/blob/main" in twice.cells[0].source
    # Colab opens notebooks from GitHub only: elsewhere, no badge link, but the setup cell still installs.
    gitlab = _preprocess(nbformat.from_dict(nb), "https://gitlab.com/someone/fork")
    assert "colab.research.google.com" not in gitlab.cells[0].source
    assert '"git+https://gitlab.com/someone/fork@main"' in gitlab.cells[1].source
    with pytest.raises(ValueError, match="repository"):
        _preprocess(nbformat.from_dict(nb), "")


def test_readme_links_follow_the_repository():
    text = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/aiecourse/aiecourse/blob/main/course/02_x/02_x.ipynb)"
    )
    synced = sync_readme_links(text, "https://github.com/someone/fork", "dev")
    assert "github/someone/fork/blob/dev/course/02_x/02_x.ipynb" in synced
    assert "assets/colab-badge.svg" in synced  # the badge image is not a notebook link
    assert readme_colab_paths(synced) == {"course/02_x/02_x.ipynb"}


def test_mutation_runner_skips_the_setup_cell():
    assert is_skipped(nbformat.v4.new_code_cell("x", metadata={"tags": [SETUP_TAG]}))
    assert not is_skipped(nbformat.v4.new_code_cell("x"))


# --- the simulation ------------------------------------------------------------------------------

DRIVER = r"""
import sys, time, nbformat
from nbclient import NotebookClient
src, dst, cwd = sys.argv[1:4]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                        resources={"metadata": {"path": cwd}})
seconds = []
with client.setup_kernel():
    for i, cell in enumerate(nb.cells):
        t = time.time()
        client.execute_cell(cell, i)
        seconds.append(round(time.time() - t, 1))
nb.metadata["cell_seconds"] = seconds
nbformat.write(nb, dst)
"""


def _clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """This process's environment without anything that could make the course importable or pick
    another Python: no PYTHONPATH, no virtualenv, no user site-packages, no Jupyter config of this machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MPLBACKEND", "PYTHONSTARTUP"}
        and not k.startswith(("JUPYTER", "IPYTHON", "AIECOURSE_"))
    }
    for name in ("jupyter_config", "jupyter_data", "jupyter_runtime", "ipython"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(
        PYTHONNOUSERSITE="1",
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter_config"),
        JUPYTER_DATA_DIR=str(tmp / "jupyter_data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter_runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PIP_NO_COMPILE="1",  # skip byte-compiling PyTorch's thousands of files (time only)
        **extra,
    )
    return env


def _run(cmd, env, cwd, timeout=900):
    return subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _build_wheel(tmp: Path) -> Path:
    """A wheel of this checkout (the course, as `pip install git+<repository>` would build it)."""
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "grader", src / "grader", ignore=ignore)
    shutil.copytree(REPO_ROOT / "course" / "aiecourse", src / "course" / "aiecourse", ignore=ignore)
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp / "dist", src]
    setuptools = importlib.util.find_spec("setuptools")
    if setuptools is not None:  # build with this environment's setuptools (no download)
        import setuptools as st

        if int(st.__version__.split(".")[0]) >= 68:
            cmd.insert(4, "--no-build-isolation")
    proc = _run(cmd, env=os.environ.copy(), cwd=tmp, timeout=300)
    assert proc.returncode == 0, f"building the wheel failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    wheels = list((tmp / "dist").glob("aiecourse-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def fresh_runtime(tmp_path_factory):
    """(venv python, environment for it, wheel, seconds spent) — a venv with only ipykernel and nbclient."""
    tmp = tmp_path_factory.mktemp("colab")
    start = time.time()
    wheel = _build_wheel(tmp)
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True, timeout=300)
    python = tmp / "venv" / "bin" / "python"
    import torch

    constraints = tmp / "constraints.txt"
    constraints.write_text(f"torch=={torch.__version__.split('+')[0]}\n")
    env = _clean_env(tmp, PIP_CONSTRAINT=str(constraints))
    proc = _run([python, "-m", "pip", "install", "--quiet", "ipykernel", "nbclient"], env, tmp, timeout=600)
    assert proc.returncode == 0, f"pip install ipykernel nbclient failed:\n{proc.stderr[-3000:]}"
    for module in ("aiecourse", "torch", "numpy"):
        proc = _run([python, "-c", f"import {module}"], env, tmp)
        assert proc.returncode != 0, f"the fresh venv can already import {module}: it is not fresh"
    return python, env, wheel, time.time() - start


@pytest.mark.colab
@pytest.mark.parametrize("colab_chapter", _colab_chapters())
def test_fresh_runtime_installs_the_course_and_runs_the_chapter(
    colab_chapter, fresh_runtime, tmp_path, record_property
):
    python, env, wheel, setup_seconds = fresh_runtime
    _run([python, "-m", "pip", "uninstall", "--yes", "--quiet", "aiecourse"], env, tmp_path)  # earlier chapters'
    workdir = tmp_path / "content"  # like Colab's /content: the notebook file and nothing else
    workdir.mkdir()
    nb_file = workdir / f"{colab_chapter}.ipynb"
    nbformat.write(with_solutions(colab_chapter), nb_file)
    (tmp_path / "driver.py").write_text(DRIVER)
    out_file = tmp_path / "executed.ipynb"

    start = time.time()
    proc = _run(
        [python, tmp_path / "driver.py", nb_file, out_file, workdir],
        {**env, INSTALL_ENV: str(wheel)},
        workdir,
        timeout=1200,
    )
    run_seconds = time.time() - start
    assert proc.returncode == 0, f"running the notebook failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    nb = nbformat.read(out_file, as_version=4)

    setup = nb.cells[1]
    assert SETUP_TAG in setup.metadata.get("tags", [])
    text = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    errors = [o for o in setup.outputs if o.output_type == "error"]
    assert not errors, f"the setup cell raised: {errors[0].get('ename')}: {errors[0].get('evalue')}\n{text[-2000:]}"
    assert "running on" in text, f"the setup cell did not finish:\n{text[-2000:]}"
    where = _run(
        [python, "-c", "import aiecourse, torch; print(aiecourse.__file__); print(torch.__version__)"], env, tmp_path
    )
    assert where.returncode == 0 and where.stdout.startswith(str(python.parents[1])), (
        f"the course is not installed in the fresh venv: {where.stdout}{where.stderr}"
    )

    cell_errors = [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not cell_errors, "cells raised in the fresh runtime:\n" + "\n".join(cell_errors)
    results = graded_results(nb)
    assert results and all(r.passed for r in results), "visible tests failed in the fresh runtime:\n" + "\n".join(
        f"{r.grade_id}: {r.message}" for r in results if not r.passed
    )
    silent = [
        nbformat_id(c)
        for c in nb.cells
        if is_graded(c) and not any(o.output_type == "stream" and o.name == "stdout" for o in c.outputs)
    ]
    assert not silent, f"graded cells printed nothing (their visible tests should say they passed): {silent}"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, "no figure was drawn inline"

    seconds = nb.metadata.get("cell_seconds", [])
    record_property("colab_setup_seconds", round(setup_seconds, 1))
    record_property("colab_install_cell_seconds", seconds[1] if len(seconds) > 1 else None)
    record_property("colab_notebook_seconds", round(run_seconds, 1))
    REPORT_DIR.mkdir(exist_ok=True)
    times = REPORT_DIR / "colab_times.json"
    data = json.loads(times.read_text()) if times.exists() else {}
    data[colab_chapter] = {
        "venv_and_kernel_packages_s": round(setup_seconds, 1),
        "setup_cell_install_s": seconds[1] if len(seconds) > 1 else None,
        "whole_notebook_s": round(run_seconds, 1),
        "figures": images,
        "torch": where.stdout.split()[-1],
    }
    times.write_text(json.dumps(data, indent=1, sort_keys=True))


def nbformat_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
