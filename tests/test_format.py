"""Code, comments and strings fit the book's 88-character column (settings: ruff.toml).

A reader sees code cells in a column 88 characters wide (tests/test_browser.py measures
it), so the package, the tests, the tools and every notebook are formatted by
``ruff format`` and no line is longer than 88 characters (``ruff check --select E501``).
To fix what fails:

    ruff format statlearn tests benchmarks tools notebooks
    ruff check --select E501 statlearn tests benchmarks tools notebooks  # then by hand
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PATHS = ["statlearn", "tests", "benchmarks", "tools", "notebooks"]


def _ruff() -> str:
    here = pathlib.Path(sys.executable).parent / "ruff"
    found = str(here) if here.exists() else shutil.which("ruff")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ruff is not installed (test extra: pip install -e .[test])")
        pytest.skip("ruff is not installed (pip install -e .[test])")
    return found


def _run(*args: str) -> subprocess.CompletedProcess:
    paths = [p for p in PATHS if (ROOT / p).exists()]
    return subprocess.run(
        [_ruff(), *args, "--output-format", "concise", *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def _files(output: str) -> list[str]:
    return sorted(
        {line.split(":", 1)[0] for line in output.splitlines() if ": " in line}
    )


def test_ruff_settings_are_the_books():
    text = (ROOT / "ruff.toml").read_text()
    assert "line-length = 88" in text and '"*.ipynb"' in text


def test_code_is_ruff_formatted():
    proc = _run("format", "--check")
    assert proc.returncode in (0, 1), proc.stderr
    unformatted = _files(proc.stdout) if proc.returncode else []
    assert not unformatted, (
        f"{len(unformatted)} files are not ruff-formatted (run: ruff format "
        f"{' '.join(PATHS)}):\n" + "\n".join(unformatted)
    )


def test_no_line_longer_than_88():
    proc = _run("check", "--select", "E501", "--no-fix")
    assert proc.returncode in (0, 1), proc.stderr
    long_lines = [line for line in proc.stdout.splitlines() if " E501 " in line]
    assert not long_lines, (
        f"{len(long_lines)} lines are longer than 88 characters (ruff format shortens "
        "code; comments, strings and docstrings need a hand):\n"
        + "\n".join(long_lines[:200])
    )
