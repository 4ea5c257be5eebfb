"""Checks on the book as one PDF: `make pdf` builds _build/latex/statlearn.pdf.

The PDF is read back with poppler's pdftotext and pdfimages, and compared with the HTML
book that `make book` builds into _build/html: the same chapters in the same order, the
same figures, equations and exercises with the same numbers (LaTeX numbers them itself;
book/_ext/pdf_book.py sets each chapter's counter from its file name, as
book/_ext/chapter_numbers.py numbers the web pages), every reference and citation
resolved, and no line of code or table running past the text column.

    make book pdf && make test-pdf
    STATLEARN_BOOK_PDF=path/to/statlearn.pdf STATLEARN_BOOK_HTML=path/to/html \
        pytest tests/test_pdf.py
"""

from __future__ import annotations

import html as html_lib
import json
import os
import pathlib
import re
import shutil
import subprocess
import unicodedata

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
PDF = pathlib.Path(
    os.environ.get("STATLEARN_BOOK_PDF", ROOT / "_build/latex/statlearn.pdf")
)
SITE = pathlib.Path(os.environ.get("STATLEARN_BOOK_HTML", ROOT / "_build" / "html"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHAPTER = re.compile(r"(?:^|/)(\d\d)_[^/]+$")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pdf() -> pathlib.Path:
    if not PDF.exists():
        _missing(f"no PDF at {PDF}: run make pdf")
    for tool in ("pdftotext", "pdfinfo", "pdfimages"):
        if shutil.which(tool) is None:
            _missing(f"{tool} not found: install poppler-utils")
    return PDF


@pytest.fixture(scope="module")
def site() -> pathlib.Path:
    if not (SITE / "search.html").exists():
        _missing(f"no built book at {SITE} to compare the PDF with: run make book")
    return SITE


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _norm(text: str) -> str:
    """NFKC (ligatures), one kind of hyphen and quote, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2010", "-").replace("\u2011", "-").replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of each page (pdftotext -layout)."""
    return _run("pdftotext", "-layout", str(pdf), "-").split("\f")


@pytest.fixture(scope="module")
def aux(pdf) -> dict[str, str]:
    """LaTeX's record of what it numbered: label -> number as printed."""
    path = pdf.with_suffix(".aux")
    if not path.exists():
        _missing(f"no {path.name} beside the PDF (LaTeX writes it)")
    labels = {}
    for match in re.finditer(
        r"\\newlabel\{(.+?)\}\{\{([^{}]*)\}", path.read_text(errors="replace")
    ):
        labels[match.group(1)] = match.group(2)
    return labels


def _toc_docs() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = []
    for part in toc["parts"]:
        docs += [chapter["file"] for chapter in part["chapters"]]
    return docs


def _title(doc: str) -> str:
    """A page's title as its source writes it (first level-1 heading)."""
    nb = ROOT / f"{doc}.ipynb"
    if nb.exists():
        cells = json.loads(nb.read_text())["cells"]
        text = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    else:
        text = (ROOT / f"{doc}.md").read_text()
    match = re.search(r"^# (.+)$", text, re.M)
    assert match, f"{doc} has no title"
    return re.sub(r"[`*]", "", match.group(1)).strip()


def test_every_chapter_in_order(pages):
    """Each toc page's title, in toc order, in the contents and in the text after it."""
    text = _norm("\f".join(pages)).lower()
    # the contents end where the introduction (their first line) begins
    contents = text.find("contents")
    contents_end = text.find("introduction", text.find("introduction", contents) + 1)
    assert contents >= 0 and contents_end > contents, "no contents, or no introduction"
    position = contents_end
    for doc in _toc_docs():
        title = _title(doc)
        number = CHAPTER.search(doc)
        if number:
            n = int(number.group(1))
            stripped = re.sub(rf"^{n}\.\s+", "", title)
            assert stripped != title, f"{doc}: title {title!r} lacks its number {n}"
            # the contents line: "4 Diffusion models .... 57"
            assert re.search(
                rf"\b{n} {re.escape(_norm(stripped).lower())}\b", text[:contents_end]
            ), f"chapter {n} ({stripped!r}) missing from the contents"
            title = stripped
        found = text.find(_norm(title).lower(), position)
        assert found > 0, f"{doc}: title {title!r} not found after position {position}"
        position = found


def test_chapter_numbers_printed(pages):
    """Each chapter opens as "Chapter N" (LaTeX's counter set from the file name)."""
    text = _norm("\f".join(pages))
    for doc in _toc_docs():
        number = CHAPTER.search(doc)
        if number:
            n = int(number.group(1))
            assert re.search(rf"Chapter {n}\b", text, re.I), f"no 'Chapter {n}' heading"


def test_no_unresolved_references(pdf, pages):
    text = "\f".join(pages)
    assert "??" not in text, "an unresolved reference (??) in the PDF"
    log = pdf.with_suffix(".log")
    if log.exists():
        undefined = re.findall(
            r"LaTeX Warning: (?:Reference|Citation|Hyper reference) .*? undefined",
            log.read_text(errors="replace"),
        )
        assert not undefined, undefined[:5]


def test_no_missing_citation(pages):
    """Every cited key became an author-year label, never a bare key or a '[?]'."""
    text = _norm("\f".join(pages))
    bib = (ROOT / "book/references.bib").read_text()
    keys = re.findall(r"@\w+\{([^,\s]+),", bib)
    assert keys
    bare = [k for k in keys if f"[{k}]" in text or f"{{{k}}}" in text]
    assert not bare, f"citations printed as bare keys: {bare[:5]}"
    assert "[?]" not in text
    assert re.search(r"\[Dempster et al\., 1977\]", text), "author-year citations"


def test_no_widget_or_html_output(pages):
    text = "\f".join(pages)
    for leak in (
        "application/vnd.jupyter",
        "model_id",
        "VBox(",
        "HBox(",
        "FramesBox(",
        "<div",
        "</div>",
        "<img alt=",
        "<img src=",
        "<script",
    ):
        assert leak not in text, f"{leak!r} printed in the PDF"


def _html_numbers(site: pathlib.Path, doc: str) -> tuple[dict, dict]:
    """(equation label -> number, figure id -> number) on one HTML page."""
    page = (site / f"{doc}.html").read_text()
    equations = {
        m.group(2): m.group(1)
        for m in re.finditer(
            r'class="eqno">\(([\d.]+)\)<a class="headerlink" href="#equation-([^"]+)"',
            page,
        )
    }
    figures = {}
    for m in re.finditer(r"<figure\b[^>]*>(.*?)</figure>", page, re.S):
        ident = re.search(r'\bid="([^"]+)"', m.group(0))
        number = re.search(r'caption-number">Figure ([\d.]+)', m.group(1))
        if ident and number:
            figures[html_lib.unescape(ident.group(1))] = number.group(1)
    return equations, figures


def test_equation_and_figure_numbers_match_the_web(site, aux):
    """Every labelled equation and figure has the same number in the PDF as online."""
    n_eq = n_fig = 0
    for doc in _toc_docs():
        equations, figures = _html_numbers(site, doc)
        for label, number in equations.items():
            key = f"equation:{doc}:{label}"
            assert key in aux, f"equation {label} ({doc}) not in the PDF"
            assert aux[key] == number, (
                f"{label}: ({aux[key]}) in the PDF, ({number}) online"
            )
            n_eq += 1
        for ident, number in figures.items():
            key = f"{doc}:{ident}"
            assert key in aux, f"figure {ident} ({doc}) not in the PDF"
            assert aux[key] == number, (
                f"{ident}: {aux[key]} in the PDF, {number} online"
            )
            n_fig += 1
    assert n_eq > 50 and n_fig > 50, (n_eq, n_fig)


def test_equation_numbers_printed(site, pages):
    """The numbers are on the pages: "(4.2)" for each numbered equation of chapter 4."""
    text = "\f".join(pages)
    for doc in _toc_docs():
        equations, _ = _html_numbers(site, doc)
        missing = [n for n in equations.values() if f"({n})" not in text]
        assert not missing, f"{doc}: equation numbers missing from the PDF: {missing}"


def test_as_many_figures_as_the_web(site, pages, pdf):
    """Each numbered figure of the HTML book is a numbered, captioned figure in the PDF,
    and has a picture: the PDF embeds at least one image per figure."""
    web = []
    for doc in _toc_docs():
        web += list(_html_numbers(site, doc)[1].values())
    text = _norm("\f".join(pages))
    printed = re.findall(r"Figure (\d+\.\d+):", text)
    assert sorted(set(printed)) == sorted(web), (
        f"{len(set(printed))} figure captions in the PDF, {len(web)} figures online"
    )
    images = _run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    assert len(images) >= len(web), f"{len(images)} images for {len(web)} figures"


def test_nothing_runs_past_the_column(pdf):
    """No word (of code, an output or a table) reaches into the right margin.

    pdftotext -bbox gives every word's box; the text column ends 2 cm from the page's
    right edge (sphinxsetup hmargin in _config.yml). A code line that LaTeX could not
    wrap runs past it, or off the page.
    """
    out = _run("pdftotext", "-bbox", str(pdf), "-")
    limit_problems = []
    for page_no, page in enumerate(re.findall(r"<page (.*?)</page>", out, re.S), 1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        right = width - 2 / 2.54 * 72 + 3  # 2 cm margin, 3 pt tolerance
        words = re.finditer(
            r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>(.*?)</word>', page
        )
        for m in words:
            if float(m.group(1)) > right:
                limit_problems.append((page_no, m.group(2), float(m.group(1))))
    assert not limit_problems, f"words past the column: {limit_problems[:10]}"


def test_macros_from_the_web_config(pdf):
    """The LaTeX preamble defines every MathJax macro of _config.yml, identically."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    tex = pdf.with_suffix(".tex")
    if not tex.exists():
        _missing(f"no {tex.name} beside the PDF")
    preamble = tex.read_text().split(r"\begin{document}")[0]
    for name, body in macros.items():
        body = body if isinstance(body, str) else body[0]
        assert f"\\renewcommand{{\\{name}}}" in preamble and body in preamble, name


def test_pdf_metadata(pdf):
    info = _run("pdfinfo", str(pdf))
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages > 100, f"only {pages} pages"
    assert "statlearn" in re.search(r"Title:\s+(.*)", info).group(1)


def test_tex_macros_generated_from_mathjax_config():
    """The preamble generator (no PDF needed): every form MathJax accepts."""
    import sys

    sys.path.insert(0, str(ROOT / "book/_ext"))
    try:
        from pdf_book import tex_macros
    finally:
        sys.path.pop(0)
    tex = tex_macros({"KL": r"\mathrm{KL}", "norm": [r"\lVert #1 \rVert", 1]})
    assert "\\renewcommand{\\KL}{\\mathrm{KL}}" in tex
    assert "\\renewcommand{\\norm}[1]{\\lVert #1 \\rVert}" in tex
    assert "\\renewcommand{\\d}[1][x]{#1}" in tex_macros({"d": ["#1", 1, "x"]})
    with pytest.raises(ValueError, match="letters only"):
        tex_macros({"E2": "x"})
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    macros = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    assert tex_macros(macros).count("\\renewcommand") == len(macros)
