"""Checks on the executed book that `make book` builds into _build/html.

`make book` runs `jupyter-book build . -W -n --keep-going`: every notebook executed
(cached by jupyter-cache), warnings are errors, so a broken cross-reference, citation,
equation or figure label, glued value or toc entry fails the build itself. The fast
build without execution (tests/test_book_fast.py, seconds, with the unit tests)
tolerates only what execution provides: figure labels, which come from the figure
cells' outputs, and the glued values of the claims page. `make test` builds the book,
then runs this file and the browser test (tests/test_browser.py) on the result.

    make book && pytest tests/test_book.py
    STATLEARN_BOOK_HTML=path/to/_build/html pytest tests/test_book.py
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(built_book: pathlib.Path) -> pathlib.Path:
    return built_book


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_every_toc_entry_is_a_page(html):
    missing = [f for f in _toc_files() if not (html / f"{f}.html").exists()]
    assert not missing, f"pages missing from {html}: {missing}"
    assert (html / "index.html").exists()


def test_every_chapter_is_built_from_its_notebook(html):
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    pages = sorted(p.stem for p in (html / "notebooks").glob("*.html"))
    assert pages == notebooks, "a stale build, or a chapter missing from _toc.yml"


def test_numbered_per_chapter(html):
    chapter = (html / "notebooks/01_gaussian_mixtures_em.html").read_text()
    assert "Exercise 1.1" in chapter
    assert 'class="eqno">(1.1)' in chapter
    assert re.search(r"Fig(ure|\.) 1\.1", chapter), "figures are not numbered 1.1, ..."


def test_bibliography(html):
    bib = (html / "book/bibliography.html").read_text()
    assert "Dempster" in bib and "Cohen" in bib
