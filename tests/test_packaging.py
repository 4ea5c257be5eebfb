"""The distribution: the sdist and the wheel build, and a fresh venv runs the README's
snippet.

Issue 15 asked for a package people can install and reuse: the distribution is
``statlearn-book`` (``statlearn`` on PyPI is an unrelated project), MIT-licensed, and
the import name stays ``statlearn``. This test

1. copies the package's sources (``pyproject.toml``, ``README.md``, ``LICENSE``,
   ``statlearn/``) out of the checkout and builds the sdist with setuptools' PEP 517
   hooks (the backend the project declares, run without build isolation, so no network
   is needed);
2. unpacks the sdist and builds the wheel *from it*, which proves the sdist is complete;
3. makes a fresh venv, installs the wheel into it with pip (``--no-deps --no-index``),
   and lets it see this environment's site-packages for the dependencies (torch, numpy,
   scikit-learn, ...) through a ``.pth`` file that comes after the venv's own
   site-packages, so ``statlearn`` itself can only come from the wheel (this
   environment's editable install is a ``.pth`` hook, which a path entry does not run);
4. runs the README's coursework snippet with that venv's Python from a folder outside
   the checkout.
"""

from __future__ import annotations

import email
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(args, *, cwd, env=None, timeout=300):
    out = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, (
        f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    )
    return out.stdout


def _build(hook: str, src: pathlib.Path, dist: pathlib.Path) -> pathlib.Path:
    code = f"from setuptools import build_meta; print(build_meta.{hook}({str(dist)!r}))"
    name = _run([sys.executable, "-c", code], cwd=src).strip().splitlines()[-1]
    return dist / name


def _readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use statlearn in coursework", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md's coursework section has no python block"
    return match.group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("packaging")
    src, dist = tmp / "src", tmp / "dist"
    src.mkdir()
    dist.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "statlearn",
        src / "statlearn",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    sdist = _build("build_sdist", src, dist)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel = _build("build_wheel", unpacked, dist)
    return tmp, sdist, wheel


def test_sdist_and_wheel_carry_the_name_licence_and_every_module(built):
    _, sdist, wheel = built
    assert sdist.name == "statlearn_book-0.1.0.tar.gz"
    assert wheel.name == "statlearn_book-0.1.0-py3-none-any.whl"
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "statlearn/__init__.py",
    } <= members
    sources = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "statlearn").rglob("*.py")
    }
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = email.message_from_string(
            whl.read("statlearn_book-0.1.0.dist-info/METADATA").decode()
        )
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert metadata["Name"] == "statlearn-book"
    assert metadata["License-Expression"] == "MIT"
    assert "LICENSE" in metadata.get_all("License-File")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "torch>=2.2" in metadata.get_all("Requires-Dist")


def test_a_fresh_venv_runs_the_readme_snippet_outside_the_checkout(built):
    tmp, _, wheel = built
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        cwd=tmp,
    )
    site = _run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        cwd=tmp,
    ).strip()
    # the dependencies come from this environment, after the venv's own site-packages
    (pathlib.Path(site) / "zz_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    work = tmp / "coursework"
    work.mkdir()
    (work / "snippet.py").write_text(
        "import importlib.metadata, pathlib, statlearn\n"
        f"assert pathlib.Path(statlearn.__file__).is_relative_to({str(venv)!r}), "
        "statlearn.__file__\n"
        "assert importlib.metadata.version('statlearn-book') == statlearn.__version__\n"
        + _readme_snippet()
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(OMP_NUM_THREADS="1", STATLEARN_DEVICE="cpu", MPLBACKEND="Agg")
    out = _run([str(python), "snippet.py"], cwd=work, env=env)
    gmm_score, accuracy, robust = (float(v) for v in out.split())
    assert gmm_score > 0 and 0.8 < accuracy <= 1 and robust < accuracy
