"""JupyterLab as a learner meets it, driven by a real browser (Debian's Chromium through Playwright).

The server is started the way the README's ``make lab`` starts it (the options of the Makefile's
``lab`` recipe, read from the Makefile), plus what a test needs: loopback, a token, no browser of its
own, throw-away Jupyter directories. It serves a temporary copy of the course whose chapter-02 notebook
has the solutions filled in. The browser opens the notebook, waits for the kernel, runs all cells from
the Run menu, and checks that every graded cell printed its visible tests' verdict, that nothing
failed, and that the figures (the causal mask and the attention heatmap) are on the page. It then opens
the formgrader and checks that the chapter is listed. Screenshots go to ``artifacts/browser/``.

Without Chromium (``/usr/bin/chromium``, or ``$AIECOURSE_CHROMIUM``) or the ``playwright`` package the
browser tests are skipped, saying why. ``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM_ARGS, REPORT_DIR

from grader.notebooks import REPO_ROOT, is_graded, with_solutions

CHAPTER = "02_attention"
SHOTS = REPORT_DIR / "browser"


def _chromium() -> str | None:
    for candidate in (os.environ.get("AIECOURSE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _skip_without_browser() -> str:
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium: install Debian's `chromium` and `chromium-driver` (.ci/run does), "
            "or set AIECOURSE_CHROMIUM to a Chromium executable"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the `playwright` package is not installed (it is in the dev extra: pip install -e '.[dev]')")
    return chromium


def make_lab_options() -> list[str]:
    """The ``jupyter lab`` options of the Makefile's ``lab`` recipe (what ``make lab`` runs)."""
    text = (REPO_ROOT / "Makefile").read_text()
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "the Makefile has no lab target"
    line = next((ln for ln in recipe.group(1).splitlines() if "jupyter lab" in ln), None)
    assert line, "the Makefile's lab recipe does not run jupyter lab"
    return [tok for tok in shlex.split(line.split("jupyter lab", 1)[1]) if tok.startswith("--")]


