"""The statlearn reference pages (book/api/): autodoc with the book's own touches.

The reference is Sphinx autodoc with numpydoc over the package's docstrings. Every
public name is documented once, at its canonical place, the module that defines it
(``statlearn.info.vib.vib_loss``); this extension adds:

- **chapter links**: each documented function or class gets a line naming the chapters
  whose code uses it (found by reading the notebooks' ``from statlearn... import``
  lines and ``statlearn.x.y`` attribute chains), and each module gets a line linking
  the chapters its docstring's first line names ("(chapters 8, 10 and 16)");
- **short paths resolve**: a cross-reference to a name where the reader imports it,
  ``statlearn.info.vib_loss`` or ``statlearn.latent.hmm.forward``, resolves to its
  canonical entry, so chapters may link either spelling;
- **shapes as written**: the docstrings write shapes as ``(N, *data_shape)`` and
  ``(|X|, |Y|)``; reST would read the ``*`` as the start of emphasis and ``|X|`` as a
  substitution, so both are escaped (outside inline literals) before parsing;
- **only statlearn's own members**: a NamedTuple's field getters ("Alias for field
  number 0", the class's Attributes section documents its fields) and the methods
  scikit-learn adds to every estimator (``set_fit_request``) are not listed.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib
import re
from collections import defaultdict
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

_IMPORT = re.compile(
    r"^\s*from\s+(statlearn(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]+)", re.M
)
_CHAIN = re.compile(r"\bstatlearn(?:\.\w+)+")
_CHAPTERS = re.compile(r"\(chapters?\s+([\d,\sand]+)")
# a star opening a shape's trailing dimensions, "(N, *data_shape)", and a cardinality,
# "(|X|, K)" or "|a| < 1"
_STAR = re.compile(r"(?<=[(, ])\*(?=[A-Za-z_]+\))")
_BARS = re.compile(r"(?<=[(, ])\|(\w+)\|(?=[,) ])")
_LITERAL = re.compile(r"(``.+?``)")


def _escape_shapes(line: str) -> str:
    if line.lstrip().startswith((">>>", "...")):
        return line
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):  # the text between inline literals
        parts[i] = _BARS.sub(r"\\|\1\\|", _STAR.sub(r"\\*", parts[i]))
    return "".join(parts)


def _resolve(path: str) -> Any:
    """The object a dotted ``statlearn...`` path names, or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def canonical_name(path: str) -> str | None:
    """The documented name of what ``path`` names: its defining module and qualified
    name for a function or class of statlearn, None for anything else."""
    obj = _resolve(path)
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", None)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not qualname:
        return None
    if module.split(".")[0] != "statlearn" or "<" in qualname:
        return None
    return f"{module}.{qualname}"


def _chapter_usage(srcdir: pathlib.Path) -> dict[str, list[str]]:
    """Canonical name -> the docnames of the chapters whose code uses it."""
    used: dict[str, set[str]] = defaultdict(set)
    for path in sorted((srcdir / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code"
        )
        code = re.sub(r"#[^\n]*", "", code)
        paths = set(_CHAIN.findall(code))
        for module, names in _IMPORT.findall(code):
            for name in re.split(r"[\s,()]+", names):
                name = name.split(" as ")[0].strip()
                if name.isidentifier():
                    paths.add(f"{module}.{name}")
        docname = f"notebooks/{path.stem}"
        for dotted in paths:
            name = canonical_name(dotted)
            if name:
                used[name].add(docname)
    return {name: sorted(docs) for name, docs in used.items()}


def _chapter_docs(srcdir: pathlib.Path) -> dict[int, str]:
    return {
        int(p.stem[:2]): f"notebooks/{p.stem}"
        for p in (srcdir / "notebooks").glob("[0-9][0-9]_*.ipynb")
    }


def _links(docnames: list[str]) -> str:
    return ", ".join(f":doc:`/{d}`" for d in docnames)


def _on_builder_inited(app: Sphinx) -> None:
    srcdir = pathlib.Path(app.srcdir)
    app.env.statlearn_usage = _chapter_usage(srcdir)  # type: ignore[attr-defined]
    app.env.statlearn_chapters = _chapter_docs(srcdir)  # type: ignore[attr-defined]


def _insert_after_summary(lines: list[str], text: str) -> None:
    """Put ``text`` as a paragraph after the docstring's first paragraph."""
    start = next((i for i, line in enumerate(lines) if line.strip()), 0)
    end = next(
        (i for i in range(start, len(lines)) if not lines[i].strip()), len(lines)
    )
    lines[end:end] = ["", text, ""]


def _on_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    if not lines:
        return
    lines[:] = [_escape_shapes(line) for line in lines]
    if what == "module":
        first = inspect.getdoc(obj) or ""
        first = first.split("\n\n")[0]
        match = _CHAPTERS.search(first)
        if not match:
            return
        chapters = app.env.statlearn_chapters  # type: ignore[attr-defined]
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        docs = [chapters[n] for n in numbers if n in chapters]
        if docs:
            _insert_after_summary(lines, f"*Taught in:* {_links(docs)}.")
        return
    if what not in {"function", "class", "exception"}:
        return
    docs = app.env.statlearn_usage.get(name)  # type: ignore[attr-defined]
    if docs:
        _insert_after_summary(lines, f"*Used in:* {_links(docs)}.")


def _on_skip_member(
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    if what != "class":
        return None
    doc = getattr(obj, "__doc__", None) or ""
    module = getattr(obj, "__module__", None) or "statlearn"
    if doc.startswith("Alias for field number") or module.split(".")[0] != "statlearn":
        return True
    return None


def _on_missing_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    """A short path (``statlearn.info.vib_loss``) to its canonical entry."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("statlearn.") or node.get("statlearn_retried"):
        return None
    name = canonical_name(target)
    if not name or name == target:
        return None
    domain = env.get_domain("py")
    retry = node.deepcopy()
    retry["reftarget"] = name
    retry["statlearn_retried"] = True
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], name, retry, contnode
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    # after numpydoc (priority 500) has turned the docstring into reST
    app.connect("autodoc-process-docstring", _on_docstring, priority=600)
    app.connect("autodoc-skip-member", _on_skip_member)
    app.connect("missing-reference", _on_missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
