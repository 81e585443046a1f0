"""Progress bars that suit both a notebook and a terminal."""

from __future__ import annotations

import sys


def progress_bar(iterable, desc: str = "", disable: bool = False, **kwargs):
    """tqdm's bar: written to stdout, because nbgrader scores a cell that writes to stderr as failed."""
    from tqdm import tqdm  # not tqdm.auto: without ipywidgets it warns on stderr

    return tqdm(iterable, desc=desc, disable=disable, file=sys.stdout, dynamic_ncols=True, **kwargs)
