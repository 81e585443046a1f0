"""Colab: the cells every released notebook starts with, and the README's "Open in Colab" links.

The course's repository URL is set once, in ``grader/nbgrader_config.py``
(``c.ColabSetup.repository``). At release, nbgrader's ``generate_assignment`` runs the preprocessor
``ColabSetup`` (registered in that config, so plain ``nbgrader generate_assignment`` does it too),
which puts two cells at the top of every student notebook:

- a markdown cell with the notebook's "Open in Colab" badge, and
- a setup cell that, when the support library ``aiecourse`` is not importable (a fresh Colab runtime),
  installs the course from the repository (or from ``$AIECOURSE_INSTALL_SPEC`` when it is set: a
  wheel, a folder, another git URL), then picks the GPU when there is one.

Both cells carry a tag (``colab-badge``, ``colab-setup``) and no nbgrader metadata: the gradebook does
not know them, a learner may delete them, and a release replaces them rather than adding a second pair.
The setup cell is plain Python (``get_ipython().run_line_magic("pip", ...)``, not ``%pip``) so that any
runner can execute it; the mutation runner skips it anyway (it never needs to install anything).

``python -m grader release`` also points the README's Colab links at the configured repository.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

BADGE_TAG = "colab-badge"
SETUP_TAG = "colab-setup"
INSTALL_ENV = "AIECOURSE_INSTALL_SPEC"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# A Colab link to a notebook on GitHub: https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH
COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/[^/\s)\"']+/[^/\s)\"']+/blob/[^/\s)\"']+/"
    r"(?P<path>[^\s)\"']+\.ipynb)"
)

SETUP_SOURCE = """\
# Setup. Where the course is not installed (a fresh Colab runtime), this installs it first (about a minute).
try:
    import aiecourse
except ImportError:
    import importlib, os
    spec = os.environ.get("{env}", "{spec}")
    get_ipython().run_line_magic("pip", f'install --quiet "{{spec}}"')
    importlib.invalidate_caches()
    import aiecourse
device = aiecourse.get_device()  # the GPU when there is one
print("aiecourse", aiecourse.__version__, "running on", aiecourse.describe(device))"""

BADGE_SOURCE = """\
<a href="{url}" target="_parent"><img src="{image}" alt="Open In Colab"/></a>

**In Colab**, run the setup cell below first: it installs the course. For a GPU, choose *Runtime → Change
runtime type → GPU* before you start (everything also runs on a CPU). **On your own machine**, `make lab`
opens the course in JupyterLab (see the README)."""

BADGE_SOURCE_NO_COLAB = """\
**Not installed yet?** The setup cell below installs the course. **On your own machine**, `make lab`
opens the course in JupyterLab (see the README)."""


def github_owner_repo(repository: str) -> tuple[str, str] | None:
    """``("owner", "repo")`` for a github.com URL (Colab opens notebooks from GitHub only), else None."""
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository.strip())
    return (m.group(1), m.group(2)) if m else None


def colab_url(repository: str, branch: str, path: str) -> str | None:
    """The Colab address of the notebook at ``path`` (relative to the repository root), or None off GitHub."""
    owner_repo = github_owner_repo(repository)
    if owner_repo is None:
        return None
    return f"https://colab.research.google.com/github/{owner_repo[0]}/{owner_repo[1]}/blob/{branch}/{path}"


def install_spec(repository: str, branch: str) -> str:
    """What ``pip install`` gets in a fresh runtime: the repository at ``branch``."""
    return f"git+{repository.rstrip('/')}@{branch}"


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _cell(cell_type: str, source: str, tag: str, with_id: bool) -> NotebookNode:
    cell = NotebookNode(cell_type=cell_type, metadata=NotebookNode(tags=[tag]), source=source)
    if cell_type == "code":
        cell.execution_count = None
        cell.outputs = []
    if with_id:  # nbformat >= 4.5 requires cell ids; fixed ones keep releases byte-identical
        cell.id = tag
    return cell


def colab_cells(repository: str, branch: str, notebook_path: str, with_ids: bool = False) -> list[NotebookNode]:
    """The badge cell and the setup cell for the notebook at ``notebook_path`` (relative to the repo root)."""
    url = colab_url(repository, branch, notebook_path)
    badge = BADGE_SOURCE.format(url=url, image=BADGE_IMAGE) if url else BADGE_SOURCE_NO_COLAB
    setup = SETUP_SOURCE.format(env=INSTALL_ENV, spec=install_spec(repository, branch))
    return [_cell("markdown", badge, BADGE_TAG, with_ids), _cell("code", setup, SETUP_TAG, with_ids)]


def is_colab_cell(cell) -> bool:
    return bool({BADGE_TAG, SETUP_TAG} & set(_tags(cell)))


class ColabSetup(NbGraderPreprocessor):
    """nbgrader preprocessor: put the Colab badge and setup cells at the top of a generated notebook."""

    repository = Unicode(
        "", help="The course's repository on GitHub, e.g. https://github.com/OWNER/REPO (a fork sets its own)"
    ).tag(config=True)
    branch = Unicode("main", help="The branch Colab opens and the setup cell installs").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.repository:
            raise ValueError("ColabSetup.repository is not set: set c.ColabSetup.repository in nbgrader_config.py")
        info = resources.get("nbgrader", {})
        release_dir = self.config.get("CourseDirectory", {}).get("release_directory", "release")
        path = f"{release_dir}/{info.get('assignment')}/{info.get('notebook')}.ipynb"
        with_ids = (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)
        nb.cells = colab_cells(self.repository, self.branch, path, with_ids) + [
            c for c in nb.cells if not is_colab_cell(c)
        ]
        return nb, resources


# --- the configured values, and the README's links ------------------------------------------------


def configured() -> tuple[str, str]:
    """``(repository, branch)`` as ``grader/nbgrader_config.py`` sets them."""
    from traitlets.config.loader import PyFileConfigLoader

    config_dir = Path(__file__).resolve().parent
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(config_dir)).load_config()
    colab = cfg.get("ColabSetup", {})
    if not colab.get("repository"):
        raise ValueError(f"c.ColabSetup.repository is not set in {config_dir / 'nbgrader_config.py'}")
    return colab["repository"], colab.get("branch", "main")


def sync_readme_links(text: str, repository: str, branch: str) -> str:
    """``text`` with every Colab link to a notebook pointed at ``repository`` / ``branch``."""

    def repl(m: re.Match) -> str:
        return colab_url(repository, branch, m.group("path")) or m.group(0)

    return COLAB_LINK.sub(repl, text)


def readme_colab_paths(text: str) -> set[str]:
    """The notebook paths (relative to the repository root) the README's Colab links open."""
    return {m.group("path") for m in COLAB_LINK.finditer(text)}
