"""nbgrader's configuration for the course. The repository root is the course root.

Use it with plain nbgrader from the repository root (the root's nbgrader_config.py loads this file),
or through ``python -m grader``.
"""

import os
import shutil
import sys

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
c.CourseDirectory.course_id = "aiecourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"

# Seconds a single cell may run during autograde before it is interrupted (the rest still runs).
c.Execute.timeout = 120
# A cell that swallows KeyboardInterrupt must not fail the whole notebook.
c.Execute.raise_on_iopub_timeout = False
# A learner who deletes a test cell gets it back, and its points are graded, not skipped.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader creates a new gradebook by running the `alembic` command found on PATH, which fails when the
# environment's bin/ is not on PATH (`.venv/bin/jupyter lab` without activating the venv: the formgrader's
# assignment list then never loads). Put this interpreter's bin/ on PATH when alembic is only there.
_bin = os.path.dirname(sys.executable)
if shutil.which("alembic") is None and shutil.which("alembic", path=_bin):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

# The course's repository: learners' Colab runtimes install the course from it, and the "Open in Colab"
# links open the notebooks from it. A fork sets its own URL here (the one place it is written);
# `python -m grader release` stamps it into every released notebook and the README's Colab links.
c.ColabSetup.repository = "https://github.com/aiecourse/aiecourse"
c.ColabSetup.branch = "main"

# Every generated (student) notebook starts with the Colab badge and setup cells (see grader/colab.py).
try:
    from grader.colab import ColabSetup
except ImportError:  # plain `nbgrader` from the repository root, without the course installed
    sys.path.insert(0, c.CourseDirectory.root)
    from grader.colab import ColabSetup
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [ColabSetup, *GenerateAssignment.class_traits()["preprocessors"].default()]
