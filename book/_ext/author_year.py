"""Author-year labels in the bibliography lists, to match the citations in the text.

sphinxcontrib-bibtex cites author-year in the text (``bibtex_reference_style:
author_year``) but labels the entries of a bibliography list with pybtex's label style,
numbers by default, so a reader sees "(Cohen et al., 2019)" in a chapter and "[47]" in
the list. This extension registers a pybtex label style, ``author_year``, and a
formatting style of the same name (pybtex's ``plain`` with those labels), selected by
``bibtex_default_style: author_year`` in ``_config.yml``: entries then read "[Cohen et
al., 2019] J. Cohen, E. Rosenfeld, ...", sorted by author, year and title.
"""

from __future__ import annotations

import codecs
import pathlib
from collections import Counter
from typing import Any

import latexcodec  # noqa: F401  (registers the "ulatex" codec; a dependency of pybtex)

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx


def _surname(person: Any) -> str:
    parts = " ".join(str(p) for p in person.prelast_names + person.last_names)
    return codecs.decode(parts, "ulatex").replace("{", "").replace("}", "")


def author_year(entry: Any) -> str:
    """``Dempster et al., 1977``; ``Cover and Thomas, 2006``; ``Viterbi, 1967``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


# Labels for the whole bibliography, set when the builder starts: a label is shared by
# every list an entry appears in, so two entries with one author-year pair are 2017a and
# 2017b on every page (sphinxcontrib-bibtex rejects one label for two keys book-wide).
_BOOK_LABELS: dict[str, str] = {}


def _disambiguated(entries: list[Any]) -> dict[str, str]:
    """Author-year label per key; entries sharing one get a, b, ... by title."""
    labels = {e.key: author_year(e) for e in entries}
    count = Counter(labels.values())
    seen: Counter = Counter()
    out = {}
    for e in sorted(entries, key=lambda e: (labels[e.key], e.fields.get("title", ""))):
        label = labels[e.key]
        if count[label] > 1:
            seen[label] += 1
            label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
        out[e.key] = label
    return out


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; two entries with the same label get 2019a, 2019b."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        local = _disambiguated(entries)
        for e in entries:
            yield _BOOK_LABELS.get(e.key, local[e.key])


def _read_book_labels(app: Sphinx) -> None:
    from pybtex.database import parse_file

    entries = []
    for name in app.config.bibtex_bibfiles:
        path = pathlib.Path(app.srcdir) / name
        entries += list(parse_file(str(path), bib_format="bibtex").entries.values())
    _BOOK_LABELS.clear()
    _BOOK_LABELS.update(_disambiguated(entries))


class AuthorYearStyle(PlainStyle):
    default_label_style = "author_year"
    default_sorting_style = "author_year_title"


def setup(app: Sphinx) -> dict[str, Any]:
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    app.connect("builder-inited", _read_book_labels)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
