"""Alt text for the book's figures, taken from their captions.

A chapter's figure is a notebook cell whose output (a PNG) myst-nb wraps in a figure
with the caption given in the cell's ``mystnb.figure`` metadata. The image itself gets
no ``alt``, and Sphinx's HTML writer then writes the image's file path
(``../_images/abc123.png``) as its alt text: a screen reader reads a hash. This
extension gives every image inside a figure whose alt is missing or a file path the
caption's plain text as its alt: formulas are spelled out from their TeX (the book's
macros expanded, Greek letters as letters), references as their link text. An alt text
an author wrote (``mystnb: image: alt:``, ``:alt:`` of a figure directive) is kept.

An image outside any figure keeps what it has; tests/test_browser.py fails on any image
whose alt is still a path.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

# alt text that is no description: a file name or path
_PATH = re.compile(r"^[\w./\\:~-]*\.(?:png|jpe?g|gif|svg|webp)$", re.IGNORECASE)

_GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa "
    "lambda mu nu xi pi rho varrho sigma tau upsilon phi varphi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
_GREEK_CHARS = "αβγδεεζηθθικλμνξπρρστυφφχψωΓΔΘΛΞΠΣΥΦΨΩ"
_SYMBOLS = {
    **dict(zip(_GREEK, _GREEK_CHARS, strict=True)),
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "sim": "~",
    "times": "×",
    "cdot": "·",
    "in": "∈",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "mid": "|",
    "ldots": "…",
    "dots": "…",
    "cdots": "…",
    "pm": "±",
    "star": "*",
    "ell": "ℓ",
    "log": "log",
    "exp": "exp",
    "min": "min",
    "max": "max",
    "sum": "sum",
    "Vert": "‖",
    "lVert": "‖",
    "rVert": "‖",
    "|": "‖",
    "lvert": "|",
    "rvert": "|",
}
_SPACES = {",", ";", ":", " ", "quad", "qquad"}


def tex_to_text(tex: str, macros: dict[str, str] | None = None) -> str:
    """A formula's TeX as text a screen reader can read: ``\\beta = 3`` -> ``β = 3``.

    Parameters
    ----------
    tex : str
        The formula's TeX source, without its ``$`` delimiters.
    macros : dict of str to str, optional
        The book's macros without arguments (``mathjax3_config.tex.macros``), expanded
        first: ``{"KL": "\\\\mathrm{KL}"}``.

    Returns
    -------
    str
        The formula with commands turned into symbols or words and TeX grouping removed.
    """
    for _ in range(3):  # macros may use macros
        for name, body in (macros or {}).items():
            if isinstance(body, str):
                tex = re.sub(rf"\\{name}(?![A-Za-z])", lambda _m, b=body: b, tex)

    def fraction(match: re.Match) -> str:
        top, bottom = (
            g if re.fullmatch(r"\\?\w+", g) else f"({g})" for g in match.groups()
        )
        return f"{top}/{bottom}"

    tex = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", fraction, tex)
    tex = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", tex)

    def command(match: re.Match) -> str:
        name = match.group(1)
        if name in _SPACES:
            return " "
        # \mathrm, \operatorname, \hat ...: the command goes, its argument stays
        return _SYMBOLS.get(name, "")

    tex = re.sub(r"\\([A-Za-z]+|.)", command, tex)
    tex = tex.replace("{", "").replace("}", "").replace("_", "").replace("&", "")
    return re.sub(r"\s+", " ", tex).strip()


def plain_text(node: nodes.Node, macros: dict[str, str] | None = None) -> str:
    """A caption's text, its formulas spelled out by :func:`tex_to_text`."""
    parts: list[str] = []

    def walk(n: nodes.Node) -> None:
        if isinstance(n, nodes.math):
            parts.append(tex_to_text(n.astext(), macros))
        elif isinstance(n, nodes.Text):
            parts.append(n.astext())
        else:
            for child in n.children:
                walk(child)

    walk(node)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _needs_alt(image: nodes.image) -> bool:
    alt = image.get("alt", "").strip()
    return not alt or alt == image.get("uri") or bool(_PATH.match(alt))


def set_alt_texts(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each figure image without a real alt text its caption's plain text."""
    macros = (getattr(app.config, "mathjax3_config", None) or {}).get("tex", {})
    macros = macros.get("macros", {})
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = plain_text(captions[0], macros)
        images = [im for im in figure.findall(nodes.image) if _needs_alt(im)]
        for i, image in enumerate(images):
            panel = f" (picture {i + 1} of {len(images)})" if len(images) > 1 else ""
            image["alt"] = text + panel


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", set_alt_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
