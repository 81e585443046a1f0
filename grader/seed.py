"""Which hidden-test seed a grading round uses, told without telling it.

The seed is the instructor's secret (``AIECOURSE_HIDDEN_SEED`` or ``c.GuardedExecute.hidden_seed``):
with the public default anyone holding ``solutions/`` knows the hidden inputs. A round prints and
records a short fingerprint of the seed, so that two rounds can be seen to use the same one. The
fingerprint is a slow, salted key derivation (PBKDF2-SHA256, 200,000 iterations), not a plain hash:
trying every 9-digit seed against it would take years of one core, where a plain hash falls in minutes.
"""

from __future__ import annotations

import hashlib
import os

ITERATIONS = 200_000
DEFAULT_SEED_WARNING = (
    "WARNING: the hidden tests use the PUBLIC default seed ({default}): anyone with solutions/ knows their "
    "inputs. Set your own: export AIECOURSE_HIDDEN_SEED=<a number only you know> (9 digits or more), or "
    "c.GuardedExecute.hidden_seed in ~/.jupyter/nbgrader_config.py; start the formgrader from that shell too."
)


def configured_seed(configured: int | None) -> int | None:
    """The instructor's seed: ``c.GuardedExecute.hidden_seed``, else ``AIECOURSE_HIDDEN_SEED``, else None."""
    if configured is not None:
        return int(configured)
    value = os.environ.get("AIECOURSE_HIDDEN_SEED", "").strip()
    return int(value) if value else None


def seed_in_use(configured: int | None) -> int:
    """The seed hidden tests will get: the instructor's, else the public default."""
    from aiecourse.checks import DEFAULT_HIDDEN_SEED  # torch: imported only when a round asks

    seed = configured_seed(configured)
    return DEFAULT_HIDDEN_SEED if seed is None else seed


def fingerprint(seed: int, course_id: str = "aiecourse") -> str:
    """Eight hex digits that identify ``seed`` for this course without revealing it."""
    digest = hashlib.pbkdf2_hmac("sha256", str(int(seed)).encode(), f"aiecourse-seed:{course_id}".encode(), ITERATIONS)
    return digest.hex()[:8]


def warning(seed: int) -> str | None:
    """The warning to print when ``seed`` is the public default, else None."""
    from aiecourse.checks import DEFAULT_HIDDEN_SEED

    return DEFAULT_SEED_WARNING.format(default=DEFAULT_HIDDEN_SEED) if seed == DEFAULT_HIDDEN_SEED else None
