"""The one loader of nbgrader's configuration for ``python -m grader`` (no side effects on import).

The configuration nbgrader itself would use: the system and user ``nbgrader_config.py`` files
(where an instructor keeps private settings such as the hidden-test seed), then the course's
``grader/nbgrader_config.py``, then the caller's overrides and course root.
"""

from __future__ import annotations

from pathlib import Path

from .notebooks import REPO_ROOT

CONFIG = REPO_ROOT / "grader" / "nbgrader_config.py"


def load_config(overrides: dict | None = None, root: Path | None = None):
    """The merged configuration; a private ``hidden_seed`` set outside the repository wins over the course file."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in reversed(jupyter_config_path()):
        if (Path(folder) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    course = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    user_seed = config.get("GuardedExecute", {}).get("hidden_seed")
    config.merge(course)
    if user_seed is not None:
        config.GuardedExecute.hidden_seed = user_seed
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            config[section][key] = value
    if root is not None:
        config.CourseDirectory.root = str(root)
    return config
