"""Number equations, figures and exercises per chapter: (4.2), Exercise 4.1.

Sphinx numbers them across the whole book unless the table of contents is numbered, and
a numbered toc would number chapters by position. The book's chapters keep the numbers
of its plan (a chapter still to come leaves a gap), which their file names carry:
``notebooks/04_diffusion_models`` is chapter 4. After Sphinx assigns its book-wide
numbers, this extension renumbers each page's items from 1, prefixed with the chapter
number where the page is a chapter. References ({eq}, {ref}, {numref}) read the same
table, so they follow.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

_CHAPTER = re.compile(r"(?:^|/)(\d\d)_[^/]+$")


def renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Renumber ``env.toc_fignumbers`` page by page; return the pages to rewrite."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        match = _CHAPTER.search(docname)
        prefix = (int(match.group(1)),) if match else ()
        for figtype, numbers in by_type.items():
            ordered = sorted(numbers, key=lambda node_id: numbers[node_id])
            new = {node_id: prefix + (i + 1,) for i, node_id in enumerate(ordered)}
            if new != numbers:
                by_type[figtype] = new
                changed.append(docname)
    return sorted(set(changed))


def setup(app: Sphinx) -> dict[str, Any]:
    # after Sphinx's own toctree collector (priority 500) has assigned book-wide numbers
    app.connect("env-get-updated", renumber, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
