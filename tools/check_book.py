"""Sanity checks on the built book (run by `make book` after the build).

A chapter whose figures silently vanished (say, a non-interactive matplotlib backend
leaking into the kernels) still builds without warnings; this catches it. Every chapter
page must show at least one figure and no error output. The book in a browser is
tests/test_browser.py (make test-browser).

    python tools/check_book.py [_build/html]
"""

from __future__ import annotations

import pathlib
import re
import sys


def main(argv: list[str]) -> int:
    html = pathlib.Path(argv[0] if argv else "_build/html")
    pages = sorted((html / "notebooks").glob("*.html"))
    if not pages:
        print(
            f"no chapter pages under {html / 'notebooks'}; build the book (make book)"
        )
        return 1
    problems = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if len(re.findall(r"<img [^>]*src=\"[^\"]*_images/", text)) == 0:
            problems.append(f"{page.name}: no figure")
        if (
            "Traceback (most recent call last)" in text
            or 'class="output traceback' in text
        ):
            problems.append(f"{page.name}: shows a traceback")
    for p in problems:
        print("book check:", p)
    print(f"book check: {len(pages)} chapter pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
