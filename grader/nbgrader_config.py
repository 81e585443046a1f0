"""nbgrader's configuration for the course. The repository root is the course root.

Use it with plain nbgrader from the repository root (the root's nbgrader_config.py loads this file),
or through ``python -m grader``. Settings an instructor keeps private (the hidden-test seed) belong
in the environment or in a config file outside the repository, e.g. ``~/.jupyter/nbgrader_config.py``.
"""

import os
import sys

# Plain `nbgrader` from the repository root, without the course installed, still finds grader/.
_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _root not in sys.path:
    sys.path.insert(0, _root)

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.converters import GenerateAssignment  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from grader.colab import ColabSetup  # noqa: E402
from grader.environment import put_interpreter_on_path  # noqa: E402
from grader.execution.execute import GuardedExecute  # noqa: E402
from grader.feedback import HideHiddenTests  # noqa: E402

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "aiecourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader creates a new gradebook by running `alembic` from PATH: without this, `.venv/bin/jupyter lab`
# run without activating the venv never loads the formgrader's assignment list (grader/environment.py).
put_interpreter_on_path()

# The course's repository: learners' Colab runtimes install the course from it, and the "Open in Colab"
# links open the notebooks from it. A fork sets its own URL here (the one place it is written);
# `python -m grader release` stamps it into every released notebook and the README's Colab links.
c.ColabSetup.repository = "https://github.com/aiecourse/aiecourse"
c.ColabSetup.branch = "main"

# Every generated (student) notebook starts with the Colab badge and setup cells (see grader/colab.py).
c.GenerateAssignment.preprocessors = [ColabSetup, *GenerateAssignment.class_traits()["preprocessors"].default()]

# --- Autograding ------------------------------------------------------------------------------------
# nbgrader's Execute step is replaced by the grader's (grader/execution/execute.py): limits per submission, a
# guard around every test, no points for a test that did not run. `nbgrader autograde`, the
# formgrader and `python -m grader autograde` all grade this way.
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Limits per submission. A cell that runs longer than the per-cell limit is interrupted and the rest
# of the notebook still runs; one that ignores the interrupt loses its kernel.
c.Execute.timeout = 120  # seconds per cell
c.GuardedExecute.submission_timeout = 900  # seconds for the whole notebook
c.GuardedExecute.memory_limit = 4 * 1024**3  # bytes of address space per kernel (a 50 GB allocation fails in its cell)
c.GuardedExecute.file_size_limit = 1024**3  # largest file a notebook may write
c.GuardedExecute.max_output_bytes = 1_000_000  # output kept per cell
c.GuardedExecute.interrupt_grace = 10  # seconds a timed-out cell has to stop before its kernel is killed
# Hidden tests draw their cases from a seed. Grading for credit, set your own secret one:
#   export AIECOURSE_HIDDEN_SEED=...   (or c.GuardedExecute.hidden_seed = ... in ~/.jupyter/nbgrader_config.py)
# Left unset here, so the environment decides; without either, the public default of aiecourse.checks.
if os.environ.get("AIECOURSE_HIDDEN_SEED", "").strip():
    c.GuardedExecute.hidden_seed = int(os.environ["AIECOURSE_HIDDEN_SEED"])
# A cell that swallows KeyboardInterrupt must not fail the whole notebook.
c.Execute.raise_on_iopub_timeout = False
# A learner who deletes a test cell gets it back, and its points are graded, not skipped.
c.OverwriteCells.add_missing_cells = True

# --- The exchange (release_assignment, fetch, submit, collect) ---------------------------------------
# On a hub, every server gets AIECOURSE_EXCHANGE (docs/jupyterhub.md). Off a hub, nbgrader's default,
# /usr/local/share/nbgrader/exchange, would be created world-writable (nbgrader chmods it 0777 on
# release) and logged as "Unwritable directory" by JupyterLab while it is missing: use this checkout's
# own .exchange/ instead, reachable only by those who can enter the checkout (`make lab` creates it).
if os.environ.get("AIECOURSE_EXCHANGE"):
    c.Exchange.root = os.environ["AIECOURSE_EXCHANGE"]
elif "JUPYTERHUB_SERVICE_PREFIX" not in os.environ:  # on a hub without the variable, the hub's config decides
    c.Exchange.root = os.path.join(_root, ".exchange")

# --- Feedback ---------------------------------------------------------------------------------------
# nbgrader's feedback shows the autograded notebook, hidden tests included: HideHiddenTests cuts them out.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]

# --- LMS archives (python -m grader autograde CLASS.zip, nbgrader zip_collect) --------------------
# Named groups student_id and file_id (and optionally timestamp) in each file's path inside the archive.
# This default reads nbgrader's documented example (Blackboard-style names):
#   02_attention_alice_attempt_2024-03-01-10-00-00_02_attention.ipynb
# Canvas ("alice_12345_678_02_attention.ipynb"):  r".*/(?P<student_id>[^/_]+)_\d+_\d+_(?P<file_id>[^/]+)$"
# Moodle (one folder per student, "Alice Smith_123_assignsubmission_file_/02_attention.ipynb"):
#   r".*/(?P<student_id>[^/]+?)_\d+_assignsubmission_file_/(?P<file_id>[^/]+)$"
c.FileNameCollectorPlugin.named_regexp = (
    r".*_(?P<student_id>[A-Za-z0-9.@+-]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>[^/]+)$"
)

# `nbgrader release_feedback` (and the formgrader's button) hands back every page a student can fetch and
# names, with the reason, each one graded from a folder or an LMS archive, instead of stopping the whole
# release on the first missing timestamp.txt (grader/exchange.py).
c.ExchangeFactory.release_feedback = "grader.exchange.ReleaseFeedback"
