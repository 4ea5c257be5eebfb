"""The fast check of the book: built without execution, every warning explained.

`make book` (the executed build, `-W`) is the full check; this one takes seconds and
runs with the unit tests, so a broken citation, link, equation label or toc entry
fails early. Without execution two things cannot exist yet, and only those are
tolerated, each verified against the notebooks' source:

- a reference to a figure (``{numref}`...<fig-chNN-x>```): its label comes from the
  figure cell's output, so it is undefined here; it must be declared in some
  notebook's ``mystnb.figure`` metadata;
- a value pasted on the claims page (``{glue:text}`...::chNN-x:...```): it comes from
  the executed notebook; the notebook's code must glue that key (literally, or
  through an f-string whose literal part it starts with).

Any other warning fails the test.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _declared_figures() -> set[str]:
    names = set()
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            fig = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}) or {}
            if fig.get("name"):
                names.add(fig["name"])
    return names


def _glue_calls(stem: str) -> tuple[set[str], list[str]]:
    """Literal keys and f-string prefixes glued by a notebook's code."""
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    literal = set(re.findall(r"\bglue\(\s*[\"']([^\"'{}]+)[\"']", code))
    # check(key, ...) glues key, key-assert and key-threshold (or key-lower, key-upper)
    for key in re.findall(r"\bcheck\(\s*[\"']([^\"'{}]+)[\"']", code):
        derived = ("assert", "threshold", "lower", "upper")
        literal |= {key} | {f"{key}-{suffix}" for suffix in derived}
    prefixes = re.findall(r"\b(?:glue|check)\(\s*f[\"']([^\"'{]*)\{", code)
    return literal, prefixes


@pytest.fixture(scope="module")
def fast_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # local extensions are found relative to the config file, which moves to tmp here
    local = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {
        name: str(ROOT / path) for name, path in local.items()
    }
    (tmp / "_config.yml").write_text(yaml.safe_dump(config))
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        jb = pathlib.Path(shutil.which("jupyter-book") or "jupyter-book")
    cmd = [str(jb), "build", str(ROOT), "--config", str(tmp / "_config.yml")]
    cmd += ["--path-output", str(tmp / "out"), "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return proc


def test_fast_build_has_only_the_warnings_execution_resolves(fast_build):
    log = fast_build.stdout + fast_build.stderr
    assert fast_build.returncode == 0, log[-4000:]
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    figures = _declared_figures()
    unexplained = []
    for line in log.splitlines():
        if "WARNING" not in line:
            continue
        label = re.search(r"undefined label: '(fig-ch\d\d-[a-z0-9-]+)'", line)
        if label and label.group(1) in figures:
            continue
        glued = re.search(
            r"Glue reference '([^']+)' not found in doc 'notebooks/([^']+)'", line
        ) or re.search(  # a chapter pasting its own glued values into its text
            r"notebooks/([^/:]+)\.ipynb:\d+: WARNING: No key '([^']+)' found in glue",
            line,
        )
        if glued:
            key, stem = glued.groups()
            if glued.re.pattern.startswith("notebooks"):
                stem, key = key, stem
            literal, prefixes = _glue_calls(stem)
            if key in literal or any(p and key.startswith(p) for p in prefixes):
                continue
        unexplained.append(line.strip())
    assert not unexplained, "\n".join(unexplained[:50])


def test_fast_build_sees_the_claims_and_figures(fast_build):
    # the tolerated warnings are really there: the check is not vacuous
    log = fast_build.stdout + fast_build.stderr
    assert "Glue reference" in log and "undefined label: 'fig-ch" in log