@pytest.mark.slow
def test_make_lab_enables_nbgrader_extensions():
    """The environment `make lab` starts has nbgrader's server and JupyterLab extensions enabled."""
    server = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"], capture_output=True, text=True, timeout=120
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", server.stdout + server.stderr)
    for ext in ("formgrader", "assignment_list", "course_list", "validate_assignment"):
        assert re.search(rf"nbgrader\.server_extensions\.{ext}\s+enabled", text), (
            f"nbgrader's {ext} server extension is not enabled:\n{text}"
        )
    lab = subprocess.run(
        [sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True, text=True, timeout=120
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", lab.stdout + lab.stderr)
    assert re.search(r"@jupyter/nbgrader v\S+ enabled\s+OK", text), (
        f"nbgrader's JupyterLab extension is not enabled:\n{text}"
    )
    options = make_lab_options()
    assert "--ServerApp.root_dir=." in options and any(
        o.startswith("--LabApp.default_url=/lab/tree/course") for o in options
    )


# --- a JupyterLab server on a copy of the course --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _course_copy(root: Path) -> Path:
    """The course as a learner's clone has it, with chapter 02's exercises solved."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO_ROOT / "grader", root / "grader", ignore=ignore)
    shutil.copytree(REPO_ROOT / "solutions" / CHAPTER, root / "solutions" / CHAPTER, ignore=ignore)
    shutil.copytree(REPO_ROOT / "course" / CHAPTER, root / "course" / CHAPTER, ignore=ignore)
    notebook = root / "course" / CHAPTER / f"{CHAPTER}.ipynb"
    nbformat.write(with_solutions(CHAPTER), notebook)
    return notebook


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except Exception:  # noqa: BLE001 - psutil missing or the process already gone
        return []


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab: yields (base URL, token, course root, solved notebook); stops it afterwards."""
    _skip_without_browser()
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "clone"
    root.mkdir()
    notebook = _course_copy(root)
    settings = tmp / "settings"
    # The "get notified about Jupyter news?" pop-up would cover the screenshots.
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # figures inline, as for a learner
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        *make_lab_options(),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--ServerApp.terminals_enabled=False",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    children: set[int] = set()
    try:
        deadline = time.time() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{(tmp / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"JupyterLab did not answer in 90 s:\n{(tmp / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, root, notebook
    finally:
        children.update(_descendants(server.pid))  # the kernels run in sessions of their own
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


@pytest.fixture(scope="module")
def browser():
    chromium = _skip_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page, name: str, locator=None) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    if locator is not None:
        locator.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    return path


CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
KERNEL_IDLE = """() => {
    const bar = document.querySelector('#jp-main-statusbar');
    return !!bar && /Python 3[^|]*\\|\\s*Idle/.test(bar.textContent);
}"""
RUNNING_CELLS = "() => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')].filter(p => p.textContent.includes('[*]')).length"


@pytest.mark.browser
def test_run_all_in_jupyterlab_shows_tests_and_figures(lab, browser, record_property):
    base, token, root, notebook = lab
    nb = nbformat.read(notebook, as_version=4)
    graded = [i for i, c in enumerate(nb.cells) if is_graded(c)]
    verdicts = sum(c.source.count("visible tests passed") for c in nb.cells if is_graded(c))
    heatmap = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "attention_heatmap(" in c.source)
    figures = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and re.search(r"plt\.|plots\.", c.source)]

    start = time.time()
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(90_000)
    try:
        page.goto(f"{base}/lab/tree/course/{CHAPTER}/{CHAPTER}.ipynb?token={token}")
        cells = page.locator(CELLS)
        cells.first.wait_for()
        # The kernel must be attached and idle before Run All, or Run All runs nothing and says nothing.
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        # JupyterLab attaches cells to the page in batches; wait for all of them.
        page.wait_for_function(f"() => document.querySelectorAll('{CELLS}').length === {len(nb.cells)}", timeout=60_000)
        assert page.evaluate("() => window.jupyterapp.commands.hasCommand('nbgrader:open-formgrader')"), (
            "nbgrader's JupyterLab extension is not loaded"
        )
        assert page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).count() == 1, "no Nbgrader menu"
        ready = time.time()

        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        # Every graded cell has printed, and nothing is still running.
        page.wait_for_function(
            """([idx, sel]) => { const cells = document.querySelectorAll(sel);
                return idx.every(i => cells[i] && cells[i].querySelector('.jp-OutputArea-output')); }""",
            arg=[graded, CELLS],
            timeout=240_000,
        )
        page.wait_for_function(f"() => ({RUNNING_CELLS})() === 0", timeout=240_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        ran = time.time()

        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0, (
            "cells wrote errors or warnings:\n" + "\n---\n".join(errors.all_text_contents())[:3000]
        )
        outputs_text = "\n".join(page.locator(".jp-OutputArea-output").all_text_contents())
        assert outputs_text.count("visible tests passed") == verdicts >= 1, (
            f"expected {verdicts} 'visible tests passed' verdicts on the page:\n{outputs_text[:3000]}"
        )
        assert "running on" in cells.nth(1).text_content(), "the setup cell did not print its device"
        for i in graded:
            text = cells.nth(i).locator(".jp-OutputArea-output").all_text_contents()
            assert any(t.strip() for t in text), f"graded cell {i} shows no output"
        for i in figures:
            img = cells.nth(i).locator(".jp-OutputArea-output img")
            assert img.count() >= 1, f"cell {i} draws a figure but none is on the page"
            assert img.first.evaluate("im => im.complete && im.naturalWidth > 100"), f"cell {i}'s figure did not load"
        assert heatmap in figures

        record_property("screenshot_top", str(_shot(page, f"{CHAPTER}_1_top.png", cells.nth(0))))
        record_property("screenshot_test", str(_shot(page, f"{CHAPTER}_2_first_test.png", cells.nth(graded[0]))))
        record_property(
            "screenshot_mask",
            str(_shot(page, f"{CHAPTER}_3_causal_mask.png", cells.nth(figures[0]).locator("img").first)),
        )
        record_property(
            "screenshot_heatmap", str(_shot(page, f"{CHAPTER}_4_heatmap.png", cells.nth(heatmap).locator("img").first))
        )
        record_property("seconds_to_kernel_ready", round(ready - start, 1))
        record_property("seconds_run_all", round(ran - ready, 1))
        print(f"browser: kernel ready after {ready - start:.1f} s, Run All took {ran - ready:.1f} s")
    except Exception:
        _shot(page, f"{CHAPTER}_FAILED.png")
        raise
    finally:
        page.close()


@pytest.mark.browser
def test_formgrader_lists_the_chapter(lab, browser, record_property):
    base, token, *_ = lab
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{base}/formgrader?token={token}")
        row = page.locator("tr", has_text=CHAPTER)
        row.first.wait_for()  # the table is filled in asynchronously
        assert row.count() == 1, f"{CHAPTER} is listed {row.count()} times"
        record_property("screenshot_formgrader", str(_shot(page, "formgrader.png")))
    except Exception:
        _shot(page, "formgrader_FAILED.png")
        raise
    finally:
        page.close()
