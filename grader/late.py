"""A late-penalty rule for nbgrader's ``AssignLatePenalties``, beside its built-in ``none`` and ``zero``.

    c.AssignLatePenalties.plugin_class = "grader.late.PercentPerDay"
    c.PercentPerDay.percent_per_day = 10   # each started day late costs 10% of the notebook's score

Plain ``nbgrader autograde``, the formgrader and ``python -m grader autograde`` all apply it the same
way: nbgrader passes the notebook's score and the seconds late past the student's due date (extension
included), and clamps the penalty to [0, score].
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDay(LateSubmissionPlugin):
    """Each started day late costs ``percent_per_day`` % of the score, up to all of it."""

    percent_per_day = Float(10.0, help="percent of the score lost per started day late").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / 86400)
        return score * min(1.0, days * self.percent_per_day / 100)
