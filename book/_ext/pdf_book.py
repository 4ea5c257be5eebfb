"""The book as one PDF (Jupyter Book's LaTeX builder), numbered as on the web.

Only the LaTeX builder is affected; the HTML book is built exactly as before.

- **Macros.** The TeX macros of the web book (``mathjax3_config.tex.macros`` in
  ``_config.yml``) become ``\\newcommand`` lines of the LaTeX preamble, so the two can
  never disagree.
- **Chapter numbers.** On the web a chapter's number comes from its file name
  (``notebooks/04_diffusion_models`` is chapter 4, see ``chapter_numbers.py``) and
  its title carries it ("4. Diffusion models"). In the PDF the chapter counter is set
  to that number before the chapter starts and the "4. " is taken off the title
  (LaTeX prints "Chapter 4"), so LaTeX numbers the chapter's equations, figures and
  tables (4.1), (4.2), ... exactly as the web does. The other pages (the introduction,
  how to use, notation, the part openers, the claims and the bibliography) are
  unnumbered chapters, the parts unnumbered parts (their captions say "Part I: ...").
- **Download.** The web book's header links to the PDF (``statlearn_pdf_url``).
- **Outputs.** A widget output (a slider, a progress bar) cannot be printed: where its
  display bundle also holds a picture (``image/png``, as ``statlearn.book.frames``
  provides: the figure at the slider's initial value), the picture is shown; otherwise
  the output is dropped instead of printing its ``repr`` (``VBox(children=...)``).
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform

_CHAPTER = re.compile(r"(?:^|/)(\d\d)_[^/]+$")
_TITLE_NUMBER = re.compile(r"^\s*(\d+)\.\s+")
_WIDGET = "application/vnd.jupyter.widget-view+json"
_PICTURES = ("image/png", "image/jpeg", "application/pdf")


def tex_macros(macros: dict[str, Any]) -> str:
    r"""``\newcommand`` lines for MathJax 3 macros.

    Parameters
    ----------
    macros : dict
        ``mathjax3_config["tex"]["macros"]``: name -> definition, or name ->
        ``[definition, n_args]`` or ``[definition, n_args, default_first_arg]``.

    Returns
    -------
    str
        One ``\providecommand`` + ``\renewcommand`` pair per macro: the book's
        definition wins over any command of the same name that a package defined.
    """
    lines = []
    for name, spec in macros.items():
        if not re.fullmatch(r"[A-Za-z]+", name):
            raise ValueError(f"a TeX macro name is letters only; got {name!r}")
        if isinstance(spec, str):
            body, args = spec, ""
        elif isinstance(spec, (list, tuple)) and 2 <= len(spec) <= 3:
            body, args = spec[0], f"[{int(spec[1])}]"
            if len(spec) == 3:
                args += f"[{spec[2]}]"
        else:
            raise ValueError(
                f"macro {name!r}: expected a string or "
                f"[definition, n_args(, default)]; got {spec!r}"
            )
        lines.append(f"\\providecommand{{\\{name}}}{{}}")
        lines.append(f"\\renewcommand{{\\{name}}}{args}{{{body}}}")
    return "\n".join(lines)


# Set per page before its chapter starts. secnumdepth 0 numbers chapters only (sections
# are unnumbered, as on the web); -1 leaves a chapter unnumbered (no counter step);
# -2 a part.
_PREAMBLE = r"""
%% statlearn (book/_ext/pdf_book.py): chapters numbered from their file names
\newcommand{\statlearnchapter}[1]{\setcounter{secnumdepth}{0}\setcounter{chapter}{\numexpr#1-1\relax}}
\newcommand{\statlearnunnumbered}{\setcounter{secnumdepth}{-1}}
\newcommand{\statlearnpart}{\setcounter{secnumdepth}{-2}}
\newcommand{\statlearnintro}[1]{\chapter*{#1}\addcontentsline{toc}{chapter}{#1}\markboth{#1}{#1}}
\newcommand{\statlearnnotoc}{\addtocontents{toc}{\protect\setcounter{tocdepth}{-1}}}
\newcommand{\statlearnrestoretoc}{\addtocontents{toc}{\protect\setcounter{tocdepth}{\the\value{tocdepth}}}}
%% the bibliography follows the page titled so (the last): no second chapter
\renewenvironment{sphinxthebibliography}[1]{\def\chapter*##1{}\begin{thebibliography}{#1}}{\end{thebibliography}}
%% the web book's TeX macros (mathjax3_config in _config.yml)
\AtBeginDocument{%%
%s
}
"""


# sphinx-jupyterbook-latex wraps code cells in these two environments, defined by its
# document class, which needs the bbm fonts (TeX Live's 1.4 GB fonts-extra) for macros
# the book does not use: the book uses Sphinx's own class and defines them here.
_CELLS = r"""
%% code cells (input, output) as sphinx-jupyterbook-latex marks them up
\usepackage[strict]{changepage}
\definecolor{CodeBlockInputBorderColor}{RGB}{204,204,204}
\definecolor{CodeBlockInputColor}{RGB}{247,247,247}
\definecolor{CodeBlockOutputBorderColor}{RGB}{247,247,247}
\definecolor{CodeBlockOutputColor}{RGB}{252,252,252}
\newenvironment{sphinxVerbatimInput}
  {\colorlet{VerbatimBorderColor}{CodeBlockInputBorderColor}%
   \colorlet{VerbatimColor}{CodeBlockInputColor}%
   \begin{adjustwidth}{5pt}{}}
  {\end{adjustwidth}}
\newenvironment{sphinxVerbatimOutput}
  {\colorlet{VerbatimBorderColor}{CodeBlockOutputBorderColor}%
   \colorlet{VerbatimColor}{CodeBlockOutputColor}%
   \begin{adjustwidth}{20pt}{}}
  {\end{adjustwidth}}
"""


def add_preamble(app: Sphinx, config: Config) -> None:
    """Add the cell styles, chapter commands and the book's macros to the preamble."""
    # after sphinx-jupyterbook-latex (priority 500) chose its own class
    config.latex_theme = "manual"
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    elements = config.latex_elements
    elements["preamble"] = (
        elements.get("preamble", "") + _CELLS + _PREAMBLE % tex_macros(macros)
    )


class ChapterNumbers(SphinxPostTransform):
    """Set the chapter counter from each chapter's file name; unnumbered other pages."""

    builders = ("latex",)
    # after sphinx-jupyterbook-latex has turned the toc's captions into parts (700)
    default_priority = 800

    def run(self, **kwargs: Any) -> None:
        docnames = set(self.env.all_docs)
        # the landing page (whose title sphinx-jupyterbook-latex drops) opens the book
        self.document.insert(0, _latex(r"\statlearnintro{Introduction}"))
        for start in list(self.document.findall(addnodes.start_of_file)):
            docname = start["docname"]
            match = _CHAPTER.search(docname)
            if match:
                command = rf"\statlearnchapter{{{int(match.group(1))}}}"
                self._drop_title_number(start, int(match.group(1)))
            elif docname in docnames:
                command = r"\statlearnunnumbered"
            else:  # a part made from a toc caption
                command = r"\statlearnpart"
                self._opener_out_of_toc(start, caption=docname)
            start.insert(0, _latex(command))

    @staticmethod
    def _opener_out_of_toc(part: nodes.Element, caption: str) -> None:
        """A part's opening page, titled as the part, gets no second contents line."""
        for start in part.findall(addnodes.start_of_file, include_self=False):
            section = next(iter(start.findall(nodes.section)), None)
            if section is not None and section[0].astext() == caption:
                start.insert(0, _latex(r"\statlearnnotoc"))
                section.insert(1, _latex(r"\statlearnrestoretoc"))
                return

    @staticmethod
    def _drop_title_number(start: nodes.Element, number: int) -> None:
        section = next(iter(start.findall(nodes.section)), None)
        if section is None or not isinstance(section[0], nodes.title):
            return
        title = section[0]
        text = next(iter(title.findall(nodes.Text)), None)
        if text is None:
            return
        match = _TITLE_NUMBER.match(text)
        if match and int(match.group(1)) == number:
            text.parent.replace(text, nodes.Text(text[match.end() :]))


class OneBibliography(SphinxPostTransform):
    """One entry per work in the PDF's bibliography, under the bibliography page.

    LaTeX has one bibliography, at the end, where Sphinx gathers every page's list: each
    chapter's references and the bibliography page's, so a work cited in five chapters
    would be listed six times. Each work keeps its entry from the last list (the
    bibliography page's, which is sorted and complete); the citations that pointed to
    the other copies land on it (their link targets move there). The chapters'
    "References" sections, whose lists moved to the end, are dropped.
    """

    builders = ("latex",)
    default_priority = 800  # after sphinx-jupyterbook-latex gathered the lists (700)

    def run(self, **kwargs: Any) -> None:
        from sphinx.builders.latex.nodes import thebibliography
        from sphinx_jupyterbook_latex.nodes import HiddenCellNode

        for bib in self.document.findall(thebibliography):
            kept: dict[str, nodes.citation] = {}
            for citation in reversed(list(bib.children)):
                label = citation[0].astext()
                if label not in kept:
                    kept[label] = citation
                    continue
                anchor = f"cite.{citation['docname']}:{citation['ids'][0]}"
                kept[label].append(_latex(rf"\hypertarget{{{anchor}}}{{}}"))
                bib.remove(citation)
        for section in list(self.document.findall(nodes.section)):
            rest = section.children[1:]
            if rest and all(
                isinstance(n, (HiddenCellNode, nodes.target)) for n in rest
            ):
                section.parent.remove(section)


class TableWidths(SphinxPostTransform):
    """Long tables wrap their cells: column widths from the cells' text.

    Sphinx sets a table of more than 30 rows (the notation page's, the claims) as a
    ``longtable`` whose columns never wrap (``l``), so it runs off the page unless the
    source gives widths. Each column gets a share of the line in proportion to its
    cells' mean length, at least its longest word and at most 60 characters, as
    ``:widths:`` would.
    """

    builders = ("latex",)
    default_priority = 800

    def run(self, **kwargs: Any) -> None:
        for table in self.document.findall(nodes.table):
            rows = list(table.findall(nodes.row))
            if "colwidths-given" in table["classes"] or len(rows) <= 30:
                continue  # a short table is a tabulary, which fits the line itself
            for tgroup in table.findall(nodes.tgroup):
                specs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
                lengths: list[list[int]] = [[] for _ in specs]
                words = [6] * len(specs)  # the longest word must fit its column
                for row in rows:
                    for i, entry in enumerate(row.children[: len(specs)]):
                        text = entry.astext()
                        lengths[i].append(len(text))
                        words[i] = max([words[i]] + [len(w) for w in text.split()])
                for spec, cells, word in zip(specs, lengths, words, strict=True):
                    mean = sum(cells) / max(len(cells), 1)
                    # a monospaced name is about 1.4 letters of the text font wide
                    spec["colwidth"] = int(min(max(mean, 1.4 * word + 2), 60))
            table["classes"].append("colwidths-given")


def _latex(text: str) -> nodes.raw:
    return nodes.raw("", text, format="latex")


class PrintableOutputs(SphinxPostTransform):
    """Widget outputs: show their picture where the bundle has one, else nothing."""

    builders = ("latex",)
    default_priority = 3  # before myst-nb picks one mime type per bundle (4)

    def run(self, **kwargs: Any) -> None:
        for bundle in list(
            self.document.findall(
                lambda n: (
                    isinstance(n, nodes.container)
                    and n.get("nb_element") == "mime_bundle"
                )
            )
        ):
            types = [child.get("mime_type") for child in bundle.children]
            if _WIDGET not in types:
                continue
            keep = [c for c in bundle.children if c.get("mime_type") in _PICTURES]
            if keep:
                bundle.children = []
                bundle.extend(keep)
            else:
                bundle.parent.remove(bundle)


def add_download_link(app: Sphinx, config: Config) -> None:
    """A PDF icon among the web book's header links (the sidebar's icon links)."""
    options = config.html_theme_options
    links = list(options.get("icon_links", []))
    links.append(
        {
            "name": "The whole book as one PDF",
            "url": config.statlearn_pdf_url,
            "icon": "fa-solid fa-file-pdf",
            "type": "fontawesome",
        }
    )
    options["icon_links"] = links


def setup(app: Sphinx) -> dict[str, Any]:
    # where the publishing workflow (.github/workflows/book.yml) puts the PDF
    app.add_config_value(
        "statlearn_pdf_url",
        "https://statlearn-book.github.io/statlearn/statlearn.pdf",
        "html",
        str,
    )
    app.connect("config-inited", add_preamble, priority=900)
    app.connect("config-inited", add_download_link)
    app.add_post_transform(ChapterNumbers)
    app.add_post_transform(PrintableOutputs)
    app.add_post_transform(OneBibliography)
    app.add_post_transform(TableWidths)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
