"""The instructor's course: ~/aiecourse, a clone of the course repository (docs/jupyterhub.md).

Loads the course's own configuration (grader/nbgrader_config.py: source directory solutions/,
release directory course/, time limits), which makes the clone the course root. The formgrader
finds it because it lies inside the instructor's home, the server's root directory.
"""

import os

c = get_config()  # noqa: F821

course = os.path.expanduser(os.environ.get("AIECOURSE_COURSE_ROOT", "~/aiecourse"))
load_subconfig(os.path.join(course, "grader", "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.root = course
