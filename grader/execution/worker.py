"""One grading process of ``python -m grader autograde``: runs nbgrader for one submission at a time.

Started by ``grader.autograde`` (``python -m grader.execution.worker``) with ``--jobs`` copies; reads one JSON task per line on stdin
(``{"root": ..., "student": ...}``), grades it with nbgrader's own ``autograde`` and
``generate_feedback`` in that scratch course root (its own gradebook: no two processes ever write the
same database), writes ``result.json`` there and answers one JSON line on stdout. Everything else
this process prints goes to stderr. Its kernels are forked from a zygote of its own, started as the
process starts (``grader.execution.zygote``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path


def grade(root: Path, chapter: str, student: str, overrides: dict) -> dict:
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI

    from ..config import load_config
    from ..notebooks import nbgrader_meta
    from .judge import judge

    config = load_config(overrides, root)
    api = NbGraderAPI(config=config)
    result: dict = {
        "student": student,
        "ok": False,
        "error": "",
        "grades": {},
        "messages": {},
        "results": {},
        "grading": {},
        "timestamp": None,
        "feedback": False,
    }
    done = api.autograde(chapter, student, force=True, create=True)
    autograded = root / "autograded" / student / chapter / f"{chapter}.ipynb"
    if not done.get("success") or not autograded.exists():
        log = (done.get("error") or "") + "\n" + (done.get("log") or "")
        lines = [line for line in log.splitlines() if line.strip()]
        result["error"] = "\n".join(lines[-15:])
        return result
    nb = nbformat.read(autograded, as_version=4)
    result["grading"] = nb.metadata.get("aiecourse_grading", {})
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            verdict = judge(cell)
            result["results"][meta["grade_id"]] = verdict.result
            result["messages"][meta["grade_id"]] = verdict.message[:500]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", config.CourseDirectory.course_id) as gb:
        sub = gb.find_submission(chapter, student)
        result["timestamp"] = sub.timestamp.isoformat(" ") if sub.timestamp else None
        for snb in sub.notebooks:
            result["grades"][snb.name] = {
                "flagged": bool(snb.flagged),
                "late_submission_penalty": snb.late_submission_penalty,
                "grades": {g.name: {"auto_score": g.auto_score, "max_score": g.max_score} for g in snb.grades},
                "comments": {c.name: c.auto_comment for c in snb.comments},
            }
    result["ok"] = True
    fb = api.generate_feedback(chapter, student, force=True)
    result["feedback"] = bool(fb.get("success"))
    if not result["feedback"]:
        result["error"] = "feedback: " + "\n".join((fb.get("error") or fb.get("log") or "").splitlines()[-5:])
    return result


def _start_zygote(overrides: dict) -> None:
    """Start the kernels' zygote now, while the round prepares the assignment: its imports take seconds.
    Should this fail, the first kernel tries again (and, failing, starts fresh)."""
    try:
        from ..config import load_config
        from .execute import GuardedExecute

        guarded = GuardedExecute(config=load_config(overrides))
        if guarded.sandbox and guarded.fork_kernels:
            from . import zygote_client as zygote

            zygote.prestart(guarded.kernel_env())
    except Exception:  # noqa: BLE001
        traceback.print_exc()


def main() -> None:
    chapter, overrides = sys.argv[1], json.loads(sys.argv[2])
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nbgrader's prints must not reach the protocol
    sys.stdout = sys.stderr
    _start_zygote(overrides)
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        root = Path(task["root"])
        start = time.time()
        try:
            result = grade(root, chapter, task["student"], overrides)
        except BaseException as e:  # noqa: BLE001 - report, and stay alive for the next submission
            result = {
                "student": task["student"],
                "ok": False,
                "error": "".join(traceback.format_exception(type(e), e, e.__traceback__))[-3000:],
            }
        result["seconds"] = round(time.time() - start, 2)
        (root / "result.json").write_text(json.dumps(result, indent=1, default=str))
        protocol.write(json.dumps({"student": task["student"], "done": True}) + "\n")


if __name__ == "__main__":
    main()
