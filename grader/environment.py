"""The grader's own interpreter on PATH: nbgrader creates a new gradebook by running the ``alembic``
command found on PATH, which fails when this environment's ``bin/`` is not there (``.venv/bin/jupyter
lab`` or ``.venv/bin/python -m grader`` without activating the venv)."""

from __future__ import annotations

import os
import sys


def with_interpreter_on_path(env: dict[str, str]) -> dict[str, str]:
    """A copy of ``env`` whose PATH starts with the directory of this Python (where ``alembic`` is)."""
    bindir = os.path.dirname(sys.executable)
    path = env.get("PATH", "")
    if bindir in path.split(os.pathsep):
        return dict(env)
    return {**env, "PATH": bindir + os.pathsep + path if path else bindir}


def put_interpreter_on_path() -> None:
    """Make this process (and the nbgrader commands it starts) find this environment's ``alembic``."""
    os.environ["PATH"] = with_interpreter_on_path(dict(os.environ))["PATH"]
