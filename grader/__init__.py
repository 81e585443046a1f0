"""The course's grader: release chapters, check a notebook, autograde a class (``python -m grader --help``)."""
