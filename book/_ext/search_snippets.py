"""Search results quote the page's text, not its navigation.

Sphinx's search page (``searchtools.js``, Sphinx 7.4) shows under each hit a snippet cut
from the text of the page's ``[role=main]`` element. In the book's theme that element
holds, besides the article, the header's buttons, a print-only copy of the title and
contents, the "on this page" contents and the "previous / next" links, so a snippet
read "10. Privacy as a bottleneck Contents..." or "previous 6. Mutual information
next 8. The variational ...". This extension adds to the search page only a short script
that removes those parts from the fetched page before Sphinx cuts its snippet.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

# what is navigation in a page of sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17
NAVIGATION = ", ".join(
    [
        "nav",
        ".bd-header-article",
        ".bd-sidebar-secondary",
        ".prev-next-area",
        ".prev-next-footer",
        ".bd-footer-article",
        ".bd-footer-content",
        ".headerlink",
        ".onlyprint",  # the theme's print-only title and contents (#jb-print-docs-body)
        ".d-print-none",  # the article's button bar
    ]
)

SCRIPT = f"""
document.addEventListener("DOMContentLoaded", () => {{
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const sphinxText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {{
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll({NAVIGATION!r}).forEach((el) => el.remove());
    return sphinxText(page.documentElement.outerHTML, anchor);
  }};
}});
"""


def add_script(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    if pagename == "search":
        # called here, the script is added to this page only
        app.add_js_file(None, body=SCRIPT)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", add_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
