# Lets plain `nbgrader ...` and the formgrader find the course config when started from the repository root.
c = get_config()  # noqa: F821
load_subconfig("grader/nbgrader_config.py")  # noqa: F821
