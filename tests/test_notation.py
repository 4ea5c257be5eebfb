"""The book speaks one notation and cites what it uses.

The rules are in CONTRIBUTING.md and book/notation.md. Each retired spelling below has a
reason in the symbol table; a chapter that brings one back fails here with the rule it
breaks. Citations: every {cite} key exists, the bibliography page lists cited works
only, and every chapter ends with its own references.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
MACROS = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
BIB = (ROOT / "book" / "references.bib").read_text()
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", BIB, re.M))


def markdown_of(path: pathlib.Path) -> str:
    """The prose of a page or of a notebook's markdown cells."""
    if path.suffix == ".md":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )


def code_of(path: pathlib.Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def math_of(text: str) -> str:
    """Everything between $...$ or $$...$$.

    (And the amsmath environments MyST reads as math.)
    """
    spans = re.findall(r"\$\$(.+?)\$\$", text, re.S)
    rest = re.sub(r"\$\$(.+?)\$\$", " ", text, flags=re.S)
    spans += re.findall(r"\$([^$\n]+?)\$", rest)
    return "\n".join(spans)


# (pattern in math, what the book writes instead). Chapter 4's diffusion schedule is the
# one local rebinding (beta_t, alpha_t with an index t); the HMM messages are \fwd and
# \bwd everywhere.
RETIRED = [
    (
        r"\\arg\s*\\?(max|min)\b",
        r"\argmax / \argmin (the macros), never \arg\max spelled by hand",
    ),
    (
        r"\\mathcal\{D\}(?!_)",
        r"roman \Dist for the distortion (calligraphic D is not used)",
    ),
    (r"\\mathcal\{R\}", r"roman \Rate for the rate (calligraphic R is not used)"),
    (
        r"\\mathcal\{L\}",
        r"\ELBO for the ELBO, \mathcal{J} for an objective to minimise",
    ),
    (
        r"\\sigma\s*\\?(big|Big)?\(\s*[^)]*?(f_|w\^|\\theta)",
        r"\sigmoid(.) for the logistic sigmoid; sigma is a standard deviation",
    ),
    (
        r"\\(alpha|beta)_t\s*\(\s*[ij]\s*\)",
        r"\fwd_t(i) and \bwd_t(i) for the HMM messages",
    ),
    (
        r"\\xi_t\s*\(",
        r"\gamma_t(i, j) for the HMM pairwise marginal; xi is Gaussian noise",
    ),
    (
        r"\br_\{?n\s*k\}?",
        r"\gamma_{nk} for responsibilities; r(z) is a variational marginal",
    ),
    (
        r"\\(var)?epsilon\s*\\sim",
        r"xi ~ N(0, I) for Gaussian noise; epsilon is the attack budget",
    ),
    (
        r"\\(var)?epsilon_\\theta",
        r"\xi_\theta for the denoiser (Ho et al. write epsilon)",
    ),
    (r"\\eta\s*\\sim", r"xi for Gaussian noise; eta is a step size"),
    (r"\\lVert\s*\\eta", r"delta for a perturbation; eta is a step size"),
    (r"\bq_\\theta\s*\(\s*y", r"p_theta(y | z) for a decoder; q is an encoder"),
    (r"\bT\s*=\s*f\s*\(\s*X", r"Z = f(X) for a representation; T is a chain's length"),
    (
        r"\\rho\s*=\s*\\sigma",
        r"R = sigma Phi^{-1}(p_A) for the certified radius; rho is a correlation",
    ),
    (r"\bZ_y\b|\bZ_i\b|Z\(x'?\)_", r"f_c(x) for logits (Carlini and Wagner write Z)"),
    (
        r"\\ell\s*\(\s*(\\theta|\\hat|z\s*\))",
        r"log p for a log-likelihood; ell is the loss ell(f(x), y)",
    ),
    (
        r"F_\\kappa|\\kappa\s*\\ge",
        r"Delta_0 for the C&W margin; kappa is a vMF concentration",
    ),
]


def chapter_texts() -> list[tuple[str, str]]:
    """Every page's prose but the notation page's, without quoting paragraphs.

    Left out are the paragraphs that quote how a paper writes a symbol ("Ho et al. write
    $\\epsilon_\\theta$"): those are allowed to.
    """
    out = []
    for p in [*(p for p in PAGES if p.name != "notation.md"), *NOTEBOOKS]:
        paragraphs = re.split(r"\n\s*\n", markdown_of(p))
        quoting = r"(et al\.|papers?|Rabiner|Bishop|Tishby)[^.]{0,120}?\bwrites?\b"
        kept = [t for t in paragraphs if not re.search(quoting, t)]
        out.append((p.name, "\n\n".join(kept)))
    return out


@pytest.mark.parametrize("pattern,rule", RETIRED, ids=[r for _, r in RETIRED])
def test_retired_spellings_are_gone(pattern, rule):
    bad = []
    for name, text in chapter_texts():
        math = math_of(text)
        if name.startswith("04_") and "alpha|beta" in pattern:
            continue
        for m in re.finditer(pattern, math):
            bad.append(f"{name}: {m.group(0)!r}")
    assert not bad, f"use {rule}:\n" + "\n".join(bad)


def test_no_hand_spelled_argmax_in_code_comments_either():
    for path in NOTEBOOKS:
        assert "\\arg\\max" not in path.read_text(), f"{path.name}: use \\argmax"


def test_every_macro_is_used():
    texts = "\n".join(markdown_of(p) for p in [*PAGES, *NOTEBOOKS])
    unused = [m for m in MACROS if not re.search(rf"\\{m}(?![A-Za-z])", texts)]
    assert not unused, f"macros defined in _config.yml but never used: {unused}"


def test_notation_page_uses_only_defined_or_standard_macros():
    # the book's own macros are the capitalised or multi-letter names in _config.yml;
    # any other \Name with a capital first letter on the notation page must be defined
    # there
    text = (ROOT / "book" / "notation.md").read_text()
    standard = {
        "Big",
        "Phi",
        "Pi",
        "Pr",
        "Vert",
        "Sigma",
        "Delta",
        "Gamma",
        "Lambda",
        "Omega",
    }
    for name in set(re.findall(r"\\([A-Z][A-Za-z]*)", math_of(text))):
        assert name in MACROS or name in standard, (
            f"notation.md uses \\{name}, not defined in _config.yml"
        )


def test_no_double_bar_escapes_in_tables():
    # MyST reads `\|` inside a table row as an escaped cell separator: KL(p || q)
    # renders as KL(p | q)
    for path in PAGES:
        for line in path.read_text().splitlines():
            if line.startswith("|"):
                assert "\\|" not in line, (
                    f"{path.name}: write \\Vert, not \\|, inside a table: {line}"
                )


def test_every_cited_key_exists():
    cited = set()
    for path in [*PAGES, *NOTEBOOKS]:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", markdown_of(path)):
            cited.update(k.strip() for k in group.split(","))
    missing = sorted(cited - BIB_KEYS)
    assert not missing, f"cited but not in book/references.bib: {missing}"


def test_bibliography_page_lists_cited_works_only():
    text = (ROOT / "book" / "bibliography.md").read_text()
    assert re.search(r"```\{bibliography\}\s*\n:filter: cited\s*\n```", text), (
        "the bibliography lists cited works only"
    )
    assert ":all:" not in text
    assert CONFIG["sphinx"]["config"]["bibtex_reference_style"] == "author_year"
    assert CONFIG["sphinx"]["config"]["bibtex_default_style"] == "author_year"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_chapter_ends_with_its_references(path):
    cells = json.loads(path.read_text())["cells"]
    last = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown" and last.startswith("## References"), (
        "the last cell is '## References'"
    )
    assert re.search(
        r"```\{bibliography\}\s*\n:filter: docname in docnames\s*\n```", last
    )


