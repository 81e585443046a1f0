"""Regenerate ``course/`` from ``solutions/`` with nbgrader's generate_assignment, or check that it is current.

First the cells that give an earlier chapter's solution are brought up to date in ``solutions/``
(``grader.given``: a copy is generated from its source and never edited by hand).
generate_assignment also puts the Colab badge and setup cells at the top of each notebook (the
``ColabSetup`` preprocessor in grader/nbgrader_config.py), and a release points the README's
"Open in Colab" links at the configured repository.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import given
from .colab import configured, sync_readme_links
from .notebooks import COURSE, REPO_ROOT, SOLUTIONS, chapters

CONFIG = REPO_ROOT / "grader" / "nbgrader_config.py"
README = REPO_ROOT / "README.md"
IGNORED = {".ipynb_checkpoints", "__pycache__"}


def generate(chapter: str, course_root: Path) -> None:
    """Run ``nbgrader generate_assignment`` for one chapter into ``course_root/course/`` (no gradebook)."""
    cmd = [
        sys.executable,
        "-m",
        "nbgrader",
        "generate_assignment",
        chapter,
        "--force",
        "--no-db",
        f"--config={CONFIG}",
        f"--CourseDirectory.root={course_root}",
        "--log-level=ERROR",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{proc.stdout}\n{proc.stderr}")


def _staged(selected: list[str]) -> tuple[tempfile.TemporaryDirectory, Path]:
    """A scratch course root whose solutions/ holds the chapters, generated into its course/."""
    tmp = tempfile.TemporaryDirectory(prefix="aiecourse-release-")
    root = Path(tmp.name)
    for chapter in selected:
        shutil.copytree(SOLUTIONS / chapter, root / "solutions" / chapter, ignore=shutil.ignore_patterns(*IGNORED))
        generate(chapter, root)
    return tmp, root


def _differences(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two chapter folders (missing on either side, or other bytes)."""

    def files(d: Path) -> set[str]:
        return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and not IGNORED & set(p.parts)}

    fa, fb = (files(a) if a.exists() else set()), (files(b) if b.exists() else set())
    diff = sorted(fa ^ fb)
    diff += sorted(f for f in fa & fb if not filecmp.cmp(a / f, b / f, shallow=False))
    return diff


def _readme_synced() -> tuple[str, str]:
    """The README's text now, and as it is with its Colab links pointed at the configured repository."""
    text = README.read_text(encoding="utf-8")
    return text, sync_readme_links(text, *configured())


def release(chapter: str | None = None, check: bool = False) -> int:
    selected = [chapter] if chapter else chapters()
    unknown = [c for c in selected if c not in chapters()]
    if unknown:
        print(f"unknown chapter {unknown[0]!r}; the chapters are: {', '.join(chapters())}")
        return 2
    copies = {ch: given.sync(ch, write=not check) for ch in selected}
    copies = {ch: ids for ch, ids in copies.items() if ids}
    for ch, ids in copies.items() if not check else ():
        print(f"solutions/{ch}: given cells {', '.join(ids)} regenerated from their source chapter")
    tmp, root = _staged(selected)
    with tmp:
        stale = {}
        for ch in selected:
            generated = root / "course" / ch
            if check:
                diff = _differences(generated, COURSE / ch)
                if diff:
                    stale[ch] = diff
            else:
                if (COURSE / ch).exists():
                    shutil.rmtree(COURSE / ch)
                shutil.copytree(generated, COURSE / ch)
                print(f"released {ch} -> course/{ch}/")
        readme, synced = _readme_synced()
        if not check and synced != readme:
            README.write_text(synced, encoding="utf-8")
            print("README.md: Colab links now open the configured repository")
        if check:
            for ch, ids in copies.items():
                print(f"solutions/{ch}: given cells {', '.join(ids)} differ from the solutions they copy")
            for ch, diff in stale.items():
                print(f"course/{ch} is stale: {', '.join(diff)} differ from what solutions/{ch} generates")
            if synced != readme:
                print(f"README.md is stale: its Colab links do not open {configured()[0]} ({configured()[1]})")
            if copies or stale or synced != readme:
                print("run: python -m grader release")
                return 1
            print(f"course/ is in sync with solutions/ ({', '.join(selected)})")
    return 0
