"""Feedback a learner may see: each test's result and message, never a hidden test's code.

nbgrader's ``generate_feedback`` renders the autograded notebook, and the autograded notebook holds
the hidden tests (autograde restores them into every test cell). ``HideHiddenTests`` is added to
``GenerateFeedback.preprocessors`` in ``grader/nbgrader_config.py``: it cuts every hidden-test region
out of the cells and the frames of the test cell out of the tracebacks (IPython prints the lines
around the failing one, which may be hidden). ``summary_html`` is the table the autograder puts at
the top of each feedback page: status, score, each test's result and first failure message, and
what the grader noticed (a notebook that was renamed, cells put back, a kernel that died).
"""

from __future__ import annotations

import html
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .execution.judge import ANSI, judge


def strip_hidden(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> tuple[str, int]:
    """The source without its hidden-test regions (each replaced by one comment line), and how many there were."""
    out, hidden, count = [], False, 0
    for line in source.splitlines():
        if begin in line and not hidden:
            hidden, count = True, count + 1
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# (hidden tests: not shown)")
            continue
        if hidden:
            if end in line:
                hidden = False
            continue
        out.append(line)
    return "\n".join(out), count


def _is_cell_frame(chunk: str, execution_count) -> bool:
    plain = ANSI.sub("", chunk)
    if execution_count is None:
        return False
    return any(
        marker in plain
        for marker in (
            f"Cell In[{execution_count}]",
            f"Input In [{execution_count}]",
            f"<ipython-input-{execution_count}-",
        )
    )


def sanitize_traceback(traceback: list[str], execution_count) -> list[str]:
    """A traceback without the frames of the cell itself (their context lines could show hidden tests)."""
    kept = []
    for chunk in traceback:
        if _is_cell_frame(chunk, execution_count):
            if not kept or kept[-1] != "(in the test cell)":
                kept.append("(in the test cell)")
        else:
            kept.append(chunk)
    return kept


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: no hidden-test source in cells, no test-cell lines in tracebacks."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if self.begin_test_delimeter in cell.get("source", ""):
            cell.source, _ = strip_hidden(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = sanitize_traceback(list(out.get("traceback", [])), cell.get("execution_count"))
        return cell, resources


def cell_result(cell) -> tuple[str, str]:
    """(result, message) of a graded cell of an autograded notebook, as the learner should read it."""
    verdict = judge(cell)
    return verdict.result, verdict.message


def _e(text) -> str:
    return html.escape(str(text))


STYLE = """<style>
.aiecourse-summary{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:1.5em auto;
 padding:1em 1.5em;border:1px solid #ccd;border-radius:6px;background:#fbfbfe;color:#222}
.aiecourse-summary table{border-collapse:collapse;width:100%;margin:.8em 0}
.aiecourse-summary th,.aiecourse-summary td{border-bottom:1px solid #dde;padding:.35em .6em;text-align:left;vertical-align:top}
.aiecourse-summary .passed{color:#17692e;font-weight:600}.aiecourse-summary .bad{color:#a4161a;font-weight:600}
.aiecourse-summary .msg{font-family:ui-monospace,Menlo,monospace;font-size:.9em;white-space:pre-wrap}
</style>"""


def summary_html(
    student: str,
    chapter: str,
    status: str,
    reason: str,
    score: float,
    max_score: float,
    rows: list[dict],
    notes: list[str],
    flags: list[str],
    late: str = "",
) -> str:
    """The block at the top of a feedback page. ``rows``: dicts with test, result, points, max, message;
    ``late``: a sentence on the submission time against the due date."""
    parts = [
        STYLE,
        '<div class="aiecourse-summary">',
        f"<h2>{_e(chapter)}: feedback for {_e(student)}</h2>",
        f"<p><b>Score: {score:g} / {max_score:g}</b> &middot; status: <b>{_e(status)}</b></p>",
    ]
    if late:
        parts.append(f"<p>{_e(late)}</p>")
    if reason:
        parts.append(f"<p>{_e(reason[:1].upper() + reason[1:])}.</p>")
    if rows:
        parts.append("<table><tr><th>test</th><th>result</th><th>points</th><th>what went wrong</th></tr>")
        for r in rows:
            css = "passed" if r["result"] == "passed" else "bad"
            parts.append(
                f'<tr><td>{_e(r["test"])}</td><td class="{css}">{_e(r["result"])}</td>'
                f'<td>{r["points"]:g} / {r["max"]:g}</td><td class="msg">{_e(r["message"])}</td></tr>'
            )
        parts.append("</table>")
    if notes:
        parts.append("<p>The grader noticed:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    if flags:
        parts.append(
            "<p>Your notebook is flagged for your instructor to review, because of this code:</p><ul>"
            + "".join(f"<li>{_e(f)}</li>" for f in flags)
            + "</ul>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def page_with_summary(notebook_html: str | None, summary: str, title: str) -> str:
    """The nbgrader feedback page with the summary on top, or a page of the summary alone."""
    if notebook_html is None:
        return (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{_e(title)}</title></head>'
            f"<body>\n{summary}\n</body></html>\n"
        )
    match = re.search(r"<body[^>]*>", notebook_html)
    if match is None:
        return summary + notebook_html
    return notebook_html[: match.end()] + "\n" + summary + "\n" + notebook_html[match.end() :]
