"""House rules for chapter notebooks (shared/CONVENTIONS.md, 'Notebook template').

The notebooks themselves run under nbval (`make test` passes `notebooks` with
`--nbval-lax`); these tests check their shape: stripped, listed in the table of
contents, and opening with the template's cells, with a Colab install cell that points
at the repository named in _config.yml.
"""

from __future__ import annotations

import json
import pathlib
import re
import tomllib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def toc_files() -> list[str]:
    files = [TOC["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in TOC.get("parts", []):
        walk(part.get("chapters"))
    walk(TOC.get("chapters"))
    return files


def cells(path: pathlib.Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_toc_entries_exist():
    for entry in toc_files():
        candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.exists() for c in candidates), (
            f"_toc.yml lists {entry}, which does not exist"
        )


def test_repository_url_is_defined_once_and_used_everywhere():
    assert REPO_URL.startswith("https://github.com/")
    pattern = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")
    texts = [
        ROOT / "README.md",
        ROOT / "pyproject.toml",
        *sorted((ROOT / "book").glob("*.md")),
        *NOTEBOOKS,
    ]
    for path in texts:
        for url in pattern.findall(path.read_text()):
            assert url.removesuffix(".git") == REPO_URL, (
                f"{path.name} names {url}, not {REPO_URL} from _config.yml"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
class TestChapterNotebook:
    def test_name_and_toc(self, path):
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), (
            "chapters are named NN_slug.ipynb"
        )
        assert f"notebooks/{path.stem}" in toc_files(), (
            f"{path.name} is not listed in _toc.yml"
        )

    def test_outputs_stripped(self, path):
        for cell in cells(path):
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), (
                    "notebooks are committed without outputs"
                )
                assert cell.get("execution_count") is None, (
                    "notebooks are committed without execution counts"
                )

    def test_colab_install_cell(self, path):
        first = cells(path)[0]
        src = source(first)
        assert first["cell_type"] == "code" and "remove-cell" in tags(first)
        assert '"google.colab" in sys.modules' in src, "install only on Colab"
        assert "%pip install" in src and f"git+{REPO_URL}" in src, (
            f"the install cell must use {REPO_URL}"
        )
        assert "torch" not in src.split("%pip install", 1)[1].replace(
            "torch is already", ""
        ), "never reinstall torch"

    def test_title_cell(self, path):
        second = cells(path)[1]
        number = int(path.name[:2])
        assert second["cell_type"] == "markdown"
        assert re.match(rf"# {number}\. \S", source(second)), (
            f"the title must read '# {number}. Title'"
        )
        assert "{cite}" in source(second), "the opening names its paper(s) with {cite}"

    def test_parameters_cell(self, path):
        params = [c for c in cells(path) if "parameters" in tags(c)]
        assert len(params) == 1, "exactly one cell is tagged 'parameters'"
        src = source(params[0])
        assert re.search(r"^SEED = 0\b", src, re.M), "the parameters cell sets SEED = 0"
        assert "DEVICE = statlearn.device()" in src
        assert "seed_everything(SEED)" in src
        assert cells(path).index(params[0]) <= 3, (
            "the parameters cell comes right after the title"
        )

    def test_check_and_exercises(self, path):
        all_cells = cells(path)
        heads = [
            i
            for i, c in enumerate(all_cells)
            if c["cell_type"] == "markdown" and re.search(r"^## Check", source(c), re.M)
        ]
        assert heads, "a '## Check' section asserts the chapter's claim"
        after = all_cells[heads[0] :]
        assert any(
            c["cell_type"] == "code"
            and re.search(r"^\s*(assert |check\()", source(c), re.M)
            for c in after
        )
        md = "\n".join(source(c) for c in all_cells if c["cell_type"] == "markdown")
        assert "```{exercise}" in md and "```{solution}" in md, (
            "exercises with solutions"
        )

    def test_no_machine_paths(self, path):
        text = path.read_text()
        for bad in ("/work/", "/home/", "/root/", "/Users/", "C:\\\\"):
            assert bad not in text, f"{path.name} contains a machine path ({bad})"


# --- The book as one story (CONTRIBUTING.md) ---
# links, captions, claims, summary, references

FIGURE_MAKERS = re.compile(r"plt\.show\(\)|\bframes\(|\.render\(\)")


def markdown(path: pathlib.Path) -> str:
    return "\n\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")


