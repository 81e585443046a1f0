"""Whether a graded cell passed, and what a learner reads about it: one rule for the whole grader.

``grader check`` (a learner's own run), the executor's record of a submission and the feedback
page all call ``judge``. The rule is nbgrader's (``nbgrader.utils.determine_grade``): a graded code
cell fails when it shows an error or writes to stderr. One addition: a graded cell that never ran
(a dead kernel) has no outputs, which nbgrader would count as a pass; here it has not passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbgrader.utils import is_grade

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Errors the grader itself puts into a graded cell, and the result a learner reads for each.
RESULT_NAMES = {
    "NotRun": "not run",
    "CellTimeoutError": "timed out",
    "KernelDied": "kernel died",
    "TamperError": "tampered with",
    "GraderCheckFailed": "not checked",
}


@dataclass(frozen=True)
class Verdict:
    result: str  # "passed", "failed", "not run", "timed out", "kernel died", "tampered with", "not checked"
    message: str  # the first failure, as the learner should read it; "" when passed

    @property
    def passed(self) -> bool:
        return self.result == "passed"


def is_graded(cell) -> bool:
    """A graded code cell (nbgrader's ``is_grade``)."""
    return cell.get("cell_type") == "code" and is_grade(cell)


def judge(cell) -> Verdict:
    """The verdict on one graded code cell from its outputs."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), ANSI.sub("", out.get("evalue", ""))
            result = RESULT_NAMES.get(ename, "failed")
            message = evalue if ename in RESULT_NAMES else f"{ename}: {evalue}".strip().rstrip(":")
            if ename == "CellTimeoutError":
                message = "the test ran past the time limit and was interrupted"
            return Verdict(result, message)
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = ANSI.sub("", "".join(out.get("text", ""))).strip()
            return Verdict("failed", f"wrote to stderr (a graded cell must not): {text[:300]}")
    if cell.get("execution_count") is None and cell.get("source", "").strip():
        return Verdict("not run", "this test did not run (the kernel died or stopped before it)")
    return Verdict("passed", "")
