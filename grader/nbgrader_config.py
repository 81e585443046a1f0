"""nbgrader's configuration for the course. The repository root is the course root.

Use it with plain nbgrader from the repository root (the root's nbgrader_config.py loads this file),
or through ``python -m grader``.
"""

import os

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