def figure_options(cell: dict) -> dict:
    return cell.get("metadata", {}).get("mystnb", {}).get("figure", {}) or {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
class TestChapterStory:
    def test_install_cell_names_the_distribution(self, path):
        # statlearn-book at the tag of pyproject's version, only when it is missing,
        # with --no-deps so that Colab's torch and the rest stay as they are (make
        # test-colab checks that Colab meets pyproject's floors); then the device
        src = source(cells(path)[0])
        version = PYPROJECT["project"]["version"]
        assert f'URL = "git+{REPO_URL}@v{version}"' in src, (
            f"install statlearn-book at v{version}, pyproject's version"
        )
        assert '%pip install -q --no-deps daft-pgm "statlearn-book @ {URL}"' in src
        assert 'importlib.util.find_spec("statlearn") is None' in src, (
            "install only when statlearn is missing"
        )
        assert "statlearn.device()" in src.split("%pip install", 1)[1], (
            "say which device the chapter runs on"
        )

    def test_opening_links_what_it_builds_on(self, path):
        number = int(path.name[:2])
        opening = "\n".join(
            source(c) for c in cells(path)[1:4] if c["cell_type"] == "markdown"
        )
        earlier = [
            int(n) for n in re.findall(r"\]\((\d\d)_[a-z0-9_]+\.ipynb\)", opening)
        ]
        if number > 1:
            assert any(n < number for n in earlier), (
                "the opening links the chapter(s) it builds on"
            )

    def test_every_figure_is_numbered_captioned_and_referred_to(self, path):
        text = markdown(path)
        names = []
        for cell in cells(path):
            if cell["cell_type"] != "code" or not FIGURE_MAKERS.search(source(cell)):
                continue
            fig = figure_options(cell)
            assert fig.get("caption") and fig.get("name"), (
                "a cell that shows a figure needs mystnb.figure name and caption:\n"
                f"{source(cell)[:300]}"
            )
        names = [
            figure_options(c)["name"]
            for c in cells(path)
            if figure_options(c).get("name")
        ]
        chapter = path.name[:2]
        for name in set(names):
            assert name.startswith(f"fig-ch{chapter}-"), (
                f"figure names read fig-ch{chapter}-...: {name}"
            )
            assert re.search(rf"\{{numref\}}`[^`]*<?{re.escape(name)}>?`", text), (
                f"{name} is never referred to"
            )
        assert len(names) == len(set(names)), "figure names are unique"
        assert names, "a chapter has figures"

    def test_claims_are_glued(self, path):
        all_cells = cells(path)
        head = next(
            i
            for i, c in enumerate(all_cells)
            if re.search(r"^## Check", source(c), re.M)
        )
        check = "\n".join(
            source(c) for c in all_cells[head:] if c["cell_type"] == "code"
        )
        keys = re.findall(r"\b(?:glue|check)\(\s*[\"'](ch\d\d-[a-z0-9-]+)[\"']", check)
        assert keys, (
            "the Check section glues its measured values: glue('chNN-name', value)"
            " or check('chNN-name', value, ...)"
        )
        assert all(k.startswith(f"ch{path.name[:2]}-") for k in keys)

    def test_summary_then_what_comes_next(self, path):
        summaries = [
            c
            for c in cells(path)
            if c["cell_type"] == "markdown" and source(c).startswith("## Summary")
        ]
        assert len(summaries) == 1, "one '## Summary' section"
        text = source(summaries[0])
        points = re.findall(r"^(?:- |\d+\. )", text, re.M)
        assert 3 <= len(points) <= 6, f"a summary has 3-6 points; got {len(points)}"
        assert (
            re.search(r"\]\((\d\d_[a-z0-9_]+\.ipynb|\.\./book/[a-z0-9_]+\.md)\)", text)
            or "still to come" in text
        ), "the summary ends with what comes next, linked (or named as still to come)"

    def test_no_interact_callbacks(self, path):
        code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
        assert not re.search(r"\binteract(ive)?\(|@interact", code), (
            "use statlearn.book.frames, not interact"
        )


def test_claims_page_lists_every_glued_claim():
    """Each literal glue key of a chapter is pasted on book/claims.md."""
    page = (ROOT / "book" / "claims.md").read_text()
    pasted = set(re.findall(r"\.ipynb::(ch\d\d-[a-z0-9-]+):", page))
    glued = set()
    for path in NOTEBOOKS:
        code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
        keys = set(
            re.findall(r"\b(?:glue|check)\(\s*[\"'](ch\d\d-[a-z0-9-]+)[\"']", code)
        )
        glued |= keys
        for key in keys:
            assert f"notebooks/{path.name}::{key}:" in page, (
                f"{key} is not on claims.md"
            )
    # keys glued through an f-string in a loop (chapters 6 and 8) are checked by the
    # -W build of the executed book, which fails on a pasted key no notebook glued
    assert pasted, "claims.md pastes the chapters' glued values"


# --- One template, no plumbing on the page ---

SECTIONS_AT_THE_END = ["Check", "Exercises", "Summary", "References"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_sections_end_in_the_template_order(path):
    """Every chapter ends with Check, Exercises, Summary and References, in order."""
    heads = [
        h.split()[0]
        for c in cells(path)
        if c["cell_type"] == "markdown"
        for h in re.findall(r"^## (.+)$", source(c), re.M)
    ]
    assert heads[-len(SECTIONS_AT_THE_END) :] == SECTIONS_AT_THE_END, (
        f"a chapter ends with the sections {SECTIONS_AT_THE_END}; got {heads}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_names_equations_by_number(path):
    """Code shows an equation's number, (4.2), never its label (eq-ch04-x)."""
    # equations are numbered per chapter in the order of their labels (book/_ext)
    labelled = re.findall(r"\$\$\s*\((eq-ch\d\d-[a-z0-9-]+)\)", markdown(path))
    for cell in cells(path):
        if cell["cell_type"] == "code":
            raw = re.findall(r"eq-ch\d\d-[a-z0-9-]+", source(cell))
            assert not raw, f"{path.name}: raw equation labels in code: {raw}"
            cited = re.findall(
                r"(?:\beq\.|[Ee]quations?) \((\d+)\.(\d+)\)", source(cell)
            )
            for chapter, k in cited:
                assert int(chapter) == int(path.name[:2]), f"eq. ({chapter}.{k})"
                assert 1 <= int(k) <= len(labelled), f"no equation ({chapter}.{k})"


def _checked_keys(path: pathlib.Path) -> list[re.Pattern]:
    """The keys a chapter's check(...) calls glue, as patterns (f-strings allowed)."""
    code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    patterns = []
    for fstring, key in re.findall(r"\bcheck\(\s*(f?)[\"']([^\"']+)[\"']", code):
        parts = re.split(r"\{[^}]*\}", key) if fstring else [key]
        patterns.append(re.compile("[a-z0-9-]+".join(map(re.escape, parts))))
    return patterns


def test_claims_page_takes_every_checked_threshold_from_its_check():
    """A row of book/claims.md whose value a check(...) glues shows that check's
    condition (glued as KEY-assert), not a typed threshold, so the two agree."""
    page = (ROOT / "book" / "claims.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("|")]
    checked_rows = 0
    for path in NOTEBOOKS:
        patterns = _checked_keys(path)
        prefix = f"../notebooks/{path.name}::"
        for row in rows:
            cols = [c.strip() for c in row.strip("|").split("|")]
            measured = re.search(rf"{re.escape(prefix)}(ch\d\d-[a-z0-9-]+):", cols[-2])
            if not measured:
                continue
            key = measured.group(1)
            if not any(p.fullmatch(key) for p in patterns):
                assert "-assert:" not in cols[-1], f"{key} is not checked: {row}"
                continue
            checked_rows += 1
            # the glued condition first; a relation to another row may follow
            glued = f"{{glue:text}}`{prefix}{key}-assert:s`"
            assert cols[-1].startswith(glued), (
                f"claims.md types the threshold of the check {key}; paste its "
                f"condition instead: {glued}\n{row}"
            )
    assert checked_rows, "claims.md shows the chapters' checks"


TABLE_DIRECTIVE = re.compile(
    r"^```\{(?:list-)?table\} \S[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?"
    r":name: (tab-ch\d\d-[a-z0-9-]+)\n.*?^```$",
    re.M | re.S,
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_table_is_numbered_captioned_and_referred_to(path):
    """A table sits in a {table} directive with a caption and a tab-chNN- name."""
    text = markdown(path)
    names = TABLE_DIRECTIVE.findall(text)
    bare = TABLE_DIRECTIVE.sub("", text)
    assert not re.search(r"^\|[-:| ]+\|\s*$", bare, re.M), (
        f"{path.name}: a markdown table outside a captioned {{table}} directive"
    )
    for name in names:
        assert name.startswith(f"tab-ch{path.name[:2]}-"), name
        assert re.search(rf"\{{numref\}}`[^`]*<?{re.escape(name)}>?`", text), (
            f"{name} is never referred to"
        )


def test_a_cells_printed_lines_are_one_box():
    """Prints that reach the kernel separately (one per loop step) are one output box
    in the book, as in Jupyter: MyST-NB merges a cell's stdout (and its stderr)."""
    assert CONFIG["sphinx"]["config"].get("nb_merge_streams") is True


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_code_cells_are_one_step_each(path):
    """A code cell the reader sees is at most 40 lines: one step, not a script
    (plotting boilerplate may be longer when its input is hidden)."""
    for cell in cells(path):
        if cell["cell_type"] == "code" and "hide-input" not in tags(cell):
            lines = source(cell).count("\n") + 1
            assert lines <= 40, (
                f"{path.name}: a {lines}-line code cell; split it at its steps:\n"
                f"{source(cell)[:200]}"
            )