# --- retired symbols in reader text, and numbers quoted from another chapter ----------
#
# Reader text here is a chapter's markdown, its figure captions and the math inside the
# strings of its code (axis labels, legends). A sentence that says how a paper writes a
# symbol may quote the paper's spelling.

QUOTING = re.compile(
    r"(et al\.|Carlini and Wagner|papers?\b|paper's|Rabiner|Bishop|Tishby|authors)"
    r"[^.]{0,160}?\b(writes?|calls?|names?)\b"
)


def reader_text(path: pathlib.Path) -> str:
    """Markdown, figure captions and the code's strings with math in them."""
    if path.suffix == ".md":
        return path.read_text()
    parts = []
    for c in json.loads(path.read_text())["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            parts.append(src)
            continue
        figure = c.get("metadata", {}).get("mystnb", {}).get("figure", {}) or {}
        parts.append(figure.get("caption", ""))
        # math inside the code's string literals: labels, titles, legends
        parts += re.findall(r"\$[^$\n]+\$", src)
    return "\n\n".join(parts)


def math_spans(text: str):
    """(start, end) of every $...$ and $$...$$ span of a text."""
    for m in re.finditer(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", text, re.S):
        yield m.start(), m.end()


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or paragraph) that holds text[start:end]."""
    stops = [m.end() for m in re.finditer(r"\.\s+(?=[A-Z(])|\n\s*\n", text[:start])]
    head = stops[-1] if stops else 0
    tail = re.search(r"\.\s+(?=[A-Z(])|\n\s*\n", text[end:])
    return text[head : end + tail.start() if tail else len(text)]


# (pattern in math, chapters the rule applies to (None: every page), what to write)
RETIRED_IN_CHAPTERS = [
    (
        r"(?<![\\\w])u(?![\w'])",
        {"07"},
        r"chi(x) for chapter 7's zero-mean test function (u is retired there)",
    ),
    (
        r"(?<![\\\w])u\s*\(\s*[Xx]\s*\)",
        None,
        r"chi(x) for a zero-mean function of the input",
    ),
    (
        r"\\kappa",
        {f"{n:02d}" for n in range(1, 21)} - {"09"},
        r"Delta_0 for the C&W margin; kappa is chapter 9's vMF concentration",
    ),
    (
        r"(?<![\\\w{])F(?![\w])",
        {f"{n:02d}" for n in range(1, 13)},
        r"another letter: italic F is Part III's Carlini-Wagner objective only "
        r"(not a count of symbols, not chapter 7's functional)",
    ),
    (
        r"(?<![\\\w])h\s*\((?!\s*(x|\\tilde\s*x))",
        None,
        r"H_b(omega) for the binary entropy; h(x) is a classifier's prediction",
    ),
]


@pytest.mark.parametrize(
    "pattern,chapters,rule",
    RETIRED_IN_CHAPTERS,
    ids=[r for _, _, r in RETIRED_IN_CHAPTERS],
)
def test_retired_symbols_are_gone_from_equations_and_solutions(pattern, chapters, rule):
    bad = []
    for path in [*(p for p in PAGES if p.name != "notation.md"), *NOTEBOOKS]:
        if chapters is not None and path.name[:2] not in chapters:
            continue
        text = reader_text(path)
        for start, end in math_spans(text):
            for m in re.finditer(pattern, text[start:end]):
                if QUOTING.search(sentence_around(text, start, end)):
                    continue
                bad.append(f"{path.name}: {text[start:end].strip()[:80]!r}")
    assert not bad, f"use {rule}:\n" + "\n".join(bad)


def test_binary_entropy_is_not_h_on_the_claims_page():
    # the claims page writes in plain text, not math
    text = (ROOT / "book" / "claims.md").read_text()
    bad = re.findall(r".{0,40}(?<![\w\\])h\((?!x).{0,20}", text)
    assert not bad, f"the binary entropy is H_b(.); h(x) is a prediction: {bad}"


CHAPTER_MENTION = re.compile(
    r"\b[Cc]hapters?\s+(\d+)|\b(\d\d)_[a-z0-9_]+\.ipynb|\bch(?:apter)?\s*(\d\d)\b"
)
# a typed number: a decimal or a percentage (0.45, .5, 60%, 12.5 %)
NUMBER = re.compile(r"(?<![\w.])(\d*\.\d+|\d+(\.\d+)?\s?%)(?![\w.])")


def _other_chapters(text: str, own: int) -> set[int]:
    found = set()
    for m in CHAPTER_MENTION.finditer(text):
        n = int(next(g for g in m.groups() if g))
        if n != own:
            found.add(n)
    return found


def _typed_numbers(text: str) -> list[str]:
    """Numbers in prose: outside math, inline code, roles and links' targets."""
    text = re.sub(r"\$\$.+?\$\$|\$[^$\n]+?\$", " ", text, flags=re.S)
    text = re.sub(r"\{[a-z:]+\}`[^`]*`|`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return [m.group(0) for m in NUMBER.finditer(text)]


def _print_strings(code: str) -> list[str]:
    """The literal text of every print() call of a notebook's code."""
    out = []
    for cell in code.split("\n\n# %%\n"):
        cell = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.splitlines()
        )
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                parts = [
                    c.value
                    for arg in node.args
                    for c in ast.walk(arg)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                ]
                out.append("".join(parts))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_numbers_from_other_chapters_are_pasted_not_typed(path):
    """A value another chapter measured comes from that chapter's run.

    In prose it is ``{glue:text}`NN_other.ipynb::key:.3f``; a print() does not
    repeat it. A sentence that names another chapter carries no typed decimal or
    percentage outside math and code.
    """
    own = int(path.name[:2])
    cells = json.loads(path.read_text())["cells"]
    markdown = "\n\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )
    code = "\n\n# %%\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "code"
    )
    sentences = re.split(r"(?<=[.:;!?])\s+(?=[A-Z\[(])|\n\s*\n", markdown)
    bad = []
    for sentence in [*sentences, *_print_strings(code)]:
        others = _other_chapters(sentence, own)
        numbers = _typed_numbers(sentence)
        if others and numbers:
            where = ", ".join(str(n) for n in sorted(others))
            bad.append(f"chapter {where}: {numbers} in {sentence.strip()[:120]!r}")
    assert not bad, (
        "a number quoted from another chapter is pasted with "
        "{glue:text}`NN_other.ipynb::key:fmt`, not typed:\n" + "\n".join(bad)
    )
