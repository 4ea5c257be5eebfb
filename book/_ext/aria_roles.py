"""Three fixes to the written pages for screen readers (found by axe-core).

- **Reference lists.** Docutils writes a group of citations (each chapter's references,
  the bibliography) as ``<div role="list" class="citation-list">`` holding ``<div
  role="doc-biblioentry">`` items. ARIA 1.2 deprecates ``doc-biblioentry``, and a list
  whose children are not list items is invalid (aria-required-children, critical): a
  screen reader may not announce the list or its length. Each entry gets the role
  ``listitem``.
- **Folded code cells.** myst-nb folds a ``hide-input`` cell under ``<summary
  aria-label="Toggle hidden content">`` whose visible text is "Show code cell source":
  the name a screen reader announces is not the text a sighted reader sees and may say
  to voice control (label-content-name-mismatch, serious). The aria-label goes, so the
  visible text names the control.
- **Sliders.** An ipywidgets 8 slider's handle (noUiSlider's ``role="slider"``) has no
  accessible name: its description sits in a separate ``<label>``
  (aria-input-field-name, serious). A short script names each handle after the
  slider's description once the widget manager has drawn it.

The pages look the same.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

REPLACEMENTS = [
    ('role="doc-biblioentry"', 'role="listitem"'),
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
]


def fix_roles(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    body = context.get("body")
    if not isinstance(body, str):
        return
    for old, new in REPLACEMENTS:
        body = body.replace(old, new)
    context["body"] = body


SLIDER_NAMES = """
new MutationObserver(() => {
  const unnamed = ".widget-slider .noUi-handle:not([aria-label])";
  for (const h of document.querySelectorAll(unnamed)) {
    const label = h.closest(".widget-slider").querySelector(".widget-label");
    h.setAttribute("aria-label", (label && label.textContent.trim()) || "slider");
  }
}).observe(document.documentElement, {childList: true, subtree: true});
"""


def name_sliders(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    body = context.get("body")
    if isinstance(body, str) and "application/vnd.jupyter.widget-view+json" in body:
        app.add_js_file(None, body=SLIDER_NAMES)  # this page only


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", fix_roles)
    app.connect("html-page-context", name_sliders)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
