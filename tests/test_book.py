"""The book builds with warnings as errors (-W -n --keep-going), without executing notebooks.

`make book` executes every notebook; here execution is off so the check is fast. A broken
cross-reference, citation, equation label or toc entry fails this test.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # local extensions are found relative to the config file, which moves to tmp here
    local = config.get("sphinx", {}).get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in local.items()}
    config_path = tmp / "_config.yml"
    config_path.write_text(yaml.safe_dump(config))
    jb = pathlib.Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        jb = pathlib.Path(shutil.which("jupyter-book") or "jupyter-book")
    out = tmp / "out"
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--config", str(config_path), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return proc, out / "_build" / "html"


def test_book_builds_without_warnings(built_book):
    proc, _ = built_book
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    assert "WARNING" not in log, log[-6000:]


def test_book_pages_exist(built_book):
    _, html = built_book
    for page in ["index.html", "book/intro.html", "book/notation.html", "book/how_to_use.html", "book/bibliography.html"]:
        assert (html / page).exists(), page
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            assert (html / f"{chapter['file']}.html").exists(), chapter["file"]
    chapter = (html / "notebooks/01_gaussian_mixtures_em.html").read_text()
    assert "Exercise 1.1" in chapter and 'class="eqno">(1.1)' in chapter  # numbered per chapter
    bib = (html / "book/bibliography.html").read_text()
    assert "Dempster" in bib and "Cohen" in bib
