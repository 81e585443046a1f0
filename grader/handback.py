"""``python -m grader return-feedback --chapter CHAPTER [--root DIR] [--out FILE.zip]``.

Feedback that cannot go back through nbgrader's exchange (a class graded from a folder or an LMS
archive: see ``grader/exchange.py``) in one zip, a folder per student holding their page:
``<student>/<chapter>.html``, ready to mail-merge or to hand out by any other means.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def return_feedback(root: Path | str, chapter: str, out: Path | str | None = None) -> tuple[Path, int]:
    """Zip every student's feedback page of ``chapter``; returns (the zip, how many pages)."""
    root = Path(root)
    pages = sorted((root / "feedback").glob(f"*/{chapter}/{chapter}.html"))
    if not pages:
        raise FileNotFoundError(
            f"no feedback for {chapter} under {root / 'feedback'}: grade the class first (python -m grader autograde)"
        )
    out = Path(out) if out else root / "grades" / f"{chapter}-feedback.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for page in pages:
            zf.write(page, f"{page.parent.parent.name}/{chapter}.html")
    tmp.replace(out)
    return out, len(pages)
