"""nbgrader's ``release_feedback``, for a course graded from hub submissions, folders and LMS archives.

nbgrader hands feedback back through its exchange: it names each page after the secret the student's
``nbgrader submit`` wrote (``submission_secret.txt``), and the student's ``fetch_feedback`` finds it by
the same secret, kept in their own submission. A notebook that came from a folder or an LMS archive
never went through the exchange: there is no secret, and no student could fetch a page released for
it. nbgrader's own command then stops the whole release with ``FileNotFoundError: timestamp.txt``.
``ReleaseFeedback`` (set as ``c.ExchangeFactory.release_feedback`` in ``grader/nbgrader_config.py``)
releases every page that can be fetched and names each one that cannot, saying how to hand it back.
"""

from __future__ import annotations

import glob
import os

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback

NOT_THROUGH_THE_EXCHANGE = (
    "feedback for {student} ({assignment}) is not released through the exchange: that submission did not "
    "come through it (graded from a folder or an LMS archive: no {missing} beside {page}), so no student "
    "could fetch it. Hand it back yourself: the page is {page} (e-mail it, or attach it in your LMS); "
    "`python -m grader return-feedback --chapter {assignment}` packs every such page in one zip."
)


class ReleaseFeedback(ExchangeReleaseFeedback):
    """nbgrader's release_feedback that skips, by name and with the reason, the pages no student can fetch."""

    def copy_files(self) -> None:
        skipped = []
        for page in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            folder = os.path.dirname(page)
            missing = [
                n for n in ("timestamp.txt", "submission_secret.txt") if not os.path.isfile(os.path.join(folder, n))
            ]
            if missing:
                student = os.path.basename(os.path.dirname(folder))
                skipped.append(student)
                self.log.warning(
                    NOT_THROUGH_THE_EXCHANGE.format(
                        student=student,
                        assignment=self.coursedir.assignment_id,
                        missing=" and ".join(missing),
                        page=page,
                    )
                )
        if skipped:
            excluded = {s for s in (self.coursedir.student_id_exclude or "").split(",") if s}
            self.coursedir.student_id_exclude = ",".join(sorted(excluded | set(skipped)))
        super().copy_files()
